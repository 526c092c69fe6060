// Spec diagnostics: one located problem in a spec, and the clang/ninja-style report that
// prints each as "file:line:col: error: message", the source line and a caret.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "builder/base/error.h"

namespace strata::specs {

struct Diagnostic {
  Loc loc;  // 1-based line and column (byte column, as yaml-cpp counts)
  std::string message;

  // strata::Loc has no operator==, and base/ is not ours to change.
  bool operator==(const Diagnostic& o) const {
    return loc.file == o.loc.file && loc.line == o.loc.line && loc.column == o.loc.column &&
           message == o.message;
  }
};

// One diagnostic: "file:line:col: error: message", then the source line of `source` at
// loc.line and a caret under loc.column (tabs and UTF-8 sequences in the prefix are kept
// aligned). The source-line part is left out when that line is empty or does not exist.
// No trailing newline.
std::string format_diagnostic(const Diagnostic& diagnostic, std::string_view source);

// Every diagnostic in source order (line, then column; ties keep their order), separated by
// newlines, then "N errors in FILE" when there is more than one. No trailing newline.
std::string format_report(std::vector<Diagnostic> diagnostics, std::string_view source);

// The Error load_spec/parse_spec return: code kSpec, no Error::loc (the locations are in the
// text, so main() prints error.to_string() as is), message = format_report(...).
Error report_error(std::vector<Diagnostic> diagnostics, std::string_view source);

}  // namespace strata::specs
