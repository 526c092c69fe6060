#include "builder/attestations/attestations.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <csignal>

#include "attest/dsse.h"
#include "attest/provenance.h"
#include "builder/base/fs.h"
#include "builder/base/owner.h"
#include "builder/oci/image_reader.h"
#include "builder/pipeline.h"
#include "tests/support/spec_fixture.h"
#include "tests/support/test_image.h"

namespace strata::builder {
namespace {

class FakeClock : public Clock {
 public:
  int64_t now_seconds() override { return now_++; }
  int64_t now_ = 1800000000;
};

class AttestationsTest : public SpecFixture {
 protected:
  void SetUp() override {
    SpecFixture::SetUp();
    plan_.spec.image.layers[0].files[0] = {.src = "files", .dest = "/etc"};
    plan_.spec.image.accounts.users.push_back({.name = "app", .uid = 10, .gid = 10});
    attest_ = {.spec_path = "spec/strata.yaml",
               .spec_sha256 = sha256_of("spec"),
               .strata_version = "0.1.0",
               .strata_sha256 = sha256_of("strata")};
  }

  Result<BuildResult> build() {
    return build_image(plan_, {.output_root = out(), .attest = attest_});
  }
  std::string out() const { return tmp_.path() + "/out"; }
  Json read_json(const std::string& path) { return *parse_json(*read_file(path), path); }
  AttestOptions attest_;
};

TEST_F(AttestationsTest, WritesProvenanceAndSbomBesideTheLayout) {
  auto result = build();
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  EXPECT_EQ(result->attestations.provenance, out() + "/demo.provenance.json");
  EXPECT_EQ(result->attestations.sbom, out() + "/demo.spdx.json");
  EXPECT_TRUE(result->attestations.envelope.empty());
  Json statement = read_json(result->attestations.provenance);
  ASSERT_TRUE(attest::check_statement(statement).ok());
  EXPECT_EQ(statement["subject"][0]["digest"]["sha256"], result->image.manifest.digest.hex);
  const Json& deps = statement["predicate"]["buildDefinition"]["resolvedDependencies"];
  EXPECT_EQ(deps[1]["name"], "files/motd");
  EXPECT_EQ(deps[1]["digest"]["sha256"], sha256_of("hello\n").hex);
  const Json& libs = statement["predicate"]["buildDefinition"]["internalParameters"]["libraries"];
  EXPECT_TRUE(libs.contains("libarchive") && libs.contains("openssl")) << libs.dump();

  Json sbom = read_json(result->attestations.sbom);
  std::vector<std::string> files;
  for (const Json& f : sbom["files"]) files.push_back(f["fileName"].get<std::string>());
  // The layer's motd, then the synthesized account files of the last layer.
  EXPECT_EQ(files, (std::vector<std::string>{"./etc/motd", "./etc/group", "./etc/passwd"}));
  // The layout itself is unchanged: one image, no artifacts.
  EXPECT_EQ(read_json(result->layout_dir + "/index.json")["manifests"].size(), 1u);
}

// The published-set check reads the provenance back in 64 KiB reads: a statement many reads
// long, its subject last (canonical JSON sorts "subject" after "predicate"), is read whole;
// one whose subject names another manifest is refused, and a cut-off one is not valid JSON.
TEST_F(AttestationsTest, PublishedSetCheckReadsAProvenanceOfManyReads) {
  auto result = build();
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  const std::string& path = result->attestations.provenance;
  const Digest& manifest = result->image.manifest.digest;
  Json statement = read_json(path);
  statement["predicate"]["padding"] = std::string(300000, 'x');
  std::string text = statement.dump();
  ASSERT_GT(text.size(), 4u * 65536);
  ASSERT_LT(text.find("padding"), text.find("\"subject\""));
  ASSERT_TRUE(write_file(path, text).ok());
  auto same = check_published_set(result->layout_dir, "1.0", path, manifest);
  EXPECT_TRUE(same.ok()) << same.error().to_string();

  statement["subject"][0]["digest"]["sha256"] = sha256_of("another").hex;
  ASSERT_TRUE(write_file(path, statement.dump()).ok());
  auto other = check_published_set(result->layout_dir, "1.0", path, manifest);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code(), ErrorCode::kVerification);
  EXPECT_NE(other.error().message().find(sha256_of("another").hex), std::string::npos)
      << other.error().message();

  ASSERT_TRUE(write_file(path, text.substr(0, 3 * 65536 + 17)).ok());
  auto cut = check_published_set(result->layout_dir, "1.0", path, manifest);
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.error().message().find("not valid JSON"), std::string::npos)
      << cut.error().message();
}

