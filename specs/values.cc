#include "specs/values.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>

#include "builder/base/path.h"
#include "specs/suggest.h"

namespace strata::specs {
namespace {

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* without std::regex, whose recursion can overflow the
// stack on long fuzzer inputs.
bool is_name_component(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    size_t run = i;
    while (run < s.size() && is_lower_alnum(s[run])) ++run;
    if (run == i) return false;  // a separator must sit between two alnum runs
    if (run == s.size()) return true;
    std::string_view rest = s.substr(run);
    size_t sep = rest.find_first_not_of(rest[0]);
    std::string_view separator = rest.substr(0, sep);
    bool ok = separator == "." || separator == "_" || separator == "__" ||
              separator.find_first_not_of('-') == std::string_view::npos;
    if (!ok || sep == std::string_view::npos) return false;
    i = run + sep;
  }
  return false;
}

// Parses all of `text` as a non-negative decimal without sign or leading zeros.
std::optional<uint64_t> parse_decimal(std::string_view text) {
  if (text.empty() || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

bool is_image_name(std::string_view s) {
  if (s.empty() || s.size() > 255) return false;
  size_t start = 0;
  while (true) {
    size_t slash = s.find('/', start);
    if (!is_name_component(s.substr(start, slash - start))) return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

bool is_tag(std::string_view s) {
  if (s.empty() || s.size() > 128 || !(is_alnum(s[0]) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return is_alnum(c) || c == '_' || c == '.' || c == '-'; });
}

bool is_entry_name(std::string_view s) {
  if (s.empty() || s.size() > 128 || !is_alnum(s[0])) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return is_alnum(c) || c == '.' || c == '_' || c == '+' || c == '-';
  });
}

bool is_vulnerability_id(std::string_view s) {
  if (s.size() > 128) return false;
  size_t dash = s.find('-');
  if (dash == 0 || dash == std::string_view::npos || dash + 1 == s.size()) return false;
  std::string_view prefix = s.substr(0, dash), id = s.substr(dash + 1);
  auto all = [](std::string_view t, auto pred) { return std::all_of(t.begin(), t.end(), pred); };
  if (prefix == "CVE") {
    // CVE-YYYY-NNNN…: the CVE program's syntax since 2014 (4 or more sequence digits).
    return id.size() >= 9 && id[4] == '-' && all(id.substr(0, 4), is_digit) &&
           all(id.substr(5), is_digit);
  }
  if (prefix == "GHSA") {
    auto is_ghsa = [](char c) {
      return std::string_view("23456789cfghjmpqrvwx").find(c) != std::string_view::npos;
    };
    return id.size() == 14 && id[4] == '-' && id[9] == '-' && all(id.substr(0, 4), is_ghsa) &&
           all(id.substr(5, 4), is_ghsa) && all(id.substr(10), is_ghsa);
  }
  bool upper = prefix[0] >= 'A' && prefix[0] <= 'Z';
  if (!upper || !all(prefix, [](char c) { return (c >= 'A' && c <= 'Z') || is_digit(c); })) {
    return false;
  }
  return is_alnum(id[0]) && all(id, [](char c) {
           return is_alnum(c) || c == '.' || c == '_' || c == ':' || c == '-';
         });
}

bool is_account_name(std::string_view s) {
  if (!s.empty() && s.back() == '$') s.remove_suffix(1);
  if (s.empty() || s.size() > 31 || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return is_lower_alnum(c) || c == '_' || c == '-'; });
}

bool is_shell_name(std::string_view s) {
  if (s.empty() || is_digit(s[0])) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return is_alnum(c) || c == '_'; });
}

bool is_config_env_name(std::string_view s) {
  return !s.empty() && s.find('=') == std::string_view::npos &&
         s.find('\0') == std::string_view::npos;
}

Result<uint32_t> parse_mode(std::string_view text) {
  bool octal = (text.size() == 3 || text.size() == 4) &&
               std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '7'; });
  if (!octal) {
    return Error(ErrorCode::kSpec,
                 fmt::format("'{}' is not an octal mode of 3 or 4 digits like \"0644\"", text));
  }
  uint32_t mode = 0;
  for (char c : text) mode = mode * 8 + static_cast<uint32_t>(c - '0');
  return mode;
}

