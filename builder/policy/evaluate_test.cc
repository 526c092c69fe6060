#include "builder/policy/evaluate.h"

#include <gtest/gtest.h>

#include "attest/dsse.h"
#include "attest/provenance.h"
#include "tests/support/attest_plan.h"

namespace strata::builder::policy {
namespace {

using attest::testing::digest_of;

const Digest kImage = digest_of("manifest");

std::string provenance(const Digest& subject = kImage, std::string version = "0.1.0",
                       bool pinned_environment = true) {
  specs::Plan plan = attest::testing::full_plan();
  if (!pinned_environment) {
    plan.spec.environment.rootfs = specs::RootfsKind::kHost;
    plan.spec.environment.image.reset();
  }
  attest::ProvenanceInputs in{.manifest_digest = subject,
                              .spec_path = "strata.yaml",
                              .spec_sha256 = digest_of("spec"),
                              .parameters = {.compression = "gzip", .sbom_format = "spdx"},
                              .strata_version = std::move(version),
                              .strata_sha256 = digest_of("strata")};
  return *attest::make_provenance(plan, in);
}

struct Signer {
  attest::PrivateKey key = *attest::PrivateKey::generate(attest::KeyType::kEd25519);
  TrustedKey trusted(std::string name) const { return {std::move(name), *key.public_key()}; }
  std::string sign(const std::string& statement) const {
    return *attest::sign_envelope(attest::kInTotoPayloadType, statement, key);
  }
};

ImageEvidence evidence() {
  ImageEvidence e{.source = "out/hello", .name = "hello", .manifest = kImage};
  e.config = {{"config", {{"User", "65532:65532"}}}};
  e.size_bytes = 1000;
  e.layer_count = 1;
  return e;
}

Policy policy(std::string_view rules) {
  auto p = parse_policy("apiVersion: strata.dev/policy/v1\nrules:\n" + std::string(rules), "p.yaml",
                        "/nonexistent");
  EXPECT_TRUE(p.ok()) << p.error().to_string();
  return p.ok() ? *p : Policy{};
}

RuleResult only(const Policy& p, const ImageEvidence& e, const std::vector<TrustedKey>& keys = {}) {
  auto r = evaluate_policy(p, e, keys);
  EXPECT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->results.size(), 1u);
  return r->results.empty() ? RuleResult{} : r->results[0];
}

Attestation plain_provenance(std::string bytes = provenance()) {
  return {AttestationKind::kProvenance, false, "out/hello.provenance.json", std::move(bytes)};
}

TEST(PolicyEvaluate, NonRootUser) {
  Policy p = policy("  nonRootUser: true\n");
  ImageEvidence e = evidence();
  RuleResult r = only(p, e);
  EXPECT_TRUE(r.passed);
  EXPECT_EQ(r.evidence, "user is '65532:65532' (config.User)");
  for (const char* root : {"root", "0", "0:0", "root:wheel"}) {
    e.config["config"]["User"] = root;
    r = only(p, e);
    EXPECT_FALSE(r.passed) << root;
    EXPECT_EQ(r.evidence, fmt::format("user is '{}' (config.User)", root));
  }
  e.config = Json::object();
  EXPECT_EQ(only(p, e).evidence,
            "user is unset (config.User is empty: the container runs as root)");
}

TEST(PolicyEvaluate, SetuidFilesAndSize) {
  ImageEvidence e = evidence();
  EXPECT_EQ(only(policy("  noSetuidFiles: true\n"), e).evidence,
            "no setuid or setgid file in 1 layer");
  e.setid_files = {{"/bin/su", 04755, 0}, {"/usr/bin/wall", 02755, 0}};
  RuleResult r = only(policy("  noSetuidFiles: true\n"), e);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.evidence, "/bin/su is setuid (mode 4755, layer 1)");
  EXPECT_EQ(r.details[1], "/usr/bin/wall is setgid (mode 2755, layer 1)");

  EXPECT_TRUE(only(policy("  maxImageSize: 1000\n"), e).passed);
  r = only(policy("  maxImageSize: 999\n"), e);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.evidence,
            "1000 bytes (config and 1 layer, as stored) is more than maxImageSize 999 (999 bytes)");
}