// On a base image the SBOM lists the base's files under the base's layers, numbered as the
// image numbers them (base layers first), and the build reports their entry counts.
TEST_F(AttestationsTest, SbomOnABaseImageListsTheBasesFilesUnderItsLayers) {
  oci::WrittenImage base = testing::write_image(
      plan_.spec.dir + "/base",
      {{testing::dir_entry("bin"), testing::file_entry("bin/busybox", "busybox"),
        testing::file_entry("etc/.wh.old", "")}},
      "base", "1.0");
  plan_.spec.image.base = specs::ImageRef{.path = "base", .digest = base.manifest.digest};
  auto result = build();
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  ASSERT_GE(result->image.layers.size(), 2u);
  EXPECT_EQ(result->image.layers[0].entry_count, 3);

  Json sbom = read_json(result->attestations.sbom);
  std::map<std::string, std::string> layer_of;  // file name -> the layer that CONTAINS it
  std::map<std::string, std::string> names;     // SPDXID -> fileName
  for (const Json& f : sbom["files"]) {
    names[f["SPDXID"].get<std::string>()] = f["fileName"].get<std::string>();
  }
  for (const Json& r : sbom["relationships"]) {
    if (r["relationshipType"] != "CONTAINS") continue;
    auto name = names.find(r["relatedSpdxElement"].get<std::string>());
    if (name != names.end()) layer_of[name->second] = r["spdxElementId"].get<std::string>();
  }
  EXPECT_EQ(layer_of["./bin/busybox"], "SPDXRef-Layer-1");
  EXPECT_EQ(layer_of["./etc/motd"], "SPDXRef-Layer-2");
  EXPECT_FALSE(layer_of.contains("./etc/.wh.old")) << "a whiteout is no file";
}

TEST_F(AttestationsTest, SignsAttachesAndStaysReadable) {
  attest_.sign_key = *attest::PrivateKey::generate(attest::KeyType::kEd25519);
  attest_.attach = true;
  attest_.sbom_format = SbomFormat::kCycloneDx;
  auto result = build();
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  EXPECT_EQ(result->attestations.sbom, out() + "/demo.cdx.json");
  auto envelope = read_file(result->attestations.envelope);
  ASSERT_TRUE(envelope.ok());
  auto verified = attest::verify_envelope(*envelope, *attest_.sign_key->public_key(),
                                          attest::kInTotoPayloadType);
  ASSERT_TRUE(verified.ok()) << verified.error().to_string();
  EXPECT_EQ(verified->payload, *read_file(result->attestations.provenance));

  Json index = read_json(result->layout_dir + "/index.json");
  ASSERT_EQ(index["manifests"].size(), 3u);
  EXPECT_EQ(index["manifests"][1]["artifactType"], "application/vnd.in-toto.provenance+dsse");
  EXPECT_EQ(index["manifests"][2]["artifactType"], "application/vnd.cyclonedx+json");
  EXPECT_FALSE(index["manifests"][1].contains("annotations"));
  auto view = oci::open_image(result->layout_dir);
  ASSERT_TRUE(view.ok()) << view.error().to_string();
  EXPECT_EQ(view->manifest_descriptor.digest, result->image.manifest.digest);
  auto artifact = oci::read_verified_blob(result->layout_dir,
                                          *oci::parse_descriptor(index["manifests"][1], "index"));
  ASSERT_TRUE(artifact.ok());
  Json manifest = *parse_json(*artifact, "artifact");
  EXPECT_EQ(manifest["subject"]["digest"], result->image.manifest.digest.str());
  EXPECT_EQ(manifest["layers"][0]["digest"], sha256_of(*envelope).str());
}

