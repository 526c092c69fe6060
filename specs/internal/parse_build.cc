// The build half of a spec: sources, environment and packages.
#include <fmt/format.h>

#include "specs/internal/sections.h"
#include "specs/values.h"

namespace strata::specs::internal {
namespace {

std::optional<std::string> read_entry_name(Reader& r, const Value& v, std::string_view what) {
  std::optional<std::string> name = read_string(r, v);
  if (name && !is_entry_name(*name)) {
    r.error(v.loc, fmt::format("'{}' is not a valid {} name (letters, digits, '.', '_', '+' and "
                               "'-', starting with a letter or digit)",
                               *name, what));
    return std::nullopt;
  }
  return name;
}

void read_url(Reader& r, const Value& v, Source& s) {
  std::optional<std::string> url = read_string(r, v);
  if (!url) return;
  std::string_view u = *url;
  bool http = u.starts_with("http://") || u.starts_with("https://");
  std::string_view rest = u.substr(u.find("://") == std::string_view::npos ? 0 : u.find("://") + 3);
  if (!http && !u.starts_with("file://")) {
    r.error(v.loc, fmt::format("url '{}' must start with http://, https:// or file://", u));
  } else if (http && (rest.empty() || rest[0] == '/')) {
    r.error(v.loc, fmt::format("url '{}' has no host", u));
  } else if (!http && !rest.starts_with("/")) {
    r.error(v.loc, fmt::format("url '{}' must name an absolute path (file:///path)", u));
  } else {
    s.url = *url;
  }
}

void read_sha256(Reader& r, const Value& v, Source& s) {
  std::optional<std::string> text = read_string(r, v);
  if (!text) return;
  std::string_view hex = *text;
  if (hex.starts_with("sha256:")) hex.remove_prefix(7);
  if (!is_sha256_hex(hex)) {
    r.error(v.loc, fmt::format("sha256 '{}' is not 64 lowercase hex digits", *text));
    return;
  }
  s.sha256 = Digest{std::string(hex)};
}

Source parse_source(Context& c, const Value& v, std::map<std::string, Loc>& names) {
  Reader& r = c.reader;
  MapReader m(r, v, {"name", "url", "path", "sha256", "strip"});
  Source s;
  s.loc = v.loc;
  if (std::optional<Field> f = m.require("name")) {
    s.name = read_entry_name(r, *f, "source").value_or("");
    if (!s.name.empty()) check_unique(r, names, s.name, f->loc, "source");
  }
  std::optional<Field> url = m.get("url");
  std::optional<Field> path = m.get("path");
  if (url && path) {
    r.error(path->key_loc, "a source has either 'url' or 'path', not both");
  } else if (url) {
    read_url(r, *url, s);
  } else if (path) {
    std::optional<std::string> text = read_string(r, *path);
    if (text && text->empty()) r.error(path->loc, "path is empty");
    if (text && !text->empty()) {
      s.path = *text;
      if (c.options.check_files) check_local_file(c, *path, "path", s.path, true);
    }
  } else if (m.ok()) {
    r.error(m.loc(), "missing required key 'url' or 'path'");
  }
  // A path beside the spec may omit sha256: it is pinned by its contents when the build reads
  // it (sources::pin_path_sources). A URL, or an absolute path naming a host file, may not.
  std::optional<Field> sha256 = m.get("sha256");
  if (sha256) {
    read_sha256(r, *sha256, s);
  } else if (path && s.path.starts_with('/')) {
    r.error(path->loc, fmt::format("path '{}' is absolute: a host file must be pinned with "
                                   "sha256 (only a path beside the spec may omit it)",
                                   s.path));
  } else if (!path && m.ok() && !c.options.allow_unpinned) {
    m.require("sha256");
  }
  if (std::optional<Field> f = m.get("strip")) s.strip = read_int(r, *f, 0, 64).value_or(0);
  return s;
}

void read_steps(Reader& r, const MapReader& m, Package& p) {
  std::optional<Field> f = m.require("steps");
  if (!f) return;
  std::vector<Value> steps = read_sequence(r, *f);
  if (steps.empty() && (f->node.IsNull() || f->node.IsSequence())) {
    r.error(f->loc, "a package needs at least one step");
  }
  for (const Value& step : steps) {
    std::optional<std::string> text = read_string(r, step);
    if (text && text->find_first_not_of(" \t\n") == std::string::npos) {
      r.error(step.loc, "a step must not be empty");
    } else if (text) {
      p.steps.push_back(*text);
    }
  }
}

// "1073741824", "512M", "2G" (binary units: K = 1024), from 1M to 1T.
std::optional<int64_t> parse_size_bytes(std::string_view text) {
  constexpr int64_t kMin = int64_t{1} << 20;
  constexpr int64_t kMax = int64_t{1} << 40;
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || digits > 13 || text.size() - digits > 1) return std::nullopt;
  int64_t value = 0;
  for (size_t i = 0; i < digits; ++i) value = value * 10 + (text[i] - '0');
  if (digits < text.size()) {
    constexpr std::string_view kUnits = "KMGT";
    size_t unit = kUnits.find(text[digits]);
    if (unit == std::string_view::npos) return std::nullopt;
    for (size_t i = 0; i <= unit; ++i) {
      if (value > kMax) return std::nullopt;
      value *= 1024;
    }
  }
  if (value < kMin || value > kMax) return std::nullopt;
  return value;
}

void read_tmpfs_size(Reader& r, const Field& f, Package& p) {
  std::optional<std::string> text = read_string(r, f);
  if (!text) return;
  std::optional<int64_t> bytes = parse_size_bytes(*text);
  if (bytes) {
    p.tmpfs_size_bytes = *bytes;
  } else {
    r.error(f.loc, fmt::format("tmpfs_size '{}' is not a size like \"512M\", \"2G\" or a number "
                               "of bytes, from 1M to 1T",
                               *text));
  }
}

Package parse_package(Context& c, const Value& v, std::map<std::string, Loc>& names) {
  Reader& r = c.reader;
  MapReader m(r, v,
              {"name", "version", "license", "sources", "depends", "steps", "env", "timeout",
               "tmpfs_size"});
  Package p;
  p.loc = v.loc;
  if (std::optional<Field> f = m.require("name")) {
    p.name = read_entry_name(r, *f, "package").value_or("");
    if (!p.name.empty()) check_unique(r, names, p.name, f->loc, "package");
  }
  if (std::optional<Field> f = m.get("version")) p.version = read_string(r, *f).value_or("");
  if (std::optional<Field> f = m.get("license")) p.license = read_string(r, *f).value_or("");
  if (std::optional<Field> f = m.get("sources")) p.sources = read_string_list(r, *f);
  if (std::optional<Field> f = m.get("depends")) p.depends = read_string_list(r, *f);
  read_steps(r, m, p);
  if (std::optional<Field> f = m.get("env")) p.env = read_env(r, *f, EnvKind::kBuild);
  if (std::optional<Field> f = m.get("timeout")) {
    if (std::optional<std::string> text = read_string(r, *f)) {
      Result<int64_t> seconds = parse_duration_s(*text);
      if (seconds.ok()) p.timeout_s = *seconds;
      if (!seconds.ok()) r.error(f->loc, "timeout " + seconds.error().message());
    }
  }
  if (std::optional<Field> f = m.get("tmpfs_size")) read_tmpfs_size(r, *f, p);
  return p;
}

}  // namespace