TEST(PolicyEvaluate, ProvenanceRules) {
  ImageEvidence e = evidence();
  e.attestations.push_back(plain_provenance());
  RuleResult r =
      only(policy("  builder: {id: https://strata.dev/builder/local/v1, minVersion: 0.1}\n"), e);
  EXPECT_TRUE(r.passed) << r.evidence;
  EXPECT_EQ(r.evidence,
            "builder https://strata.dev/builder/local/v1, strata 0.1.0 (unsigned provenance "
            "out/hello.provenance.json)");
  r = only(policy("  builder: {minVersion: 0.2.0}\n"), e);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.evidence,
            "strata 0.1.0 is older than minVersion 0.2.0 (unsigned provenance "
            "out/hello.provenance.json)");
  r = only(policy("  builder: {id: https://ci.example/builder}\n"), e);
  EXPECT_EQ(r.evidence,
            "builder id https://strata.dev/builder/local/v1 is not "
            "https://ci.example/builder (unsigned provenance out/hello.provenance.json)");

  r = only(policy("  pinnedEnvironment: true\n"), e);
  EXPECT_TRUE(r.passed);
  EXPECT_EQ(r.evidence.substr(0, 34), "environment image ./toolchain@sha2");

  r = only(policy("  sources: {allowedHosts: [example.org], allowPaths: true}\n"), e);
  EXPECT_TRUE(r.passed) << r.evidence;
  r = only(policy("  sources: {allowedHosts: [ftp.gnu.org]}\n"), e);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.evidence,
            "source 'hello-src' (https://example.org/hello-2.12.tar.gz): host "
            "example.org is not allowed, and no allowed prefix matches");
  EXPECT_EQ(r.details[1],
            "source 'patches' (path patches/): a local path source is not allowed "
            "(allowPaths is not set)");

  ImageEvidence host = evidence();
  host.attestations.push_back(plain_provenance(provenance(kImage, "0.1.0", false)));
  r = only(policy("  pinnedEnvironment: true\n"), host);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.evidence,
            "no environment-image in the provenance: the build environment was the "
            "host's root filesystem (rootfs: host) (unsigned provenance "
            "out/hello.provenance.json)");
}

TEST(PolicyEvaluate, ProvenanceOfAnotherImageIsNotEvidence) {
  ImageEvidence e = evidence();
  e.attestations.push_back(plain_provenance(provenance(digest_of("other"))));
  RuleResult r = only(policy("  pinnedEnvironment: true\n"), e);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.evidence, fmt::format("no usable provenance: out/hello.provenance.json: it is "
                                    "about {}, the image is {}",
                                    digest_of("other").str(), kImage.str()));
  EXPECT_EQ(only(policy("  pinnedEnvironment: true\n"), evidence()).evidence.substr(0, 20),
            "no provenance found ");
}

TEST(PolicyEvaluate, SignedBy) {
  Signer a, b;
  ImageEvidence e = evidence();
  e.attestations.push_back(
      {AttestationKind::kProvenance, true, "out/hello.provenance.dsse.json", a.sign(provenance())});
  Policy all = policy("  signedBy: {require: all}\n  builder: {minVersion: 0.1.0}\n");
  auto r = evaluate_policy(all, e, {a.trusted("a.pub")});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->passed());
  EXPECT_EQ(r->results[0].evidence.substr(0, 37), "the provenance is signed by ed25519 k");
  // The builder rule read the signed provenance.
  EXPECT_NE(r->results[1].evidence.find("signed by ed25519 key"), std::string::npos);

  r = evaluate_policy(all, e, {a.trusted("a.pub"), b.trusted("b.pub")});
  EXPECT_FALSE(r->passed());
  EXPECT_NE(r->results[0].evidence.find("is not signed by ed25519 key"), std::string::npos);
  EXPECT_NE(r->results[0].evidence.find("(b.pub)"), std::string::npos);

  Policy any = policy("  signedBy: {require: any}\n");
  EXPECT_TRUE(only(any, e, {b.trusted("b.pub"), a.trusted("a.pub")}).passed);
  EXPECT_FALSE(only(any, e, {b.trusted("b.pub")}).passed);
  EXPECT_EQ(only(any, e).evidence,
            "no keys to check the signature with: give signedBy.keys or --key");

  ImageEvidence unsigned_only = evidence();
  unsigned_only.attestations.push_back(plain_provenance());
  EXPECT_EQ(only(any, unsigned_only, {a.trusted("a.pub")}).evidence.substr(0, 50),
            "the provenance is not signed: no DSSE envelope (NA");

  // A signature over another image's provenance is no signature of this one.
  ImageEvidence other = evidence();
  other.attestations.push_back(
      {AttestationKind::kProvenance, true, "x.dsse.json", a.sign(provenance(digest_of("other")))});
  EXPECT_FALSE(only(any, other, {a.trusted("a.pub")}).passed);
}

