// Loading a strata/v1 spec: YAML -> specs::Spec with every error located. Implemented with
// yaml-cpp; nothing of yaml-cpp appears in this header.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "builder/base/result.h"
#include "specs/diagnostics.h"
#include "specs/spec.h"

namespace strata::specs {

// Reads and parses the spec at `path`; relative paths in it resolve against its directory.
// On failure returns an Error with code kSpec whose message is the whole report: every
// problem in the file as "file:line:col: error: message", the source line and a caret, then
// "N errors in FILE" when there are several. The Error carries no loc() (the locations are
// in the message), so Error::to_string() prints the report unchanged. An unreadable file is
// reported as "FILE: error: cannot read spec: <strerror>".
// What a spec may hold, so that any input costs time and memory linear in its size and
// bounded (issue 11 part 9): a larger file, scalar, document or nesting is a located error.
inline constexpr size_t kMaxSpecBytes = 4 << 20;    // the spec file
inline constexpr size_t kMaxScalarBytes = 1 << 20;  // one key or value
inline constexpr size_t kMaxValues = 100000;        // nodes, YAML aliases expanded
inline constexpr int kMaxDepth = 64;                // nested mappings and sequences
inline constexpr size_t kMaxLayers = 127;           // image.layers (overlayfs stacks 128)

struct ParseOptions {
  // Check that files[].src and sources[].path exist next to the spec and resolve beneath
  // its context (specs/inputs.h). Off for the fuzzer and for tools that only look at the text.
  bool check_files = true;
  // --context DIR: the directory local inputs must stay beneath; "" for the spec's own.
  std::string context;
  // `strata pin`: a url source may omit sha256 and a local image (image.base,
  // environment.image) its "@sha256:…", because pin is about to write them. The missing
  // digest is left empty.
  bool allow_unpinned = false;
};

// Also kUsage when options.context does not contain the spec's directory.
Result<Spec> load_spec(const std::string& path, const ParseOptions& options = {});

// The text of the spec at `path`, read the way load_spec reads it (a regular file of at most
// kMaxSpecBytes); the error is load_spec's "FILE: error: cannot read spec: …".
Result<std::string> read_spec_text(const std::string& path);

// The same for in-memory YAML; `file` names it in messages, `dir` resolves relative paths.
Result<Spec> parse_spec(std::string_view yaml, const std::string& file, const std::string& dir,
                        const ParseOptions& options = {});

// The lower-level API under parse_spec: the spec as far as it could be read, and every
// problem found, in the order found (format_report sorts them by position). The spec is
// only meaningful when `diagnostics` is empty.
struct ParseResult {
  Spec spec;
  std::vector<Diagnostic> diagnostics;
  bool ok() const { return diagnostics.empty(); }
};
ParseResult parse_spec_diagnostics(std::string_view yaml, const std::string& file,
                                   const std::string& dir, const ParseOptions& options = {});

}  // namespace strata::specs