std::vector<Source> parse_sources(Context& c, const Value& v) {
  std::vector<Source> sources;
  std::map<std::string, Loc> names;
  for (const Value& item : read_sequence(c.reader, v)) {
    sources.push_back(parse_source(c, item, names));
  }
  return sources;
}

Environment parse_environment(Context& c, const Value& v) {
  Reader& r = c.reader;
  MapReader m(r, v, {"rootfs", "image", "debs", "env"});
  Environment env;
  env.loc = v.loc;
  std::optional<Field> rootfs = m.get("rootfs");
  // When rootfs itself is wrong, nothing is said about `image` or `debs` on top of it.
  std::optional<std::string> kind =
      rootfs ? read_enum(r, *rootfs, "rootfs", {"host", "image", "debs"}) : "host";
  if (kind == "image") env.rootfs = RootfsKind::kImage;
  if (kind == "debs") env.rootfs = RootfsKind::kDebs;
  std::optional<Field> image = m.get("image");
  if (image && kind && kind != "image") {
    r.error(image->key_loc, fmt::format("'image' is only used with 'rootfs: image'{}",
                                        kind == "debs" ? ", not with 'rootfs: debs'" : ""));
  } else if (image) {
    std::optional<std::string> text = read_string(r, *image);
    Result<ImageRef> ref =
        text ? parse_image_ref(*text, c.options.allow_unpinned) : Error(ErrorCode::kSpec, "");
    if (text && !ref.ok()) r.error(image->loc, "image " + ref.error().message());
    if (ref.ok()) {
      env.image = *std::move(ref);
      env.image->loc = image->loc;
    }
  } else if (kind == "image") {
    r.error(m.loc(), "missing required key 'image' (needed by 'rootfs: image')");
  }
  std::optional<Field> debs = m.get("debs");
  if (debs && kind && kind != "debs") {
    r.error(debs->key_loc, "'debs' is only used with 'rootfs: debs'");
  } else if (debs) {
    env.debs = read_string_list(r, *debs);
    std::map<std::string, Loc> seen;
    for (const Ref& ref : env.debs) {
      if (!is_debian_package_name(ref.name)) {
        r.error(ref.loc, fmt::format("'{}' is not a Debian package name (lowercase letters, "
                                     "digits, '+', '-' and '.')",
                                     ref.name));
      } else if (auto [it, inserted] = seen.emplace(ref.name, ref.loc); !inserted) {
        r.error(ref.loc,
                fmt::format("deb '{}' is already listed (line {})", ref.name, it->second.line));
      }
    }
    bool is_list = debs->node.IsNull() || debs->node.IsSequence();
    if (env.debs.empty() && is_list && debs->node.size() == 0) {
      r.error(debs->loc, "debs is empty: 'rootfs: debs' needs the packages of the toolchain");
    }
  } else if (kind == "debs") {
    r.error(m.loc(), "missing required key 'debs' (needed by 'rootfs: debs')");
  }
  if (std::optional<Field> f = m.get("env")) env.env = read_env(r, *f, EnvKind::kBuild);
  return env;
}

std::vector<Package> parse_packages(Context& c, const Value& v) {
  std::vector<Package> packages;
  std::map<std::string, Loc> names;
  for (const Value& item : read_sequence(c.reader, v)) {
    packages.push_back(parse_package(c, item, names));
  }
  return packages;
}

}  // namespace strata::specs::internal
