#include "builder/policy/policy.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include "builder/base/fs.h"
#include "builder/base/path.h"
#include "specs/diagnostics.h"
#include "specs/suggest.h"
#include "specs/yaml_tree.h"

namespace strata::builder::policy {
namespace {

using specs::Diagnostic;
using specs::YamlEntry;
using specs::YamlNode;
using Kind = specs::YamlNode::Kind;

// Collects the diagnostics of one policy file.
class Reader {
 public:
  Reader(std::string dir, std::vector<Diagnostic>* out) : dir_(std::move(dir)), out_(out) {}
  void error(const Loc& loc, std::string message) { out_->push_back({loc, std::move(message)}); }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::vector<Diagnostic>* out_;
};

// The entries of a mapping whose keys are all in `keys`, each at most once; anything else is
// reported. nullopt when `node` is not a mapping.
std::optional<std::vector<const YamlEntry*>> read_map(Reader& r, const YamlNode& node,
                                                      const std::vector<std::string>& keys,
                                                      std::string_view what) {
  if (node.kind != Kind::kMapping) {
    r.error(node.loc, fmt::format("{}: expected a mapping, got {}", what, node.kind_name()));
    return std::nullopt;
  }
  std::vector<const YamlEntry*> out;
  std::set<std::string> seen;
  for (const YamlEntry& e : node.entries) {
    if (std::find(keys.begin(), keys.end(), e.key) == keys.end()) {
      r.error(e.key_loc,
              fmt::format("unknown {} '{}'{}", what, e.key, specs::did_you_mean(e.key, keys)));
    } else if (!seen.insert(e.key).second) {
      r.error(e.key_loc, fmt::format("duplicate key '{}'", e.key));
    } else {
      out.push_back(&e);
    }
  }
  return out;
}

std::optional<std::string> read_string(Reader& r, const YamlEntry& e) {
  if (e.value.kind == Kind::kScalar && !e.value.scalar.empty()) return e.value.scalar;
  r.error(e.value.loc,
          fmt::format("{}: expected a string, got {}", e.key,
                      e.value.kind == Kind::kScalar ? "an empty string" : e.value.kind_name()));
  return std::nullopt;
}

std::optional<bool> read_bool(Reader& r, const YamlEntry& e) {
  if (e.value.kind == Kind::kScalar) {
    if (e.value.scalar == "true") return true;
    if (e.value.scalar == "false") return false;
  }
  r.error(e.value.loc,
          fmt::format("{}: expected true or false, got {}", e.key,
                      e.value.kind == Kind::kScalar ? "'" + e.value.scalar + "'"
                                                    : std::string(e.value.kind_name())));
  return std::nullopt;
}

// A rule that is on or off: `true` applies it; `false` is refused, since leaving the rule out
// says the same without looking like a requirement.
std::optional<Loc> read_switch(Reader& r, const YamlEntry& e) {
  std::optional<bool> on = read_bool(r, e);
  if (!on) return std::nullopt;
  if (!*on) {
    r.error(e.value.loc,
            fmt::format("{}: only true is meaningful (leave the rule out to not apply it)", e.key));
    return std::nullopt;
  }
  return e.key_loc;
}

// A sequence of non-empty strings (a single string counts as a list of one when `one_ok`).
std::vector<std::pair<std::string, Loc>> read_strings(Reader& r, const YamlEntry& e,
                                                      bool one_ok = false) {
  std::vector<std::pair<std::string, Loc>> out;
  if (one_ok && e.value.kind == Kind::kScalar && !e.value.scalar.empty()) {
    out.emplace_back(e.value.scalar, e.value.loc);
    return out;
  }
  if (e.value.kind != Kind::kSequence) {
    r.error(e.value.loc,
            fmt::format("{}: expected a sequence of strings, got {}", e.key, e.value.kind_name()));
    return out;
  }
  for (const YamlNode& item : e.value.items) {
    if (item.kind != Kind::kScalar || item.scalar.empty()) {
      r.error(item.loc,
              fmt::format("{}: expected a string, got {}", e.key,
                          item.kind == Kind::kScalar ? "an empty string" : item.kind_name()));
      continue;
    }
    out.emplace_back(item.scalar, item.loc);
  }
  return out;
}

std::vector<std::string> values_of(const std::vector<std::pair<std::string, Loc>>& items) {
  std::vector<std::string> out;
  for (const auto& [value, loc] : items) out.push_back(value);
  return out;
}

std::vector<KeyFile> read_keys(Reader& r, const YamlEntry& e) {
  std::vector<KeyFile> keys;
  for (auto& [path, loc] : read_strings(r, e)) {
    keys.push_back({path.starts_with('/') ? path : join_path(r.dir(), path), loc});
  }
  return keys;
}

std::optional<SignedByRule> read_signed_by(Reader& r, const YamlEntry& rule) {
  SignedByRule out{.loc = rule.key_loc};
  auto fields = read_map(r, rule.value, {"keys", "require"}, "signedBy key");
  if (!fields) return std::nullopt;
  for (const YamlEntry* f : *fields) {
    if (f->key == "keys") {
      out.keys = read_keys(r, *f);
    } else if (std::optional<std::string> v = read_string(r, *f)) {
      if (*v == "all" || *v == "any") {
        out.require = *v == "all" ? Require::kAll : Require::kAny;
      } else {
        r.error(f->value.loc, fmt::format("require: expected all or any, got '{}'", *v));
      }
    }
  }
  return out;
}

// "1.2.3": numbers separated by dots, a pre-release or build suffix after '-' or '+' allowed.
bool is_version(std::string_view v) {
  v = v.substr(0, v.find_first_of("-+"));
  if (v.empty() || v.front() == '.' || v.back() == '.') return false;
  for (char c : v) {
    if (c != '.' && (c < '0' || c > '9')) return false;
  }
  return v.find("..") == std::string_view::npos;
}

std::optional<BuilderRule> read_builder(Reader& r, const YamlEntry& rule) {
  BuilderRule out{.loc = rule.key_loc};
  auto fields = read_map(r, rule.value, {"id", "minVersion"}, "builder key");
  if (!fields) return std::nullopt;
  for (const YamlEntry* f : *fields) {
    if (f->key == "id") {
      out.ids = values_of(read_strings(r, *f, true));
    } else if (std::optional<std::string> v = read_string(r, *f)) {
      if (is_version(*v)) {
        out.min_version = *v;
      } else {
        r.error(f->value.loc,
                fmt::format("minVersion: expected a version like 0.1.0, got '{}'", *v));
      }
    }
  }
  return out;
}

std::optional<SourcesRule> read_sources(Reader& r, const YamlEntry& rule) {
  SourcesRule out{.loc = rule.key_loc};
  auto fields =
      read_map(r, rule.value, {"allowedHosts", "allowedPrefixes", "allowPaths"}, "sources key");
  if (!fields) return std::nullopt;
  for (const YamlEntry* f : *fields) {
    if (f->key == "allowPaths") {
      out.allow_paths = read_bool(r, *f).value_or(false);
      continue;
    }
    for (auto& [value, loc] : read_strings(r, *f)) {
      if (f->key == "allowedPrefixes") {
        if (value.find("://") == std::string::npos) {
          r.error(loc, fmt::format("allowedPrefixes: '{}' is not a URL prefix (scheme://host/…)",
                                   value));
        }
        out.allowed_prefixes.push_back(value);
      } else {
        if (value.find_first_of("/:") != std::string::npos) {
          r.error(loc, fmt::format("allowedHosts: '{}' is not a host name (use allowedPrefixes "
                                   "for URLs)",
                                   value));
        }
        out.allowed_hosts.push_back(value);
      }
    }
  }
  if (out.allowed_hosts.empty() && out.allowed_prefixes.empty() && !out.allow_paths) {
    r.error(rule.key_loc, "sources: give allowedHosts, allowedPrefixes or allowPaths");
  }
  return out;
}

// An SPDX licence id or LicenseRef: letters, digits, '.', '-', '+' (SPDX spec annex D).
bool is_license_id(std::string_view id) {
  if (id.empty()) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '+' || c == ':';
    if (!ok) return false;
  }
  return true;
}

std::optional<LicensesRule> read_licenses(Reader& r, const YamlEntry& rule) {
  LicensesRule out{.loc = rule.key_loc};
  auto fields = read_map(r, rule.value, {"allow", "deny", "allowUnknown"}, "licenses key");
  if (!fields) return std::nullopt;
  for (const YamlEntry* f : *fields) {
    if (f->key == "allowUnknown") {
      out.allow_unknown = read_bool(r, *f).value_or(false);
      continue;
    }
    for (auto& [value, loc] : read_strings(r, *f)) {
      if (!is_license_id(value)) {
        r.error(loc, fmt::format("{}: '{}' is not an SPDX license id (write expressions' "
                                 "single ids: MIT, Apache-2.0, LicenseRef-x)",
                                 f->key, value));
      }
      (f->key == "allow" ? out.allow : out.deny).push_back(value);
    }
  }
  if (out.allow.empty() && out.deny.empty()) {
    r.error(rule.key_loc, "licenses: give allow, deny or both");
  }
  return out;
}

std::optional<MaxSizeRule> read_max_size(Reader& r, const YamlEntry& rule) {
  std::optional<std::string> text = read_string(r, rule);
  if (!text) return std::nullopt;
  std::optional<int64_t> bytes = parse_size(*text);
  if (!bytes) {
    r.error(
        rule.value.loc,
        fmt::format("maxImageSize: expected a size like 50MiB, 20 MB or 1048576, got '{}'", *text));
    return std::nullopt;
  }
  return MaxSizeRule{.bytes = *bytes, .text = *text, .loc = rule.key_loc};
}

// CVE-YYYY-N, GHSA-xxxx-xxxx-xxxx or any OSV-style PREFIX-ID: no spaces, a '-' after a prefix.
bool is_vulnerability_id(std::string_view id) {
  size_t dash = id.find('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == id.size()) return false;
  for (char c : id) {
    if (c <= ' ' || c == '/' || c > '~') return false;
  }
  return true;
}

std::optional<KnownVulnerabilitiesRule> read_known_vulnerabilities(Reader& r,
                                                                   const YamlEntry& rule) {
  KnownVulnerabilitiesRule out{.loc = rule.key_loc};
  auto fields = read_map(r, rule.value, {"ids", "keys"}, "knownVulnerabilities key");
  if (!fields) return std::nullopt;
  bool has_ids = false;
  for (const YamlEntry* f : *fields) {
    if (f->key == "keys") {
      out.keys = read_keys(r, *f);
      continue;
    }
    has_ids = true;
    for (auto& [id, loc] : read_strings(r, *f)) {
      if (!is_vulnerability_id(id)) {
        r.error(loc, fmt::format("ids: '{}' is not a vulnerability id (CVE-2024-1234, "
                                 "GHSA-xxxx-xxxx-xxxx, …)",
                                 id));
      }
      out.ids.push_back({id, loc});
    }
  }
  if (!has_ids) r.error(rule.key_loc, "knownVulnerabilities: missing required key 'ids'");
  return out;
}

void read_rules(Reader& r, const YamlNode& node, Policy& p) {
  std::vector<std::string> names(std::begin(kRuleNames), std::end(kRuleNames));
  auto rules = read_map(r, node, names, "rule");
  if (!rules) return;
  for (const YamlEntry* e : *rules) {
    const std::string& k = e->key;
    if (k == "signedBy") {
      p.signed_by = read_signed_by(r, *e);
    } else if (k == "builder") {
      p.builder = read_builder(r, *e);
    } else if (k == "reproduced") {
      p.reproduced = read_switch(r, *e);
    } else if (k == "pinnedEnvironment") {
      p.pinned_environment = read_switch(r, *e);
    } else if (k == "sources") {
      p.sources = read_sources(r, *e);
    } else if (k == "licenses") {
      p.licenses = read_licenses(r, *e);
    } else if (k == "noSetuidFiles") {
      p.no_setuid_files = read_switch(r, *e);
    } else if (k == "nonRootUser") {
      p.non_root_user = read_switch(r, *e);
    } else if (k == "maxImageSize") {
      p.max_image_size = read_max_size(r, *e);
    } else if (k == "knownVulnerabilities") {
      p.known_vulnerabilities = read_known_vulnerabilities(r, *e);
    }
  }
}

}  // namespace

size_t Policy::rule_count() const {
  return signed_by.has_value() + builder.has_value() + reproduced.has_value() +
         pinned_environment.has_value() + sources.has_value() + licenses.has_value() +
         no_setuid_files.has_value() + non_root_user.has_value() + max_image_size.has_value() +
         known_vulnerabilities.has_value();
}

std::optional<int64_t> parse_size(std::string_view text) {
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  size_t unit_at = text.find_first_not_of("0123456789.");
  std::string_view number = text.substr(0, unit_at);
  std::string_view unit = unit_at == std::string_view::npos ? "" : text.substr(unit_at);
  while (unit.starts_with(' ')) unit.remove_prefix(1);
  static const std::pair<std::string_view, double> kUnits[] = {
      {"", 1},     {"B", 1},        {"kB", 1e3},      {"KB", 1e3},     {"MB", 1e6},
      {"GB", 1e9}, {"KiB", 1024.0}, {"MiB", 1 << 20}, {"GiB", 1 << 30}};
  double scale = 0;
  for (const auto& [name, factor] : kUnits) {
    if (unit == name) scale = factor;
  }
  if (scale == 0 || number.empty() || number.front() == '.' ||
      std::count(number.begin(), number.end(), '.') > 1) {
    return std::nullopt;
  }
  double value = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (ec != std::errc() || end != number.data() + number.size()) return std::nullopt;
  double bytes = std::floor(value * scale);
  if (!(bytes >= 1) || bytes > 9.2e18) return std::nullopt;
  return static_cast<int64_t>(bytes);
}

Result<Policy> parse_policy(std::string_view text, const std::string& file,
                            const std::string& dir) {
  STRATA_TRY_ASSIGN(YamlNode doc, specs::parse_yaml_tree(text, file, "policy"));
  std::vector<Diagnostic> diagnostics;
  Reader r(dir, &diagnostics);
  Policy p{.file = file, .sha256 = sha256_of(text)};
  if (auto top = read_map(r, doc, {"apiVersion", "rules"}, "key")) {
    const YamlEntry* api = nullptr;
    const YamlEntry* rules = nullptr;
    for (const YamlEntry* e : *top) (e->key == "apiVersion" ? api : rules) = e;
    if (!api) {
      r.error(doc.loc,
              fmt::format("missing required key 'apiVersion' (apiVersion: {})", kApiVersion));
    } else if (std::optional<std::string> v = read_string(r, *api); v && *v != kApiVersion) {
      r.error(api->value.loc, fmt::format("apiVersion: expected {}, got '{}'", kApiVersion, *v));
    }
    if (!rules) {
      r.error(doc.loc, "missing required key 'rules'");
    } else if (rules->value.kind == Kind::kNull) {
      r.error(rules->key_loc, "no rules");
    } else {
      read_rules(r, rules->value, p);
      if (diagnostics.empty() && p.rule_count() == 0) r.error(rules->key_loc, "no rules");
    }
  }
  if (!diagnostics.empty()) return specs::report_error(std::move(diagnostics), text);
  return p;
}

Result<Policy> load_policy(const std::string& path) {
  auto text = read_file_limited(path, kMaxPolicyBytes);
  if (!text.ok()) {
    return Error(ErrorCode::kSpec,
                 fmt::format("{}: error: cannot read policy: {}", path, text.error().message()));
  }
  return parse_policy(*text, path, dirname_of(path));
}

}  // namespace strata::builder::policy