Result<int64_t> parse_duration_s(std::string_view text) {
  constexpr int64_t kMaxSeconds = 7 * 24 * 3600;
  Error bad(ErrorCode::kSpec,
            fmt::format("'{}' is not a duration like \"90s\", \"30m\", \"1h30m\" or 600", text));
  if (std::optional<uint64_t> plain = parse_decimal(text)) {
    if (*plain == 0 || *plain > kMaxSeconds) return bad;
    return static_cast<int64_t>(*plain);
  }
  int64_t total = 0;
  constexpr std::string_view kUnits = "hms";  // each unit at most once, in this order
  constexpr std::array<int64_t, 3> kUnitSeconds = {3600, 60, 1};
  size_t next_unit = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t digits = i;
    while (digits < text.size() && is_digit(text[digits])) ++digits;
    if (digits == i || digits == text.size() || digits - i > 7) return bad;
    size_t unit = kUnits.find(text[digits]);
    std::optional<uint64_t> n = parse_decimal(text.substr(i, digits - i));
    if (unit == std::string_view::npos || unit < next_unit || !n) return bad;
    total += static_cast<int64_t>(*n) * kUnitSeconds[unit];
    next_unit = unit + 1;
    i = digits + 1;
  }
  if (text.empty() || total <= 0 || total > kMaxSeconds) return bad;
  return total;
}

Result<std::string> normalize_abs_path(std::string_view path) {
  if (path.empty()) return Error(ErrorCode::kSpec, "is empty");
  if (path[0] != '/') {
    return Error(ErrorCode::kSpec, fmt::format("'{}' must be an absolute path", path));
  }
  if (path.find('\0') != std::string_view::npos) {
    return Error(ErrorCode::kSpec, fmt::format("'{}' contains a NUL byte", path));
  }
  std::string_view body = path.substr(1);
  if (!body.empty() && body.back() == '/') body.remove_suffix(1);
  if (body.empty()) return std::string("/");
  for (std::string_view part : path_segments(body)) {
    if (part.empty()) {
      return Error(ErrorCode::kSpec, fmt::format("'{}' has an empty component", path));
    }
    if (part == "." || part == "..") {
      return Error(ErrorCode::kSpec, fmt::format("'{}' must not contain '{}'", path, part));
    }
  }
  return "/" + std::string(body);
}

Result<std::string> normalize_rel_path(std::string_view path) {
  if (path.empty()) return Error(ErrorCode::kSpec, "is empty");
  if (path[0] == '/') {
    return Error(ErrorCode::kSpec,
                 fmt::format("'{}' must be relative to the spec's directory", path));
  }
  if (path_escape(path) == PathEscape::kDotDot) {
    return Error(ErrorCode::kSpec,
                 fmt::format("'{}' must stay inside the spec's directory (no '..')", path));
  }
  std::string out = join_components(path_components(path));
  if (out.empty()) return std::string(".");
  return out;
}

Result<std::string> normalize_port(std::string_view port) {
  std::string_view number = port.substr(0, port.find('/'));
  std::string_view protocol = number.size() < port.size() ? port.substr(number.size() + 1) : "tcp";
  std::optional<uint64_t> n = parse_decimal(number);
  if (!n || *n < 1 || *n > 65535 || (protocol != "tcp" && protocol != "udp")) {
    return Error(ErrorCode::kSpec,
                 fmt::format("'{}' is not a port like \"8080\", \"8080/tcp\" or \"53/udp\"", port));
  }
  return fmt::format("{}/{}", *n, protocol);
}

