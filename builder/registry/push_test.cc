// Push and referrers against an in-memory registry with the quirks real ones have: no
// referrers API (the tag schema), OCI-Subject, a request-size cap (413), 201 to PATCH with
// a stale Range, another writer replacing the referrers index, paginated referrers.
#include "builder/registry/push.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <random>

#include "builder/base/base64.h"
#include "builder/oci/artifact.h"
#include "builder/oci/media_types.h"
#include "builder/registry/referrers.h"
#include "tests/support/memory_registry.h"
#include "tests/support/test_image.h"

namespace strata::builder::registry {
namespace {

using strata::testing::MemoryRegistry;

RegistryOptions quick() {
  RegistryOptions o{.max_attempts = 2, .retry_backoff_ms = 1};
  o.helpers = [](const std::string&, const std::string&) -> Result<std::optional<std::string>> {
    return std::optional<std::string>();
  };
  return o;
}

std::string random_bytes(size_t n) {
  std::mt19937 rng(42);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

class PushTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string layout = dir_.path() + "/app";
    testing::write_image(layout, {{testing::file_entry("data", random_bytes(300'000))}}, "app",
                         "1.0");
    Result<oci::ImageView> opened = oci::open_image(layout);
    ASSERT_TRUE(opened.ok()) << opened.error().message();
    image_ = *std::move(opened);
    sbom_ = {
        .path = dir_.path() + "/app.spdx.json",
        .bytes = fmt::format("{{\"describes\":\"{}\"}}", image_.manifest_descriptor.digest.str()),
        .media_type = oci::kSpdxType};
  }

  Result<PushReport> push(MemoryRegistry& reg, PushOptions o = {}) {
    RegistryClient client(reg, quick());
    o.tag = "1.0";
    o.attestations = {sbom_};
    o.referrers_tag.settle_ms = 1;
    return push_image(client, image_, dest_, o);
  }

  TempDir dir_ = strata::testing::make_temp_dir();
  oci::ImageView image_;
  AttestationFile sbom_;
  specs::RegistryRef dest_ = *specs::parse_registry_ref("docker://reg.io/team/app");
};

TEST_F(PushTest, PushesEverythingAndKeepsTheReferrersTagWithoutTheApi) {
  MemoryRegistry reg;
  Result<PushReport> report = push(reg);
  ASSERT_TRUE(report.ok()) << report.error().message();
  EXPECT_EQ(report->uploaded, 4);  // config, layer, the artifact's empty config and the SBOM
  EXPECT_FALSE(report->referrers_api);
  EXPECT_EQ(report->referrers_tag_added, 1);
  const Digest& subject = image_.manifest_descriptor.digest;
  ASSERT_TRUE(reg.manifests.contains("1.0"));
  EXPECT_EQ(sha256_of(reg.manifests["1.0"].second), subject);
  EXPECT_EQ(reg.manifests["1.0"].first, oci::kManifestMediaType);
  for (const oci::Descriptor& l : image_.layers) EXPECT_TRUE(reg.blobs.contains(l.digest.str()));
  // The tag index: the SBOM artifact with its artifactType and annotations.
  const std::string tag = "sha256-" + subject.hex;
  ASSERT_TRUE(reg.manifests.contains(tag));
  Json index = Json::parse(reg.manifests[tag].second);
  ASSERT_EQ(index["manifests"].size(), 1u);
  EXPECT_EQ(index["manifests"][0]["artifactType"], oci::kSpdxType);
  EXPECT_TRUE(index["manifests"][0]["annotations"].contains(oci::kCreatedAnnotation));
  // The tag went up after everything else.
  EXPECT_EQ(reg.log.back(), "PUT /v2/team/app/manifests/1.0");

  // Again: no blob, no manifest but the tag, the referrers index only read.
  reg.log.clear();
  report = push(reg);
  ASSERT_TRUE(report.ok()) << report.error().message();
  EXPECT_EQ(report->uploaded, 0);
  EXPECT_EQ(report->skipped, 4);
  EXPECT_EQ(report->referrers_tag_added, 0);
  EXPECT_EQ(reg.count("POST"), 0);
  EXPECT_EQ(reg.count("PUT"), 1);
}

TEST_F(PushTest, OciSubjectMeansNoTagIndex) {
  MemoryRegistry reg;
  reg.oci_subject = true;
  Result<PushReport> report = push(reg);
  ASSERT_TRUE(report.ok()) << report.error().message();
  EXPECT_TRUE(report->referrers_api);
  EXPECT_FALSE(reg.manifests.contains("sha256-" + image_.manifest_descriptor.digest.hex));
  // A re-push (the artifact exists, so no OCI-Subject is seen) asks the API, not the tag.
  report = push(reg);
  ASSERT_TRUE(report.ok()) << report.error().message();
  EXPECT_TRUE(report->referrers_api);
  EXPECT_FALSE(reg.manifests.contains("sha256-" + image_.manifest_descriptor.digest.hex));
}

TEST_F(PushTest, RequestCapFallsBackToChunksAndToleratesPatch201) {
  MemoryRegistry reg;
  reg.max_body = 100'000;  // the layer (~300 kB, incompressible) must go in pieces
  reg.patch_201 = true;
  Result<PushReport> report = push(reg);
  ASSERT_TRUE(report.ok()) << report.error().message();
  EXPECT_GT(reg.count("PATCH"), 2);
  for (const oci::Descriptor& l : image_.layers) {
    ASSERT_TRUE(reg.blobs.contains(l.digest.str()));
    EXPECT_EQ(static_cast<int64_t>(reg.blobs[l.digest.str()].size()), l.size);
  }
}

TEST_F(PushTest, ChunkSizeFromTheStart) {
  MemoryRegistry reg;
  PushOptions o;
  o.chunk_bytes = 70'000;
  Result<PushReport> report = push(reg, o);
  ASSERT_TRUE(report.ok()) << report.error().message();
  int64_t layer = image_.layers[0].size;
  // The layer in 70,000-byte pieces; the config, the empty config and the SBOM in one each.
  EXPECT_EQ(reg.count("PATCH"), static_cast<int>((layer + 69'999) / 70'000) + 3);
}

TEST_F(PushTest, AnotherWriterReplacingTheIndexIsMerged) {
  MemoryRegistry reg;
  const std::string tag = "sha256-" + image_.manifest_descriptor.digest.hex;
  std::string other = "sha256:" + std::string(64, 'f');
  bool replaced = false;
  reg.after_manifest_put = [&](MemoryRegistry& r, const std::string& ref) {
    if (ref != tag || replaced) return;
    replaced = true;  // another pusher, who read the empty index too, writes its own
    Json index = {{"schemaVersion", 2},
                  {"mediaType", oci::kIndexMediaType},
                  {"manifests",
                   {{{"mediaType", oci::kManifestMediaType},
                     {"digest", other},
                     {"size", 10},
                     {"artifactType", "application/vnd.cyclonedx+json"}}}}};
    r.manifests[tag] = {oci::kIndexMediaType, index.dump()};
  };
  Result<PushReport> report = push(reg);
  ASSERT_TRUE(report.ok()) << report.error().message();
  Json index = Json::parse(reg.manifests[tag].second);
  ASSERT_EQ(index["manifests"].size(), 2u);
  std::vector<std::string> digests = {index["manifests"][0]["digest"],
                                      index["manifests"][1]["digest"]};
  EXPECT_TRUE(std::is_sorted(digests.begin(), digests.end()));
  EXPECT_TRUE(std::find(digests.begin(), digests.end(), other) != digests.end());
}

TEST_F(PushTest, AWriterThatAlwaysLosesSaysSo) {
  MemoryRegistry reg;
  const std::string tag = "sha256-" + image_.manifest_descriptor.digest.hex;
  reg.after_manifest_put = [&](MemoryRegistry& r, const std::string& ref) {
    if (ref == tag) r.manifests.erase(tag);
  };
  Result<PushReport> report = push(reg);
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.error().message().find("another writer replaced the referrers index"),
            std::string::npos)
      << report.error().message();
}

TEST_F(PushTest, ReferrersApiPagesAndClientSideFilter) {
  MemoryRegistry reg;
  reg.oci_subject = true;
  reg.referrers_page = 1;
  AttestationFile statement{
      .path = dir_.path() + "/app.provenance.json",
      .bytes = fmt::format("{{\"subject\":[{{\"digest\":{{\"sha256\":\"{}\"}}}}]}}",
                           image_.manifest_descriptor.digest.hex),
      .media_type = oci::kStatementType};
  RegistryClient client(reg, quick());
  PushOptions o{.attestations = {sbom_, statement}};
  ASSERT_TRUE(push_image(client, image_, dest_, o).ok());
  const Digest& subject = image_.manifest_descriptor.digest;
  Result<ReferrersList> all = list_referrers(client, dest_, subject);
  ASSERT_TRUE(all.ok()) << all.error().message();
  EXPECT_TRUE(all->from_api);
  EXPECT_EQ(all->referrers.size(), 2u);
  // Two pages; the push itself asked nothing: every PUT was answered with OCI-Subject.
  EXPECT_EQ(reg.count("GET /v2/team/app/referrers/"), 2);
  Result<ReferrersList> sboms = list_referrers(client, dest_, subject, oci::kSpdxType);
  ASSERT_TRUE(sboms.ok());
  ASSERT_EQ(sboms->referrers.size(), 1u);  // filtered by strata: no OCI-Filters-Applied
  EXPECT_EQ(sboms->referrers[0].artifact_type, oci::kSpdxType);
  Result<ArtifactBlob> provenance = fetch_provenance(client, dest_, subject, true);
  ASSERT_TRUE(provenance.ok()) << provenance.error().message();
  EXPECT_EQ(provenance->bytes, statement.bytes);
  // A tampered artifact blob is refused.
  reg.blobs[sha256_of(statement.bytes).str()] = statement.bytes + " ";
  provenance = fetch_provenance(client, dest_, subject, true);
  ASSERT_FALSE(provenance.ok());
  EXPECT_NE(provenance.error().message().find("size mismatch"), std::string::npos)
      << provenance.error().message();
}

TEST(AttestationsBeside, PicksTheEnvelopeAndSkipsOtherImages) {
  TempDir dir = strata::testing::make_temp_dir();
  Digest image = sha256_of("image");
  Digest other = sha256_of("other");
  auto statement = [](const Digest& d) {
    return fmt::format("{{\"subject\":[{{\"digest\":{{\"sha256\":\"{}\"}}}}]}}", d.hex);
  };
  ASSERT_TRUE(write_file(dir.path() + "/app.provenance.json", statement(image)).ok());
  ASSERT_TRUE(write_file(dir.path() + "/app.cdx.json", "{\"about\":\"" + other.str() + "\"}").ok());
  std::vector<std::string> warnings;
  auto warn = [&](const std::string& w) { warnings.push_back(w); };
  Result<std::vector<AttestationFile>> files =
      attestations_beside(dir.path() + "/app", image, warn);
  ASSERT_TRUE(files.ok()) << files.error().message();
  ASSERT_EQ(files->size(), 1u);
  EXPECT_EQ((*files)[0].media_type, oci::kStatementType);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("app.cdx.json: not pushed: it does not describe"), std::string::npos);
  // An envelope of the statement wins over the statement; the archive's name works too.
  std::string envelope =
      fmt::format("{{\"payload\":\"{}\",\"payloadType\":\"x\",\"signatures\":[]}}",
                  base64_encode(statement(image)));
  ASSERT_TRUE(write_file(dir.path() + "/app.provenance.dsse.json", envelope).ok());
  files = attestations_beside(dir.path() + "/app.tar", image, warn);
  ASSERT_TRUE(files.ok());
  ASSERT_EQ(files->size(), 1u);
  EXPECT_EQ((*files)[0].media_type, oci::kProvenanceDsseType);
}

TEST(AttestationsBeside, OpenVexGoesUpAsItsEnvelopeElseItself) {
  TempDir dir = strata::testing::make_temp_dir();
  Digest image = sha256_of("image");
  Digest other = sha256_of("other");
  std::string vex = fmt::format(
      R"({{"statements":[{{"products":[{{"hashes":{{"sha-256":"{}"}}}}]}}]}})", image.hex);
  ASSERT_TRUE(write_file(dir.path() + "/app.openvex.json", vex).ok());
  std::vector<std::string> warnings;
  auto warn = [&](const std::string& w) { warnings.push_back(w); };
  Result<std::vector<AttestationFile>> files =
      attestations_beside(dir.path() + "/app", image, warn);
  ASSERT_TRUE(files.ok()) << files.error().message();
  ASSERT_EQ(files->size(), 1u);
  EXPECT_EQ((*files)[0].media_type, oci::kOpenVexType);
  EXPECT_EQ((*files)[0].bytes, vex);
  files = attestations_beside(dir.path() + "/app", other, warn);
  ASSERT_TRUE(files.ok());
  EXPECT_TRUE(files->empty());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("app.openvex.json: not pushed: it is not about"), std::string::npos)
      << warnings[0];
  // The envelope of a statement about the image wins; one about another image does not.
  auto envelope = [](const Digest& d) {
    return fmt::format("{{\"payload\":\"{}\",\"payloadType\":\"x\",\"signatures\":[]}}",
                       base64_encode(fmt::format(
                           "{{\"subject\":[{{\"digest\":{{\"sha256\":\"{}\"}}}}]}}", d.hex)));
  };
  ASSERT_TRUE(write_file(dir.path() + "/app.openvex.dsse.json", envelope(image)).ok());
  files = attestations_beside(dir.path() + "/app", image, warn);
  ASSERT_TRUE(files.ok());
  ASSERT_EQ(files->size(), 1u);
  EXPECT_EQ((*files)[0].media_type, oci::kOpenVexDsseType);
  ASSERT_TRUE(write_file(dir.path() + "/app.openvex.dsse.json", envelope(other)).ok());
  files = attestations_beside(dir.path() + "/app", image, warn);
  ASSERT_TRUE(files.ok());
  ASSERT_EQ(files->size(), 1u);
  EXPECT_EQ((*files)[0].media_type, oci::kOpenVexType);
}

}  // namespace
}  // namespace strata::builder::registry
