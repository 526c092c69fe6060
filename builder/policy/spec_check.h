// `strata build --policy` (docs/policy.md "Before a build"): the rules a spec already
// decides — where its sources come from, whether its build environment is a pinned image,
// the licences its packages declare — checked before anything is fetched, each violation
// pointing at the spec line that causes it.
#pragma once

#include <string>
#include <vector>

#include "builder/policy/policy.h"
#include "specs/spec.h"

namespace strata::builder::policy {

struct SpecViolation {
  std::string rule;  // a kRuleNames entry
  Loc spec_loc;      // the offending source, environment or package
  Loc policy_loc;    // the rule
  std::string message;
};

// Every violation of the rules `sources`, `pinnedEnvironment` and `licenses` by `spec`, in
// spec order; the other rules need the built image.
std::vector<SpecViolation> check_spec(const Policy& policy, const specs::Spec& spec);

// The kSpec Error `strata build` stops with: "SPEC:L:C: error: policy rule R (POLICY:L):
// message" per violation, with the spec's source line and a caret (specs::format_report).
Error spec_violations_error(const std::vector<SpecViolation>& violations,
                            std::string_view spec_text);

}  // namespace strata::builder::policy