Result<void> check_signal(std::string_view signal) {
  static const std::vector<std::string> kNames = {
      "SIGABRT",  "SIGALRM", "SIGBUS",    "SIGCHLD",  "SIGCONT", "SIGFPE",  "SIGHUP",
      "SIGILL",   "SIGINT",  "SIGIO",     "SIGKILL",  "SIGPIPE", "SIGPROF", "SIGPWR",
      "SIGQUIT",  "SIGSEGV", "SIGSTKFLT", "SIGSTOP",  "SIGSYS",  "SIGTERM", "SIGTRAP",
      "SIGTSTP",  "SIGTTIN", "SIGTTOU",   "SIGURG",   "SIGUSR1", "SIGUSR2", "SIGVTALRM",
      "SIGWINCH", "SIGXCPU", "SIGXFSZ",   "SIGRTMIN", "SIGRTMAX"};
  if (std::optional<uint64_t> n = parse_decimal(signal); n && *n >= 1 && *n <= 64) return Ok{};
  if (std::find(kNames.begin(), kNames.end(), signal) != kNames.end()) return Ok{};
  for (std::string_view base : {"SIGRTMIN+", "SIGRTMAX-"}) {
    if (signal.starts_with(base)) {
      std::optional<uint64_t> n = parse_decimal(signal.substr(base.size()));
      if (n && *n >= 1 && *n <= 30) return Ok{};
    }
  }
  std::string hint = did_you_mean(signal, kNames);
  std::string prefixed = "SIG" + std::string(signal);
  if (std::find(kNames.begin(), kNames.end(), prefixed) != kNames.end()) {
    hint = "; did you mean '" + prefixed + "'?";  // "TERM": Docker accepts it, OCI does not
  }
  return Error(ErrorCode::kSpec, fmt::format("'{}' is not a signal name like \"SIGTERM\" or a "
                                             "number 1..64{}",
                                             signal, hint));
}

Result<std::pair<std::string, Digest>> parse_pinned_image(std::string_view text,
                                                          bool allow_unpinned) {
  size_t at = text.rfind('@');
  Error bad(
      ErrorCode::kSpec,
      fmt::format("'{}' is not an image pinned by digest like \"./layout@sha256:<64 hex>\"", text));
  if (allow_unpinned && at == std::string_view::npos && !text.empty()) {
    return std::pair(std::string(text), Digest{});
  }
  if (at == std::string_view::npos || at == 0) return bad;
  Result<Digest> digest = Digest::parse(text.substr(at + 1));
  if (!digest.ok()) return bad;
  return std::pair(std::string(text.substr(0, at)), *digest);
}

Result<ImageRef> parse_image_ref(std::string_view text, bool allow_unpinned) {
  if (!has_docker_transport(text)) {
    STRATA_TRY_ASSIGN(auto pinned, parse_pinned_image(text, allow_unpinned));
    return ImageRef{.path = std::move(pinned.first), .digest = pinned.second};
  }
  STRATA_TRY_ASSIGN(RegistryRef registry, parse_registry_ref(text));
  if (!registry.digest && !allow_unpinned) {
    return Error(ErrorCode::kSpec,
                 fmt::format("'{}' is not pinned: add \"@sha256:<64 hex>\" (the digest of its "
                             "index or manifest; `strata pin` writes it)",
                             text));
  }
  ImageRef ref{.digest = registry.digest.value_or(Digest{})};
  ref.registry = std::move(registry);
  return ref;
}

const std::vector<std::string>& goarch_names() {
  static const std::vector<std::string> kNames = {
      "386",      "amd64",  "arm",   "arm64",   "loong64", "mips", "mips64",
      "mips64le", "mipsle", "ppc64", "ppc64le", "riscv64", "s390x"};
  return kNames;
}

Result<std::string> goarch_for_machine(std::string_view machine) {
  static const std::array<std::pair<std::string_view, std::string_view>, 12> kMap = {
      {{"x86_64", "amd64"},
       {"i386", "386"},
       {"i486", "386"},
       {"i586", "386"},
       {"i686", "386"},
       {"aarch64", "arm64"},
       {"armv7l", "arm"},
       {"armv6l", "arm"},
       {"ppc64le", "ppc64le"},
       {"s390x", "s390x"},
       {"riscv64", "riscv64"},
       {"loongarch64", "loong64"}}};
  for (const auto& [uname, goarch] : kMap) {
    if (uname == machine) return std::string(goarch);
  }
  return Error(ErrorCode::kUnsupported,
               fmt::format("unknown machine '{}': set image.architecture explicitly", machine));
}

}  // namespace strata::specs