TEST(PolicyEvaluate, Licenses) {
  ImageEvidence e = evidence();
  Json spdx = {{"packages",
                {{{"name", "hello"},
                  {"primaryPackagePurpose", "CONTAINER"},
                  {"licenseDeclared", "NOASSERTION"}},
                 {{"name", "libgreet"}, {"licenseDeclared", "MIT"}},
                 {{"name", "gpl-thing"}, {"licenseDeclared", "GPL-3.0-only OR Apache-2.0"}},
                 {{"name", "mystery"}, {"licenseDeclared", "NOASSERTION"}}}}};
  e.attestations.push_back({AttestationKind::kSpdx, false, "out/hello.spdx.json", spdx.dump()});
  RuleResult r = only(policy("  licenses: {allow: [MIT, Apache-2.0]}\n"), e);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.evidence,
            "package 'mystery' declares no licence (set allowUnknown: true to "
            "accept that) (SBOM out/hello.spdx.json)");
  r = only(policy("  licenses: {allow: [MIT, Apache-2.0], allowUnknown: true}\n"), e);
  EXPECT_TRUE(r.passed) << r.evidence;
  EXPECT_EQ(r.evidence, "3 packages in the SBOM out/hello.spdx.json, all allowed");
  r = only(policy("  licenses: {allow: [MIT], allowUnknown: true}\n"), e);
  EXPECT_EQ(r.evidence,
            "package 'gpl-thing' (GPL-3.0-only OR Apache-2.0): no branch of the OR "
            "is allowed (GPL-3.0-only is not allowed; Apache-2.0 is not allowed) "
            "(SBOM out/hello.spdx.json)");
  r = only(policy("  licenses: {deny: [GPL-3.0-only, Apache-2.0]}\n"), e);
  EXPECT_FALSE(r.passed);

  ImageEvidence cdx = evidence();
  Json doc = {
      {"components",
       {{{"name", "a"},
         {"type", "library"},
         {"licenses", {{{"expression", "MIT AND BSD-3-Clause"}}}}},
        {{"name", "b"}, {"type", "library"}, {"licenses", {{{"license", {{"id", "Zlib"}}}}}}}}}};
  cdx.attestations.push_back(
      {AttestationKind::kCycloneDx, false, "out/hello.cdx.json", doc.dump()});
  EXPECT_TRUE(only(policy("  licenses: {allow: [MIT, BSD-3-Clause, Zlib]}\n"), cdx).passed);
  r = only(policy("  licenses: {allow: [MIT, Zlib]}\n"), cdx);
  EXPECT_EQ(r.evidence,
            "package 'a' ((MIT AND BSD-3-Clause)): BSD-3-Clause is not allowed (SBOM "
            "out/hello.cdx.json)");
  EXPECT_EQ(only(policy("  licenses: {allow: [MIT]}\n"), evidence()).evidence.substr(0, 13),
            "no SBOM found");
}

std::string openvex(const Digest& image, const std::string& vuln, const std::string& status) {
  Json doc = {{"@context", "https://openvex.dev/ns/v0.2.0"},
              {"@id", "https://strata.dev/vex/x"},
              {"author", "test"},
              {"timestamp", "2023-11-14T22:13:20Z"},
              {"version", 1},
              {"statements",
               {{{"vulnerability", {{"name", vuln}}},
                 {"products", {{{"@id", "pkg:oci/hello@sha256%3A" + image.hex + "?arch=amd64"}}}},
                 {"status", status},
                 {"justification", "vulnerable_code_not_present"}}}}};
  return doc.dump();
}

std::string vex_statement(const std::string& doc, const Digest& image) {
  Json s = {{"_type", "https://in-toto.io/Statement/v1"},
            {"subject", {{{"name", "hello"}, {"digest", {{"sha256", image.hex}}}}}},
            {"predicateType", kOpenVexPredicateType},
            {"predicate", Json::parse(doc)}};
  return s.dump();
}

