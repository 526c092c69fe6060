// SPDX license expressions (SPDX 2.3 annex D: ids, `+`, `WITH` exceptions, `AND`, `OR`,
// parentheses) judged against a policy's allow and deny lists: an OR passes when any branch
// passes (the recipient may choose it), an AND only when every part passes, `X WITH E` as
// X (or as the exact text "X WITH E" when the allow list names it). See docs/policy.md.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "builder/base/result.h"

namespace strata::builder::policy {

struct LicenseVerdict {
  bool allowed = false;
  std::string reason;  // for a refusal: the id that decided it ("GPL-3.0-only is denied")
};

// kInvalidInput for text that is not an expression ("unbalanced '('", "expected a license
// id after WITH"). `allow` empty: every id that is not denied is allowed. Ids compare
// case-insensitively, as SPDX says they do.
Result<LicenseVerdict> judge_license(std::string_view expression,
                                     const std::vector<std::string>& allow,
                                     const std::vector<std::string>& deny);

}  // namespace strata::builder::policy
