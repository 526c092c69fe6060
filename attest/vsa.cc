#include "attest/vsa.h"

#include "attest/ids.h"
#include "attest/provenance.h"

namespace strata::attest {

Json make_vsa(const VsaInputs& in) {
  Json inputs = Json::array();
  for (const InputAttestation& a : in.input_attestations) {
    inputs.push_back({{"name", a.name}, {"digest", {{"sha256", a.sha256.hex}}}});
  }
  Json levels =
      in.passed ? Json::array({"SLSA_BUILD_LEVEL_1", kReproducedResult}) : Json::array({"FAILED"});
  Json policy = {{"uri", in.policy_uri}};
  if (in.policy_sha256) policy["digest"] = {{"sha256", in.policy_sha256->hex}};
  Json predicate = {
      {"verifier", {{"id", in.verifier_id}, {"version", {{"strata", in.strata_version}}}}},
      {"timeVerified", rfc3339_utc(in.time_verified)},
      {"resourceUri", in.resource_uri},
      {"policy", std::move(policy)},
      {"inputAttestations", std::move(inputs)},
      {"verificationResult", in.passed ? "PASSED" : "FAILED"},
      {"verifiedLevels", std::move(levels)},
      {"slsaVersion", "1.0"}};
  return {{"_type", kStatementType},
          {"subject", Json::array({statement_subject(in.subject_name, in.subject)})},
          {"predicateType", kVerificationSummaryV1},
          {"predicate", std::move(predicate)}};
}

}  // namespace strata::attest
