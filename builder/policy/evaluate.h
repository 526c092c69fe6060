// Judging an image's evidence (image_evidence.h) by a policy (policy.h): one result per
// rule, pass or fail, with the evidence that decided it (docs/policy.md "Rules").
// Signatures are checked here: a signed provenance or VEX counts only when one of the
// trusted keys verifies it, and only its verified payload is read.
#pragma once

#include <string>
#include <vector>

#include "attest/openssl.h"
#include "builder/base/json.h"
#include "builder/policy/image_evidence.h"
#include "builder/policy/policy.h"

namespace strata::builder::policy {

struct RuleResult {
  std::string rule;  // a kRuleNames entry
  bool passed = false;
  std::string evidence;              // one line: what decided it
  std::vector<std::string> details;  // the items behind it (each failing file, source, …)
  Loc loc;                           // the rule in the policy file
};

struct PolicyReport {
  std::vector<RuleResult> results;  // in kRuleNames order, applied rules only
  bool passed() const;
};

// A named public key: the file it came from, for evidence.
struct TrustedKey {
  std::string name;
  attest::PublicKey key;
};

// The policy's key files loaded: kSpec "POLICY:LINE:COL: error: …" for one that cannot be
// read or parsed.
Result<std::vector<TrustedKey>> load_policy_keys(const std::vector<KeyFile>& files);

// Evaluates every rule `policy` applies. `keys` are the --key keys: the signers trusted for
// the provenance and VEX unless a rule names its own. An Error only for a key file of the
// policy that cannot be loaded; everything about the image is a rule's result.
Result<PolicyReport> evaluate_policy(const Policy& policy, const ImageEvidence& evidence,
                                     const std::vector<TrustedKey>& keys);

// The report as `--json` prints it (docs/policy.md "JSON output";
// tests/schemas/strata-policy-report.schema.json).
Json report_to_json(const Policy& policy, const ImageEvidence& evidence,
                    const PolicyReport& report);

// "1.2.10" vs "1.2.9": numeric dotted comparison (missing parts are 0; a "-suffix" sorts
// before the plain release). <0, 0, >0.
int compare_versions(std::string_view a, std::string_view b);

}  // namespace strata::builder::policy
