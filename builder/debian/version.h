// Debian package versions (deb-version(7)): [epoch:]upstream[-revision], compared as dpkg
// compares them, and the relations of Depends fields (<<, <=, =, >=, >>).
#pragma once

#include <string>
#include <string_view>

namespace strata::builder::debian {

// <0, 0 or >0 as `a` sorts before, equal to or after `b` (dpkg --compare-versions). Versions
// that are not well formed are compared by the same rules, as dpkg does with a warning.
int compare_versions(std::string_view a, std::string_view b);

// Whether `version` satisfies `op ref`; `op` is one of "<<", "<=", "=", ">=", ">>" (and the
// obsolete "<" and ">", which mean "<=" and ">=").
bool version_satisfies(std::string_view version, std::string_view op, std::string_view ref);

// A version's grammar: digits-only epoch, an upstream part starting with a digit, and only
// the characters deb-version(7) allows. Used to refuse malformed index entries.
bool is_valid_version(std::string_view version);

}  // namespace strata::builder::debian
