#include "attest/vsa.h"

#include <gtest/gtest.h>

#include "attest/provenance.h"
#include "tests/support/attest_plan.h"

namespace strata::attest {
namespace {

using testing::digest_of;

VsaInputs inputs(bool passed) {
  return {.subject_name = "hello",
          .subject = digest_of("manifest"),
          .resource_uri = "file:///srv/images/hello",
          .strata_version = "0.1.0",
          .time_verified = 1700000000,
          .passed = passed,
          .input_attestations = {{"out/hello.provenance.json", digest_of("provenance")}}};
}

TEST(Vsa, PassedSummaryNamesVerifierPolicyAndInputs) {
  Json v = make_vsa(inputs(true));
  auto checked = check_statement(v);
  ASSERT_TRUE(checked.ok()) << checked.error().to_string();
  EXPECT_EQ(v["predicateType"], "https://slsa.dev/verification_summary/v1");
  EXPECT_EQ(v["subject"][0]["digest"]["sha256"], digest_of("manifest").hex);
  const Json& p = v["predicate"];
  EXPECT_EQ(p["verifier"]["id"], "https://strata.dev/verifier/local/v1");
  EXPECT_EQ(p["timeVerified"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(p["resourceUri"], "file:///srv/images/hello");
  EXPECT_EQ(p["policy"]["uri"], "https://strata.dev/policies/rebuild/v1");
  EXPECT_EQ(p["verificationResult"], "PASSED");
  EXPECT_EQ(p["verifiedLevels"], Json::array({"SLSA_BUILD_LEVEL_1", "STRATA_REPRODUCED"}));
  EXPECT_EQ(p["inputAttestations"][0]["digest"]["sha256"], digest_of("provenance").hex);
  EXPECT_EQ(p["slsaVersion"], "1.0");
}

TEST(Vsa, FailedSummaryClaimsNoLevel) {
  Json p = make_vsa(inputs(false))["predicate"];
  EXPECT_EQ(p["verificationResult"], "FAILED");
  EXPECT_EQ(p["verifiedLevels"], Json::array({"FAILED"}));
}

TEST(Vsa, NamesTheUserPolicyWithItsDigest) {
  VsaInputs in = inputs(true);
  Json p = make_vsa(in)["predicate"];
  EXPECT_FALSE(p["policy"].contains("digest"));
  in.policy_uri = "file:///etc/strata/policy.yaml";
  in.policy_sha256 = digest_of("policy");
  p = make_vsa(in)["predicate"];
  EXPECT_EQ(p["policy"], Json({{"uri", "file:///etc/strata/policy.yaml"},
                               {"digest", {{"sha256", digest_of("policy").hex}}}}));
}

}  // namespace
}  // namespace strata::attest
