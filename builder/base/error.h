// strata::Error: the one error type every stage returns, with an optional spec location
// and errno. Only main() turns an Error into output and an exit code.
#pragma once

#include <fmt/core.h>

#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>

namespace strata {

// What went wrong, which also picks the exit code (docs/design.md "Commands": 0 ok, 1 build or
// verification failed, 2 spec or usage error, 3 host unsupported).
enum class ErrorCode {
  kSpec,            // the spec is wrong (exit 2)
  kUsage,           // the command line, or a caller's sandbox::Config, is wrong (exit 2)
  kIo,              // a file or system call failed (exit 1)
  kInvalidInput,    // input data is malformed or hostile, e.g. an archive entry (exit 1)
  kSandbox,         // setting up or running the sandbox failed (exit 1)
  kBuild,           // a build step failed (exit 1)
  kDigestMismatch,  // content does not match its pinned digest (exit 1)
  kVerification,    // a signature, a provenance document or a subject does not check (exit 1)
  kUnsupported,     // the host lacks something strata needs (exit 3)
  kInternal,        // an outside library failed unexpectedly; a bug in strata is a
                    // STRATA_CHECK instead (exit 1)
};

// A file's name, interned: equal names share one string that lives as long as the process.
// A Loc is copied onto every entry a spec's `files:` mapping makes, a million of them for a
// million-file layer, and as a std::string each copy took 32 bytes and its own heap block
// (docs/sbom.md "What a build holds per file"). The names are the few files strata parses.
class FileName {
 public:
  FileName() = default;
  FileName(std::string_view name);  // NOLINT: a name converts as it is
  FileName(const std::string& name) : FileName(std::string_view(name)) {}  // NOLINT
  FileName(const char* name) : FileName(std::string_view(name)) {}         // NOLINT

  const std::string& str() const { return *name_; }
  operator const std::string&() const { return *name_; }  // NOLINT
  const char* c_str() const { return name_->c_str(); }
  bool empty() const { return name_->empty(); }
  size_t size() const { return name_->size(); }
  bool operator==(const FileName& o) const { return name_ == o.name_; }

 private:
  static const std::string kNone;
  const std::string* name_ = &kNone;
};

std::ostream& operator<<(std::ostream& out, const FileName& name);

// A position in a text file; line and column are 1-based.
struct Loc {
  FileName file;
  int line = 0;
  int column = 0;
};

class Error {
 public:
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Error spec(Loc loc, std::string message);
  // "<what>: <strerror(errnum)>", e.g. "open /x: No such file or directory".
  static Error sys(std::string what, int errnum);
  static Error io(std::string message) { return {ErrorCode::kIo, std::move(message)}; }

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::optional<Loc>& loc() const { return loc_; }
  std::optional<int> sys_errno() const { return errno_; }

  // Prefixes the message with what the caller was doing: "writing layer: <message>".
  Error& with_context(std::string_view context);
  Error&& context(std::string_view ctx) && { return std::move(with_context(ctx)); }

  // Points any error at the spec node it concerns, keeping its code: a digest mismatch stays
  // exit 1 but is printed like a spec error, with the line that pinned the digest.
  Error& with_loc(Loc loc) {
    loc_ = std::move(loc);
    return *this;
  }
  Error&& at(Loc loc) && { return std::move(with_loc(std::move(loc))); }

  // The user-facing text: "file:line:col: error: message" for spec errors, else the message.
  std::string to_string() const;

 private:
  ErrorCode code_;
  std::string message_;
  std::optional<Loc> loc_;
  std::optional<int> errno_;
};

// The process exit code main() uses for an error of this kind (see docs/design.md "Commands").
int exit_code_for(ErrorCode code);

}  // namespace strata

template <>
struct fmt::formatter<strata::FileName> : fmt::formatter<std::string_view> {
  template <typename FormatContext>
  auto format(const strata::FileName& name, FormatContext& ctx) const {
    return fmt::formatter<std::string_view>::format(name.str(), ctx);
  }
};