TEST(PolicyEvaluate, KnownVulnerabilitiesNeedASignedVex) {
  Signer vendor, stranger;
  Policy p = policy("  knownVulnerabilities: {ids: [CVE-2024-0001]}\n");
  std::string doc = openvex(kImage, "CVE-2024-0001", "not_affected");

  ImageEvidence signed_vex = evidence();
  signed_vex.attestations.push_back({AttestationKind::kVex, true, "out/hello.openvex.dsse.json",
                                     vendor.sign(vex_statement(doc, kImage))});
  RuleResult r = only(p, signed_vex, {vendor.trusted("vendor.pub")});
  EXPECT_TRUE(r.passed) << r.evidence;
  EXPECT_NE(r.details[0].find("CVE-2024-0001: not_affected in out/hello.openvex.dsse.json (signed "
                              "by ed25519 key"),
            std::string::npos)
      << r.details[0];

  r = only(p, signed_vex, {stranger.trusted("stranger.pub")});
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.evidence,
            "CVE-2024-0001: not_affected only in out/hello.openvex.dsse.json (its "
            "signature verifies with no trusted key): an unsigned or untrusted VEX "
            "does not count");

  ImageEvidence unsigned_vex = evidence();
  unsigned_vex.attestations.push_back(
      {AttestationKind::kVex, false, "out/hello.openvex.json", doc});
  r = only(p, unsigned_vex, {vendor.trusted("vendor.pub")});
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.evidence,
            "CVE-2024-0001: not_affected only in out/hello.openvex.json (unsigned): an "
            "unsigned or untrusted VEX does not count");

  ImageEvidence affected = evidence();
  affected.attestations.push_back(
      {AttestationKind::kVex, true, "v.dsse.json",
       vendor.sign(vex_statement(openvex(kImage, "CVE-2024-0001", "affected"), kImage))});
  r = only(p, affected, {vendor.trusted("vendor.pub")});
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.evidence.find("affected in v.dsse.json"), std::string::npos);
  EXPECT_NE(r.evidence.find("(must be fixed or not_affected)"), std::string::npos);

  // A VEX about another image says nothing about this one.
  ImageEvidence other = evidence();
  other.attestations.push_back(
      {AttestationKind::kVex, true, "v.dsse.json",
       vendor.sign(vex_statement(openvex(digest_of("other"), "CVE-2024-0001", "fixed"), kImage))});
  r = only(p, other, {vendor.trusted("vendor.pub")});
  EXPECT_EQ(r.evidence, "CVE-2024-0001: no statement about this image in a signed VEX");
  EXPECT_EQ(only(p, evidence()).evidence,
            "no keys to check a VEX signature with: give knownVulnerabilities.keys or --key");
}

TEST(PolicyEvaluate, ReproducedOnlyUnderVerify) {
  Policy p = policy("  reproduced: true\n");
  ImageEvidence e = evidence();
  RuleResult r = only(p, e);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.evidence, "not decidable without a rebuild: only strata verify --policy checks it");
  e.reproduced = true;
  e.reproduced_detail = "reproduced sha256:ab";
  r = only(p, e);
  EXPECT_TRUE(r.passed);
  EXPECT_EQ(r.evidence, "reproduced sha256:ab");
}

TEST(PolicyEvaluate, MissingPolicyKeyIsLocated) {
  Policy p = policy("  signedBy: {keys: [missing.pub]}\n");
  auto r = evaluate_policy(p, evidence(), {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kSpec);
  EXPECT_EQ(r.error().message().substr(0, 47), "p.yaml:3:21: error: key /nonexistent/missing.pu");
}

TEST(PolicyEvaluate, JsonReport) {
  Policy p = policy("  nonRootUser: true\n  maxImageSize: 10\n");
  ImageEvidence e = evidence();
  auto r = evaluate_policy(p, e, {});
  Json j = report_to_json(p, e, *r);
  EXPECT_EQ(j["passed"], false);
  EXPECT_EQ(j["image"]["manifest"], kImage.str());
  ASSERT_EQ(j["rules"].size(), 2u);
  EXPECT_EQ(j["rules"][0]["rule"], "nonRootUser");
  EXPECT_EQ(j["rules"][0]["passed"], true);
  EXPECT_EQ(j["rules"][1]["line"], 4);
  EXPECT_EQ(j["policy"]["sha256"], p.sha256.str());
}

TEST(PolicyEvaluate, Versions) {
  EXPECT_LT(compare_versions("0.1.9", "0.1.10"), 0);
  EXPECT_EQ(compare_versions("1.0", "1.0.0"), 0);
  EXPECT_GT(compare_versions("2.0.0", "1.99.99"), 0);
  EXPECT_LT(compare_versions("1.0.0-rc1", "1.0.0"), 0);
}

}  // namespace
}  // namespace strata::builder::policy