TEST_F(AttestationsTest, WritesOpenVexAndBundleAndAttachesTheSignedForms) {
  plan_.spec.vex.statements.push_back({.vulnerability = "CVE-2024-3094",
                                       .status = "not_affected",
                                       .justification = "component_not_present"});
  auto unsigned_result = build();
  ASSERT_TRUE(unsigned_result.ok()) << unsigned_result.error().to_string();
  EXPECT_EQ(unsigned_result->attestations.openvex, out() + "/demo.openvex.json");
  EXPECT_TRUE(unsigned_result->attestations.openvex_envelope.empty());
  EXPECT_TRUE(unsigned_result->attestations.sigstore_bundle.empty());
  std::string vex = *read_file(unsigned_result->attestations.openvex);

  attest_.sign_key = *attest::PrivateKey::generate(attest::KeyType::kEcdsaP256);
  attest_.attach = true;
  auto result = build();
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  EXPECT_EQ(*read_file(result->attestations.openvex), vex) << "signing changes no byte";
  attest::PublicKey key = *attest_.sign_key->public_key();
  auto verified = attest::verify_envelope(*read_file(result->attestations.openvex_envelope), key,
                                          attest::kInTotoPayloadType);
  ASSERT_TRUE(verified.ok()) << verified.error().to_string();
  Json statement = *parse_json(verified->payload, "statement");
  EXPECT_EQ(statement["predicateType"], "https://openvex.dev/ns/v0.2.0");
  EXPECT_EQ(*canonical_json(statement["predicate"]), vex);
  EXPECT_EQ(statement["subject"], read_json(result->attestations.provenance)["subject"]);
  Json bundle = read_json(result->attestations.sigstore_bundle);
  EXPECT_EQ(bundle["dsseEnvelope"], read_json(result->attestations.envelope));
  EXPECT_EQ(bundle["verificationMaterial"]["publicKey"]["hint"], key.keyid());

  std::vector<std::string> types;
  Json index = read_json(result->layout_dir + "/index.json");
  for (const Json& m : index["manifests"]) {
    types.push_back(m.value("artifactType", ""));
  }
  EXPECT_EQ(types, (std::vector<std::string>{"", "application/vnd.in-toto.provenance+dsse",
                                             "application/spdx+json",
                                             "application/vnd.in-toto.openvex+dsse"}));
}

TEST_F(AttestationsTest, RecordsTimesOnlyWhenAskedAndIsOtherwiseByteIdentical) {
  auto first = build();
  ASSERT_TRUE(first.ok());
  std::string bytes = *read_file(first->attestations.provenance);
  auto second = build();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*read_file(second->attestations.provenance), bytes);
  FakeClock clock;
  attest_.clock = &clock;
  auto timed = build();
  ASSERT_TRUE(timed.ok());
  Json metadata = read_json(timed->attestations.provenance)["predicate"]["runDetails"]["metadata"];
  EXPECT_EQ(metadata["startedOn"], "2027-01-15T08:00:00Z");
  EXPECT_EQ(metadata["finishedOn"], "2027-01-15T08:00:01Z");
}

TEST_F(AttestationsTest, FailedBuildWritesNoAttestation) {
  auto first = build();
  ASSERT_TRUE(first.ok());
  std::string before = *read_file(first->attestations.provenance);
  plan_.spec.image.layers[0].files[0].src = "missing";
  ASSERT_FALSE(build().ok());
  EXPECT_EQ(*read_file(first->attestations.provenance), before);
  int leftovers = 0;
  for (const auto& e : std::filesystem::directory_iterator(out())) {
    std::string name = e.path().filename();
    leftovers += name != "demo" && name != "demo.provenance.json" && name != "demo.spdx.json";
  }
  EXPECT_EQ(leftovers, 0);
  auto fresh = build_image(plan_, {.output_root = tmp_.path() + "/other", .attest = attest_});
  ASSERT_FALSE(fresh.ok());
  EXPECT_FALSE(exists(tmp_.path() + "/other"));
}

// The SBOM is written into its staged file as it is made; one that fails halfway (here at a
// file size limit, as on a full disk, after some 400 KB of it were written) leaves no file
// behind, staged or published, and the error names the document.
TEST_F(AttestationsTest, ADocumentThatFailsHalfWrittenLeavesNoFile) {
  std::string files = tmp_.path() + "/spec/files";
  for (int i = 0; i < 3000; ++i) {
    ASSERT_TRUE(write_file(fmt::format("{}/f{:04d}", files, i), "x").ok());
  }
  struct rlimit old_limit {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  struct rlimit limit = old_limit;
  limit.rlim_cur = 400 * 1024;                    // the gzip layer is smaller, the SBOM some 1.2 MB
  auto old_handler = ::signal(SIGXFSZ, SIG_IGN);  // write(2) then fails with EFBIG
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limit), 0);
  auto result = build();
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  ::signal(SIGXFSZ, old_handler);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message().find("demo.spdx.json"), std::string::npos)
      << result.error().to_string();
  EXPECT_EQ(result.error().sys_errno().value_or(0), EFBIG) << result.error().to_string();
  EXPECT_FALSE(exists(out()));
  for (const auto& e : std::filesystem::recursive_directory_iterator(tmp_.path())) {
    EXPECT_EQ(e.path().filename().string().find(".spdx.json"), std::string::npos) << e.path();
    EXPECT_EQ(e.path().filename().string().find(kAtomicFilePrefix), std::string::npos) << e.path();
  }
}

}  // namespace
}  // namespace strata::builder
