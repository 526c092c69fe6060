// Field helpers shared by the section parsers (see sections.h).
#include <fmt/format.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "builder/base/path.h"
#include "specs/inputs.h"
#include "specs/internal/sections.h"
#include "specs/suggest.h"
#include "specs/values.h"

namespace strata::specs::internal {
namespace {

std::string join_options(const std::vector<std::string>& options) {
  std::string out;
  for (size_t i = 0; i < options.size(); ++i) {
    if (i > 0) out += i + 1 == options.size() ? " or " : ", ";
    out += options[i];
  }
  return out;
}

}  // namespace

std::optional<std::string> read_abs_path(Reader& r, const Value& v, std::string_view key) {
  std::optional<std::string> text = read_string(r, v);
  if (!text) return std::nullopt;
  Result<std::string> path = normalize_abs_path(*text);
  if (!path.ok()) {
    r.error(v.loc, fmt::format("{} {}", key, path.error().message()));
    return std::nullopt;
  }
  return *path;
}

std::optional<uint32_t> read_mode(Reader& r, const Value& v) {
  // A plain `mode: 0644` is read from the text as written, so it means octal 0644 whatever
  // YAML version another tool assumes; quoting it ("0644") is still recommended.
  std::optional<std::string> text = read_string(r, v);
  if (!text) return std::nullopt;
  Result<uint32_t> mode = parse_mode(*text);
  if (!mode.ok()) {
    r.error(v.loc, "mode " + mode.error().message());
    return std::nullopt;
  }
  return *mode;
}

std::optional<int64_t> read_id(Reader& r, const Value& v) { return read_int(r, v, 0, 4294967294); }

std::optional<std::string> read_enum(Reader& r, const Value& v, std::string_view what,
                                     const std::vector<std::string>& options) {
  std::optional<std::string> text = read_string(r, v);
  if (!text) return std::nullopt;
  if (std::find(options.begin(), options.end(), *text) != options.end()) return text;
  r.error(v.loc, fmt::format("'{}' is not a valid {} (expected {}){}", *text, what,
                             join_options(options), did_you_mean(*text, options)));
  return std::nullopt;
}

std::map<std::string, std::string> read_env(Reader& r, const Value& v, EnvKind kind) {
  // The sandbox sets these itself (docs/design.md "The sandbox contract"); letting a spec change
  // them would break the build's isolation or its reproducibility.
  static const std::vector<std::string> kReserved = {"DESTDIR", "SOURCE_DATE_EPOCH", "JOBS", "HOME",
                                                     "TMPDIR"};
  std::map<std::string, std::string> env;
  for (Entry& e : read_string_map(r, v)) {
    if (kind == EnvKind::kBuild && !is_shell_name(e.key)) {
      r.error(e.key_loc, fmt::format("'{}' is not a valid environment variable name "
                                     "(letters, digits and '_', not starting with a digit)",
                                     e.key));
    } else if (kind == EnvKind::kConfig && !is_config_env_name(e.key)) {
      r.error(e.key_loc, fmt::format("'{}' is not a valid environment variable name "
                                     "(non-empty, without '=')",
                                     e.key));
    } else if (kind == EnvKind::kBuild &&
               std::find(kReserved.begin(), kReserved.end(), e.key) != kReserved.end()) {
      r.error(e.key_loc, fmt::format("'{}' is set by strata in the build sandbox and cannot be "
                                     "overridden",
                                     e.key));
    } else {
      env[e.key] = std::move(e.value);
    }
  }
  return env;
}

std::map<std::string, std::string> read_labels(Reader& r, const Value& v) {
  std::map<std::string, std::string> labels;
  for (Entry& e : read_string_map(r, v)) {
    if (e.key.empty()) {
      r.error(e.key_loc, "keys must not be empty");
      continue;
    }
    labels[e.key] = std::move(e.value);
  }
  return labels;
}

std::optional<bool> check_local_file(const Context& c, const Value& v, std::string_view key,
                                     const std::string& path, bool allow_dir) {
  std::string full = normal_path(std::filesystem::path(c.dir) / path);
  struct stat st {};
  if (::stat(full.c_str(), &st) != 0) {
    std::string why = errno == ENOENT ? "does not exist" : std::strerror(errno);
    c.reader.error(v.loc, fmt::format("{} '{}' {} (looked in {})", key, path, why, full));
    return std::nullopt;
  }
  // An absolute path (a `path:` source only) names a host file explicitly, pinned by sha256;
  // a relative one must resolve beneath the spec's context, which is checked here, at
  // validate time, and again when the build reads it.
  if (!path.starts_with('/')) {
    Result<std::string> host = resolve_local_input(c.root, c.dir, path);
    if (!host.ok()) {
      c.reader.error(v.loc, fmt::format("{} '{}': {}", key, path, host.error().message()));
      return std::nullopt;
    }
  }
  bool is_dir = S_ISDIR(st.st_mode);
  if (!S_ISREG(st.st_mode) && !(allow_dir && is_dir)) {
    c.reader.error(v.loc, fmt::format("{} '{}' is not a regular file{} ({})", key, path,
                                      allow_dir ? " or a directory" : "", full));
    return std::nullopt;
  }
  return is_dir;
}

std::optional<std::string> read_rel_path(const Context& c, const Value& v, std::string_view key,
                                         const std::string& text) {
  Result<std::string> rel = normalize_rel_path(text);
  // Under a wider --context, ".." may lead up to it; resolve_local_input checks where.
  if (!rel.ok() && c.root != c.dir && path_escape(text) == PathEscape::kDotDot) {
    rel = join_components(path_components(text));
  }
  if (!rel.ok()) {
    c.reader.error(v.loc, fmt::format("{} {}", key, rel.error().message()));
    return std::nullopt;
  }
  return *std::move(rel);
}

void check_unique(Reader& r, std::map<std::string, Loc>& seen, const std::string& name,
                  const Loc& loc, std::string_view what) {
  auto [it, inserted] = seen.emplace(name, loc);
  if (!inserted) {
    r.error(loc, fmt::format("duplicate {} '{}' (first declared on line {})", what, name,
                             it->second.line));
  }
}

}  // namespace strata::specs::internal
