#include "attest/provenance_reader.h"

#include <gtest/gtest.h>

#include "tests/support/attest_plan.h"

namespace strata::attest {
namespace {

using testing::digest_of;

Json provenance() {
  ProvenanceInputs in{.manifest_digest = digest_of("manifest"),
                      .spec_path = "examples/hello/strata.yaml",
                      .spec_sha256 = digest_of("spec"),
                      .parameters = {.compression = "zstd",
                                     .archive = true,
                                     .attach = false,
                                     .sbom_format = "cyclonedx"},
                      .input_files = {{"files/motd", PackedDigest::of(digest_of("m"))}},
                      .strata_version = "0.1.0",
                      .strata_sha256 = digest_of("strata"),
                      .library_versions = {{"libarchive", "3.6.2"}}};
  return *parse_json(*make_provenance(testing::full_plan(), in), "provenance");
}

TEST(ProvenanceReader, ReadsBackWhatMakeProvenanceWrote) {
  auto p = read_image_provenance(provenance());
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  EXPECT_EQ(p->subject, digest_of("manifest"));
  EXPECT_EQ(p->subject_name, "example.com/team/hello");
  EXPECT_EQ(p->spec_path, "examples/hello/strata.yaml");
  EXPECT_EQ(p->spec_sha256, digest_of("spec"));
  EXPECT_EQ(p->parameters.compression, "zstd");
  EXPECT_TRUE(p->parameters.archive);
  EXPECT_FALSE(p->parameters.attach);
  EXPECT_EQ(p->parameters.sbom_format, "cyclonedx");
  EXPECT_EQ(p->platform, "linux/amd64");
  EXPECT_EQ(p->source_date_epoch, "1700000000");
  EXPECT_EQ(p->determinism_profile, "strata-det/2");
  EXPECT_EQ(p->libraries.at("libarchive"), "3.6.2");
  EXPECT_EQ(p->builder_id, kLocalBuilderId);
  ASSERT_EQ(p->with_role("source").size(), 2u);
  EXPECT_EQ(p->with_role("source")[0]->uri, "https://example.org/hello-2.12.tar.gz");
  EXPECT_EQ(p->with_role("source")[1]->path, "patches/");
  ASSERT_EQ(p->with_role("input-file").size(), 1u);
  EXPECT_EQ(p->with_role("input-file")[0]->sha256, digest_of("m"));
  ASSERT_EQ(p->with_role("builder-binary").size(), 1u);
  EXPECT_EQ(p->with_role("builder-binary")[0]->version, "0.1.0");
}

// Each case breaks one thing and names what the error must mention.
TEST(ProvenanceReader, RejectsWhatItCannotReproduce) {
  struct Case {
    const char* what;
    void (*mutate)(Json&);
    const char* expected;
  };
  const Case cases[] = {
      {"unknown external parameter",
       [](Json& s) { s["predicate"]["buildDefinition"]["externalParameters"]["debug"] = true; },
       "externalParameters.debug"},
      {"other build type",
       [](Json& s) { s["predicate"]["buildDefinition"]["buildType"] = "https://example.com/x"; },
       "buildType"},
      {"other predicate", [](Json& s) { s["predicateType"] = "https://example.com/p"; },
       "predicateType"},
      {"two subjects", [](Json& s) { s["subject"].push_back(s["subject"][0]); }, "subject"},
      {"no spec digest",
       [](Json& s) {
         s["predicate"]["buildDefinition"]["externalParameters"]["spec"].erase("sha256");
       },
       "externalParameters.spec"},
      {"archive not a bool",
       [](Json& s) { s["predicate"]["buildDefinition"]["externalParameters"]["archive"] = "yes"; },
       "externalParameters.archive"},
      {"dependency without role",
       [](Json& s) {
         s["predicate"]["buildDefinition"]["resolvedDependencies"][1].erase("annotations");
       },
       "resolvedDependencies[1]"},
      {"not a statement", [](Json& s) { s["_type"] = "x"; }, "_type"},
  };
  for (const Case& c : cases) {
    Json s = provenance();
    c.mutate(s);
    auto p = read_image_provenance(s);
    ASSERT_FALSE(p.ok()) << c.what;
    EXPECT_EQ(p.error().code(), ErrorCode::kVerification) << c.what;
    EXPECT_NE(p.error().message().find(c.expected), std::string::npos)
        << c.what << ": " << p.error().message();
  }
}

}  // namespace
}  // namespace strata::attest
