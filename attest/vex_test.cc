// OpenVEX documents and their in-toto Statement (attest/vex.h).
#include "attest/vex.h"

#include <gtest/gtest.h>

#include "attest/ids.h"
#include "attest/provenance.h"
#include "builder/base/json.h"
#include "tests/support/attest_plan.h"

namespace strata::attest {
namespace {

using testing::digest_of;

const Digest kManifest = digest_of("manifest");

SbomDeb libssl() {
  return {.name = "libssl3",
          .version = "3.0.15-1~deb12u1",
          .architecture = "amd64",
          .vendor = "debian",
          .distro = "debian-12",
          .sha256 = digest_of("libssl3.deb")};
}

specs::Plan vex_plan() {
  specs::Plan plan = testing::full_plan();
  std::vector<specs::VexStatement>& v = plan.spec.vex.statements;
  v.push_back({.vulnerability = "CVE-2024-3094",
               .aliases = {"GHSA-rxwq-x6h5-x525"},
               .packages = {{.name = "hello"}},
               .status = "not_affected",
               .justification = "vulnerable_code_not_present",
               .impact_statement = "hello does not link liblzma"});
  v.push_back({.vulnerability = "CVE-2024-0001",
               .debs = {{.name = "libssl3"}},
               .status = "affected",
               .action_statement = "upgrade libssl3",
               .status_notes = "reported by the scanner"});
  v.push_back({.vulnerability = "PYSEC-2024-1", .status = "under_investigation"});
  v.push_back({.vulnerability = "CVE-2023-9999",
               .packages = {{.name = "libgreet"}, {.name = "hello"}},
               .status = "fixed"});
  return plan;
}

VexInputs vex_inputs() {
  return {.manifest_digest = kManifest, .strata_version = "0.1.0", .debs = {libssl()}};
}

Json document(const specs::Plan& plan = vex_plan()) {
  Result<std::string> text = make_openvex(plan, vex_inputs());
  EXPECT_TRUE(text.ok()) << text.error().to_string();
  return *parse_json(*text, "vex");
}

TEST(OpenVex, NamesTheImageAndPackagesAsTheSbomDoes) {
  Json d = document();
  EXPECT_EQ(d["@context"], "https://openvex.dev/ns/v0.2.0");
  EXPECT_EQ(d["timestamp"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(d["version"], 1);
  EXPECT_EQ(d["author"], "example.com/team/hello maintainers");
  EXPECT_EQ(d["role"], "Document Creator");
  EXPECT_EQ(d["tooling"], "strata 0.1.0");
  ASSERT_EQ(d["statements"].size(), 4u);
  std::string image = oci_purl("example.com/team/hello", kManifest.hex, "amd64", "2.12");
  const Json& s0 = d["statements"][0];
  EXPECT_EQ(s0["vulnerability"],
            Json({{"name", "CVE-2024-3094"}, {"aliases", {"GHSA-rxwq-x6h5-x525"}}}));
  EXPECT_EQ(s0["status"], "not_affected");
  EXPECT_EQ(s0["justification"], "vulnerable_code_not_present");
  EXPECT_EQ(s0["impact_statement"], "hello does not link liblzma");
  EXPECT_FALSE(s0.contains("action_statement"));
  ASSERT_EQ(s0["products"].size(), 1u);
  const Json& product = s0["products"][0];
  EXPECT_EQ(product["@id"], image);
  EXPECT_EQ(product["identifiers"]["purl"], image);
  EXPECT_EQ(product["hashes"]["sha-256"], kManifest.hex);
  EXPECT_EQ(product["subcomponents"],
            Json::array({{{"@id", "pkg:generic/hello@2.12"},
                          {"identifiers", {{"purl", "pkg:generic/hello@2.12"}}}}}));
  const Json& deb = d["statements"][1]["products"][0]["subcomponents"][0];
  EXPECT_EQ(deb["@id"], deb_purl(libssl()));
  EXPECT_EQ(deb["hashes"]["sha-256"], digest_of("libssl3.deb").hex);
  EXPECT_EQ(d["statements"][1]["action_statement"], "upgrade libssl3");
  EXPECT_EQ(d["statements"][1]["status_notes"], "reported by the scanner");
  EXPECT_FALSE(d["statements"][2]["products"][0].contains("subcomponents"))
      << "a statement about the image as a whole";
  EXPECT_EQ(d["statements"][3]["products"][0]["subcomponents"].size(), 2u);
}

TEST(OpenVex, IdIsADigestOfTheContent) {
  Json d = document();
  std::string id = d["@id"];
  Json without = d;
  without.erase("@id");
  EXPECT_EQ(id, "https://strata.dev/vex/example.com/team/hello/sha256-" +
                    sha256_of(*canonical_json(without)).hex);
  EXPECT_EQ(*make_openvex(vex_plan(), vex_inputs()), *canonical_json(d))
      << "canonical, and the same on every call";
  specs::Plan other = vex_plan();
  other.spec.vex.statements[2].status = "fixed";
  EXPECT_NE(document(other)["@id"], id) << "another content, another id";
}

TEST(OpenVex, AuthorFromTheImageAuthorsAnnotationOrLabel) {
  specs::Plan plan = vex_plan();
  plan.spec.image.config.labels[kAuthorsAnnotation] = "Label Author";
  EXPECT_EQ(document(plan)["author"], "Label Author");
  plan.spec.image.annotations[kAuthorsAnnotation] = "Team <sec@example.com>";
  EXPECT_EQ(document(plan)["author"], "Team <sec@example.com>");
}

TEST(OpenVex, IsValidAgainstTheOpenVexSchema) {
  testing::expect_schema_valid(document(), "openvex_json_schema.json");
}

TEST(OpenVex, ADebMissingFromTheLockIsAnInternalError) {
  VexInputs in = vex_inputs();
  in.debs.clear();
  Result<std::string> text = make_openvex(vex_plan(), in);
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error().code(), ErrorCode::kInternal);
  EXPECT_EQ(text.error().message(), "vex: deb 'libssl3' is not among the locked packages");
}

TEST(OpenVex, StatementCarriesTheDocumentAboutTheImage) {
  specs::Plan plan = vex_plan();
  std::string doc = *make_openvex(plan, vex_inputs());
  Result<std::string> text = make_openvex_statement(plan, kManifest, doc);
  ASSERT_TRUE(text.ok()) << text.error().to_string();
  Json s = *parse_json(*text, "statement");
  EXPECT_EQ(s["_type"], "https://in-toto.io/Statement/v1");
  EXPECT_EQ(s["predicateType"], "https://openvex.dev/ns/v0.2.0");
  EXPECT_EQ(
      s["subject"],
      Json::array({{{"name", "example.com/team/hello"}, {"digest", {{"sha256", kManifest.hex}}}}}));
  EXPECT_EQ(*canonical_json(s["predicate"]), doc);
  EXPECT_TRUE(check_statement(s).ok());
}

}  // namespace
}  // namespace strata::attest
