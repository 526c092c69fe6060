// Loading a strata/v1 spec: YAML -> specs::Spec with every error located. Implemented with
// yaml-cpp; nothing of yaml-cpp appears in this header.
#pragma once

#include <string>
#include <string_view>

#include "builder/base/result.h"
#include "specs/spec.h"

namespace strata::specs {

// Reads and parses the spec at `path`; relative paths in it resolve against its directory.
// On failure returns an Error with code kSpec whose message is the whole report: every
// problem in the file as "file:line:col: error: message", the source line and a caret.
Result<Spec> load_spec(const std::string& path);

// The same for in-memory YAML; `file` names it in messages, `dir` resolves relative paths.
Result<Spec> parse_spec(std::string_view yaml, const std::string& file, const std::string& dir);

}  // namespace strata::specs
