// The `debian:` section: the repositories `strata lock` resolves `debs:` layers against
// (docs/debian-packages.md).
#include <fmt/format.h>

#include <cctype>

#include "specs/internal/sections.h"

namespace strata::specs::internal {
namespace {

// A Debian package name (Debian Policy 5.6.1): lowercase letters, digits, '+', '-', '.',
// at least two characters, starting with a letter or digit.
bool is_deb_name(const std::string& s) {
  if (s.size() < 2 || s.size() > 128) return false;
  if (!std::isalnum(static_cast<unsigned char>(s[0])) || std::isupper(s[0])) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// A suite, component or architecture: a path component an archive uses under dists/.
bool is_archive_word(const std::string& s) {
  if (s.empty() || s.size() > 128 || s == "." || s == "..") return false;
  for (char c : s) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
              c == '+' || c == '~';
    if (!ok) return false;
  }
  return true;
}

DebRepository parse_repository(Context& c, const Value& v) {
  Reader& r = c.reader;
  MapReader m(r, v, {"url", "suite", "components", "keyring"});
  DebRepository repo;
  repo.loc = v.loc;
  if (std::optional<Field> f = m.require("url")) {
    std::string url = read_string(r, *f).value_or("");
    bool scheme =
        url.starts_with("http://") || url.starts_with("https://") || url.starts_with("file:///");
    if (!url.empty() && (!scheme || url.find_first_of(" \t\n?#") != std::string::npos)) {
      r.error(f->loc, fmt::format("url '{}' must be http://, https:// or file:///PATH without "
                                  "a query or fragment",
                                  url));
    } else {
      while (url.size() > 8 && url.back() == '/') url.pop_back();
      repo.url = url;
    }
  }
  if (std::optional<Field> f = m.require("suite")) {
    repo.suite = read_string(r, *f).value_or("");
    if (!repo.suite.empty() && !is_archive_word(repo.suite)) {
      r.error(f->loc, fmt::format("suite '{}' is not a distribution name (like 'bookworm' or "
                                  "'stable')",
                                  repo.suite));
    }
  }
  if (std::optional<Field> f = m.get("components")) {
    for (Ref& ref : read_string_list(r, *f)) {
      if (!is_archive_word(ref.name)) {
        r.error(ref.loc,
                fmt::format("component '{}' is not a component name (like 'main')", ref.name));
      }
      repo.components.push_back(std::move(ref.name));
    }
    if (repo.components.empty() && m.ok()) r.error(f->loc, "components is empty");
  } else {
    repo.components = {"main"};
  }
  if (std::optional<Field> f = m.require("keyring")) {
    repo.keyring = read_string(r, *f).value_or("");
    if (repo.keyring.empty()) r.error(f->loc, "keyring is empty");
  }
  return repo;
}

}  // namespace

bool is_debian_package_name(const std::string& name) { return is_deb_name(name); }

Debian parse_debian(Context& c, const Value& v) {
  Reader& r = c.reader;
  MapReader m(r, v, {"repositories", "architecture"});
  Debian debian;
  debian.loc = v.loc;
  if (std::optional<Field> f = m.require("repositories")) {
    for (const Value& item : read_sequence(r, *f)) {
      if (item.node.IsScalar()) {
        if (item.node.Scalar() != "host") {
          r.error(item.loc, fmt::format("repository '{}': expected a mapping with url, suite and "
                                        "keyring, or 'host' for the host's apt sources",
                                        item.node.Scalar()));
        }
        debian.repositories.push_back({.host = true, .loc = item.loc});
        continue;
      }
      debian.repositories.push_back(parse_repository(c, item));
    }
    if (debian.repositories.empty() && m.ok()) r.error(f->loc, "repositories is empty");
  }
  if (std::optional<Field> f = m.get("architecture")) {
    debian.architecture = read_string(r, *f).value_or("");
    if (!is_archive_word(debian.architecture)) {
      r.error(f->loc, fmt::format("'{}' is not a Debian architecture name (like 'amd64')",
                                  debian.architecture));
    }
  }
  return debian;
}

}  // namespace strata::specs::internal
