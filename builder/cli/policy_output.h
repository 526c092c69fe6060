// What `strata policy check` and `strata verify --policy` share (docs/policy.md): the --key
// keys as trusted signers, a registry image's referrers as evidence, and the report printed
// one rule a line.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "builder/cli/registry_flags.h"
#include "builder/policy/evaluate.h"

namespace strata::builder::cli {

// The --key files (usage errors name the file).
Result<std::vector<policy::TrustedKey>> load_trusted_keys(const std::vector<std::string>& paths);

// Every referrer of `manifest` in ref's repository that is an attestation (provenance,
// SBOM, VEX) added to the evidence.
Result<void> add_referrers(registry::RegistryClient& client, const specs::RegistryRef& ref,
                           const Digest& manifest, policy::ImageEvidence& evidence);

// "ok   RULE: evidence" / "FAIL RULE: evidence" lines to `out`, each rule's details indented
// below it (a failure's after the first, which is its evidence), at most 20 a rule.
void print_policy_rules(std::FILE* out, const policy::PolicyReport& report);

// The last stdout line: "policy FILE passed: N rules for sha256:…" or "policy FILE failed:
// RULE, RULE".
void print_policy_summary(const std::string& file, const policy::PolicyReport& report,
                          const Digest& manifest);

}  // namespace strata::builder::cli
