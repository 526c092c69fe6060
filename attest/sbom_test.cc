#include "attest/sbom.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "attest/ids.h"
#include "tests/support/attest_plan.h"

namespace strata::attest {
namespace {

using testing::digest_of;

const Digest kVectorManifest{"f2edef841255261b7b19f714d6090470c9dff961dee851b079c03706ac3a3026"};

SbomInputs inputs() {
  SbomLayer one{.digest = digest_of("l1"),
                .diff_id = digest_of("d1"),
                .media_type = "application/vnd.oci.image.layer.v1.tar+gzip",
                .files = {{"usr/bin/hello", digest_of("hello"), 5},
                          {"etc/a_b", digest_of("ab"), 2},
                          {"etc/a-b", digest_of("a-b"), 3}}};
  SbomLayer two{
      .digest = digest_of("l2"),
      .diff_id = digest_of("d2"),
      .media_type = "application/vnd.oci.image.layer.v1.tar+gzip",
      .files = {{"etc/passwd", digest_of("passwd"), 6}, {"usr/bin/hello", digest_of("hello2"), 6}}};
  return {.manifest_digest = kVectorManifest, .layers = {one, two}, .strata_version = "0.1.0"};
}

// The documents are produced as text; the tests read them back as trees.
Json spdx() { return *parse_json(*make_spdx(testing::full_plan(), inputs()), "spdx"); }
Json cyclonedx() { return *parse_json(*make_cyclonedx(testing::full_plan(), inputs()), "cdx"); }

TEST(Ids, Rfc3339AndUuidV5MatchKnownValues) {
  EXPECT_EQ(rfc3339_utc(1700000000), "2023-11-14T22:13:20Z");
  EXPECT_EQ(rfc3339_utc(315532800), "1980-01-01T00:00:00Z");
  // Python: uuid.uuid5(uuid.NAMESPACE_URL, "sha256:f2ed…") (RFC 4122 §4.3, Appendix C).
  EXPECT_EQ(uuid_v5_url(kVectorManifest.str()), "28d6f544-4eb7-5a98-834a-eb915cded2c0");
  EXPECT_EQ(uuid_v5_url("http://python.org/"), "4c565f0d-3f5a-5890-b41b-20cf47701c5e");
}

TEST(Ids, SpdxIdsAreSanitizedAndUniqueInCallOrder) {
  SpdxIds ids;
  EXPECT_EQ(ids.make("File", "etc/a_b"), "SPDXRef-File-etc-a-b");
  EXPECT_EQ(ids.make("File", "etc/a-b"),
            "SPDXRef-File-etc-a-b-" + digest_of("etc/a-b").hex.substr(0, 12));
  EXPECT_EQ(ids.make("File", "etc/a.b"), "SPDXRef-File-etc-a.b");
  EXPECT_EQ(ids.make("File", "caf\xc3\xa9"), "SPDXRef-File-caf--");
  EXPECT_EQ(ids.make("File", ""), "SPDXRef-File--");
}

TEST(Ids, PurlsFollowThePurlSpec) {
  EXPECT_EQ(oci_purl("example.com/hello", kVectorManifest.hex, "amd64", "1.0"),
            "pkg:oci/hello@sha256%3A" + kVectorManifest.hex +
                "?arch=amd64&repository_url=example.com/hello&tag=1.0");
  EXPECT_EQ(oci_purl("Hello", "ab", "arm64", ""), "pkg:oci/hello@sha256%3Aab?arch=arm64");
  EXPECT_EQ(local_image_purl("../images/base.tar", "ab", "amd64"),
            "pkg:oci/base@sha256%3Aab?arch=amd64");
  EXPECT_EQ(generic_purl("a b", "1.0+x", {{"checksum", "sha256:ab"}}),
            "pkg:generic/a%20b@1.0%2Bx?checksum=sha256%3Aab");
}

TEST(Spdx, DescribesTheImageWithDeterministicIdsAndNamespace) {
  Json d = spdx();
  EXPECT_EQ(d["spdxVersion"], "SPDX-2.3");
  EXPECT_EQ(d["name"], "example.com/team/hello:2.12");
  EXPECT_EQ(d["documentNamespace"],
            "https://strata.dev/spdx/example.com/team/hello/sha256-" + kVectorManifest.hex);
  EXPECT_EQ(d["creationInfo"]["created"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(d["creationInfo"]["creators"][0], "Tool: strata-0.1.0");
  const Json& image = d["packages"][0];
  EXPECT_EQ(image["SPDXID"], "SPDXRef-Image-example.com-team-hello");
  EXPECT_EQ(image["externalRefs"][0]["referenceLocator"],
            "pkg:oci/hello@sha256%3A" + kVectorManifest.hex +
                "?arch=amd64&repository_url=example.com/team/hello&tag=2.12");
  EXPECT_EQ(*make_spdx(testing::full_plan(), inputs()), *canonical_json(d))
      << "canonical, and the same on every call";
}

TEST(Spdx, ListsEveryFileOfEveryLayerEvenWhenALaterLayerReplacesIt) {
  Json d = spdx();
  std::vector<std::string> files;
  std::set<std::string> ids;
  for (const Json& f : d["files"]) {
    files.push_back(f["fileName"].get<std::string>() + " " +
                    f["checksums"][0]["checksumValue"].get<std::string>().substr(0, 8));
    ids.insert(f["SPDXID"].get<std::string>());
  }
  EXPECT_EQ(files,
            (std::vector<std::string>{"./usr/bin/hello " + digest_of("hello").hex.substr(0, 8),
                                      "./etc/a_b " + digest_of("ab").hex.substr(0, 8),
                                      "./etc/a-b " + digest_of("a-b").hex.substr(0, 8),
                                      "./etc/passwd " + digest_of("passwd").hex.substr(0, 8),
                                      "./usr/bin/hello " + digest_of("hello2").hex.substr(0, 8)}));
  EXPECT_EQ(ids.size(), 5u);
  EXPECT_TRUE(ids.contains("SPDXRef-File-L1-usr-bin-hello"));
  EXPECT_TRUE(ids.contains("SPDXRef-File-L2-usr-bin-hello"));
}

TEST(Spdx, RelatesPackagesSourcesAndImages) {
  Json d = spdx();
  std::set<std::string> rel;
  for (const Json& r : d["relationships"]) {
    rel.insert(r["spdxElementId"].get<std::string>() + " " +
               r["relationshipType"].get<std::string>() + " " +
               r["relatedSpdxElement"].get<std::string>());
  }
  for (const char* expected : {
           "SPDXRef-DOCUMENT DESCRIBES SPDXRef-Image-example.com-team-hello",
           "SPDXRef-Image-example.com-team-hello CONTAINS SPDXRef-Layer-1",
           "SPDXRef-Layer-2 CONTAINS SPDXRef-File-L2-etc-passwd",
           "SPDXRef-Layer-1 CONTAINS SPDXRef-Package-hello",
           "SPDXRef-Package-hello GENERATED_FROM SPDXRef-Source-hello-src",
           "SPDXRef-Package-hello GENERATED_FROM SPDXRef-Source-patches",
           "SPDXRef-Package-libgreet BUILD_DEPENDENCY_OF SPDXRef-Package-hello",
           "SPDXRef-Environment-.-toolchain BUILD_DEPENDENCY_OF SPDXRef-Package-hello",
           "SPDXRef-Image-example.com-team-hello DESCENDANT_OF SPDXRef-BaseImage-..-base.tar",
       }) {
    EXPECT_TRUE(rel.contains(expected)) << expected;
  }
  for (const Json& p : d["packages"]) {
    if (p["SPDXID"] == "SPDXRef-Package-hello") {
      EXPECT_EQ(p["licenseDeclared"], "GPL-3.0-or-later");
      EXPECT_EQ(p["versionInfo"], "2.12");
      EXPECT_EQ(p["downloadLocation"], "https://example.org/hello-2.12.tar.gz");
      EXPECT_EQ(p["externalRefs"][0]["referenceLocator"], "pkg:generic/hello@2.12");
    }
    if (p["SPDXID"] == "SPDXRef-Source-hello-src") {
      EXPECT_EQ(p["checksums"][0]["checksumValue"], digest_of("hello-src").hex);
    }
  }
}

TEST(Spdx, IsValidAgainstTheSpdx23Schema) {
  testing::expect_schema_valid(spdx(), "spdx-schema.json");
}

TEST(CycloneDx, HasADerivedSerialAndTheSameContent) {
  Json b = cyclonedx();
  EXPECT_EQ(b["serialNumber"], "urn:uuid:28d6f544-4eb7-5a98-834a-eb915cded2c0");
  EXPECT_EQ(b["metadata"]["timestamp"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(b["metadata"]["component"]["hashes"][0]["content"], kVectorManifest.hex);
  EXPECT_EQ(b["components"][0]["components"].size(), 3u);
  EXPECT_EQ(b["components"][1]["components"][0]["name"], "/etc/passwd");
  std::map<std::string, Json> deps;
  for (const Json& d : b["dependencies"]) deps[d["ref"].get<std::string>()] = d["dependsOn"];
  EXPECT_EQ(deps["image"], Json({"layer-1", "layer-2", "base-image"}));
  EXPECT_EQ(deps["layer-1"], Json({"package:hello"}));
  EXPECT_EQ(deps["package:hello"],
            Json({"source:hello-src", "source:patches", "package:libgreet", "environment"}));
  EXPECT_EQ(deps["layer-2"], Json::array());
  EXPECT_EQ(*make_cyclonedx(testing::full_plan(), inputs()), *canonical_json(b))
      << "canonical, and the same on every call";
}

TEST(CycloneDx, IsValidAgainstTheCycloneDx16Schema) {
  testing::expect_schema_valid(cyclonedx(), "bom-1.6.schema.json");
}

// With image.base the image's layers start with the base's: spec layer 1 (which installs
// hello) is image layer 2, and the SBOM numbers and relates layers as the image does.
SbomInputs inputs_on_a_base() {
  SbomInputs in = inputs();
  SbomLayer base{.digest = digest_of("b1"),
                 .diff_id = digest_of("bd1"),
                 .media_type = "application/vnd.oci.image.layer.v1.tar+gzip",
                 .files = {{"bin/busybox", digest_of("busybox"), 7}}};
  in.layers.insert(in.layers.begin(), base);
  in.base_layers = 1;
  return in;
}

TEST(Sbom, LayersOnABaseImageAreNumberedAsTheImageDoes) {
  Json d = *parse_json(*make_spdx(testing::full_plan(), inputs_on_a_base()), "spdx");
  std::set<std::string> rel;
  for (const Json& r : d["relationships"]) {
    rel.insert(r["spdxElementId"].get<std::string>() + " " +
               r["relationshipType"].get<std::string>() + " " +
               r["relatedSpdxElement"].get<std::string>());
  }
  EXPECT_TRUE(rel.contains("SPDXRef-Layer-2 CONTAINS SPDXRef-Package-hello"));
  EXPECT_FALSE(rel.contains("SPDXRef-Layer-1 CONTAINS SPDXRef-Package-hello"));
  EXPECT_TRUE(rel.contains("SPDXRef-Layer-1 CONTAINS SPDXRef-File-L1-bin-busybox"));
  EXPECT_TRUE(rel.contains("SPDXRef-Layer-2 CONTAINS SPDXRef-File-L2-usr-bin-hello"));
  for (const Json& p : d["packages"]) {
    if (p["SPDXID"] == "SPDXRef-Layer-1") {
      EXPECT_NE(p["comment"].get<std::string>().find("from the base image"), std::string::npos);
    }
    if (p["SPDXID"] == "SPDXRef-Layer-2") {
      EXPECT_EQ(p["comment"].get<std::string>().find("from the base image"), std::string::npos);
    }
  }
  testing::expect_schema_valid(d, "spdx-schema.json");

  Json b = *parse_json(*make_cyclonedx(testing::full_plan(), inputs_on_a_base()), "cdx");
  std::map<std::string, Json> deps;
  for (const Json& dep : b["dependencies"]) deps[dep["ref"].get<std::string>()] = dep["dependsOn"];
  EXPECT_EQ(deps["layer-1"], Json::array());
  EXPECT_EQ(deps["layer-2"], Json({"package:hello"}));
  EXPECT_EQ(b["components"][0]["components"][0]["name"], "/bin/busybox");
  testing::expect_schema_valid(b, "bom-1.6.schema.json");
}

TEST(Sbom, FileWithInvalidUtf8PathFailsToSerialize) {
  SbomInputs in = inputs();
  in.layers[1].files.push_back({"etc/bad\xff", digest_of("bad"), 1});
  Result<std::string> d = make_spdx(testing::full_plan(), in);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(
      d.error().message(),
      "serializing JSON: [json.exception.type_error.316] invalid UTF-8 byte at index 9: 0xFF");
  Result<std::string> b = make_cyclonedx(testing::full_plan(), in);
  ASSERT_FALSE(b.ok());
  // bom-ref ("layer-2:/etc/bad\xff") is the first member of a file's component.
  EXPECT_EQ(b.error().message(),
            "serializing JSON: [json.exception.type_error.316] invalid UTF-8 byte at index 16: "
            "0xFF");
}

// Debian packages of `debs:` layers (docs/debian-packages.md): purl, licence, files.
SbomInputs inputs_with_debs() {
  SbomInputs in = inputs();
  in.debs = {{.name = "hello",
              .version = "1:2.10-3+b1",
              .architecture = "amd64",
              .vendor = "debian",
              .distro = "debian-12",
              .url = "http://deb.example/pool/hello.deb",
              .sha256 = digest_of("deb"),
              .license = "GPL-3+",
              .layer = 0,
              .files = {"usr/bin/hello"},
              .depends = {"libc6"}},
             {.name = "libc6",
              .version = "2.36-9",
              .architecture = "amd64",
              .vendor = "debian",
              .distro = "debian-12",
              .url = "http://deb.example/pool/libc6.deb",
              .sha256 = digest_of("libc"),
              .license = "LGPL-2.1+ AND Unicode-weird",
              .layer = 0}};
  return in;
}

TEST(Sbom, DebsHavePurlsLicencesAndFiles) {
  EXPECT_EQ(deb_purl(inputs_with_debs().debs[0]),
            "pkg:deb/debian/hello@1%3A2.10-3%2Bb1?arch=amd64&distro=debian-12");
  EXPECT_EQ(spdx_license_of_debian("GPL-2+ AND Expat"), "GPL-2.0-or-later AND MIT");
  EXPECT_EQ(spdx_license_of_debian("GPL-2+ AND Unknown"), "");
  Json d = *parse_json(*make_spdx(testing::full_plan(), inputs_with_debs()), "spdx");
  testing::expect_schema_valid(d, "spdx-schema.json");
  std::map<std::string, Json> by_name;
  for (const Json& p : d["packages"]) by_name[p["name"].get<std::string>()] = p;
  ASSERT_TRUE(by_name.contains("hello"));
  EXPECT_EQ(by_name["hello"]["licenseDeclared"], "GPL-3.0-or-later");
  EXPECT_EQ(by_name["libc6"]["licenseDeclared"], "NOASSERTION");
  EXPECT_EQ(by_name["libc6"]["licenseComments"], "debian/copyright: LGPL-2.1+ AND Unicode-weird");
  std::string hello = by_name["hello"]["SPDXID"], libc = by_name["libc6"]["SPDXID"];
  std::set<std::string> rels;
  for (const Json& r : d["relationships"]) {
    rels.insert(r["spdxElementId"].get<std::string>() + " " +
                r["relationshipType"].get<std::string>() + " " +
                r["relatedSpdxElement"].get<std::string>());
  }
  EXPECT_TRUE(rels.contains(hello + " DEPENDS_ON " + libc));
  EXPECT_TRUE(rels.contains(hello + " CONTAINS SPDXRef-File-L1-usr-bin-hello"));
  Json b = *parse_json(*make_cyclonedx(testing::full_plan(), inputs_with_debs()), "cdx");
  testing::expect_schema_valid(b, "bom-1.6.schema.json");
  bool found = false;
  for (const Json& c : b["components"]) {
    if (c.value("bom-ref", "") != "deb:hello") continue;
    found = true;
    EXPECT_EQ(c["purl"], "pkg:deb/debian/hello@1%3A2.10-3%2Bb1?arch=amd64&distro=debian-12");
    EXPECT_EQ(c["licenses"][0]["expression"], "GPL-3.0-or-later");
    EXPECT_EQ(c["properties"][0]["value"], "usr/bin/hello");
  }
  EXPECT_TRUE(found);
}

// A visitor's path is valid only during the call (the pipeline decodes one record at a time
// into one buffer): the debs' files are found the same as from a held list.
TEST(Sbom, DebFilesFromAVisitorThatReusesItsBuffer) {
  SbomInputs held = inputs_with_debs();
  SbomInputs visited = inputs_with_debs();
  for (SbomLayer& l : visited.layers) {
    l.for_each_file = [files = l.files](const SbomFileVisitor& visit) {
      std::string buffer;
      for (const SbomFile& f : files) {
        buffer = f.path;
        visit(buffer, f.sha256, f.size);
        buffer.assign(buffer.size(), '?');
      }
    };
    l.files.clear();
  }
  std::string spdx = *make_spdx(testing::full_plan(), visited);
  EXPECT_EQ(spdx, *make_spdx(testing::full_plan(), held));
  EXPECT_NE(spdx.find("CONTAINS"), std::string::npos);
}

}  // namespace
}  // namespace strata::attest
