#include "builder/debian/apt_sources.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <set>

#include "builder/base/base64.h"
#include "builder/base/beneath.h"
#include "builder/base/fs.h"
#include "builder/debian/deb822.h"

namespace strata::builder::debian {
namespace {

// Bounds on what a host may hand us: apt's files are small.
constexpr int64_t kMaxSourcesFile = 1 << 20;
constexpr int64_t kMaxKeyringFile = 8 << 20;
constexpr size_t kMaxSources = 256;

std::vector<std::string> words(std::string_view s) { return field_words(s); }

// The words of a one-line entry as apt splits them: brackets and double quotes inside a word
// group what they enclose, spaces included ("cdrom:[Debian 12 r4]/" is one word).
std::vector<std::string> line_words(std::string_view s) {
  std::vector<std::string> out;
  std::string word;
  char close = 0;
  for (char c : s) {
    if (close == 0 && (c == ' ' || c == '\t')) {
      if (!word.empty()) out.push_back(std::move(word));
      word.clear();
      continue;
    }
    if (close != 0 && c == close) {
      close = 0;
    } else if (close == 0 && (c == '[' || c == '"')) {
      close = c == '[' ? ']' : '"';
    }
    word += c;
  }
  if (!word.empty()) out.push_back(std::move(word));
  return out;
}

// A sources.list URI as strata's repositories take it, or "" when its scheme is not one
// strata fetches (cdrom:, mirror+file:, tor+http: ...).
std::string normal_uri(std::string uri) {
  while (uri.size() > 1 && uri.back() == '/') uri.pop_back();
  if (uri.starts_with("http://") || uri.starts_with("https://")) return uri;
  if (uri.starts_with("file:///")) return uri;
  if (uri.starts_with("file:/")) return "file://" + uri.substr(5);
  return "";
}

// Adds one entry (one URI and suite) unless it must be skipped, which `warnings` then says.
void add_entry(HostSources& out, HostSource s, const std::string& uri) {
  s.url = normal_uri(uri);
  if (s.url.empty()) {
    out.warnings.push_back(
        fmt::format("{}: {}: strata fetches only http, https and file URIs; "
                    "skipped",
                    s.origin, uri));
    return;
  }
  if (s.suite.ends_with('/')) {
    out.warnings.push_back(fmt::format(
        "{}: {} {}: a flat repository (a suite ending in '/'); skipped", s.origin, uri, s.suite));
    return;
  }
  if (s.components.empty()) {
    out.warnings.push_back(
        fmt::format("{}: {} {}: no components; skipped", s.origin, uri, s.suite));
    return;
  }
  out.sources.push_back(std::move(s));
}

// "trusted=yes" turns apt's signature check off; strata verifies every Release file.
bool refuses_unsigned(HostSources& out, const std::string& origin, std::string_view trusted) {
  if (trusted != "yes") return false;
  out.warnings.push_back(fmt::format(
      "{}: trusted=yes (no signature check) is not something strata does; skipped", origin));
  return true;
}

}  // namespace

Result<HostSources> parse_sources_list(std::string_view text, const std::string& file) {
  HostSources out;
  size_t line_no = 0;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string line(text.substr(0, end));
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    ++line_no;
    if (size_t hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    std::string origin = fmt::format("{}:{}", file, line_no);
    // The options in brackets, right after the type, may hold spaces around '=': take them
    // out first. A '[' further on belongs to the URI (cdrom:[Debian 12]/).
    std::string options;
    size_t type_end = line.find_first_of(" \t", line.find_first_not_of(" \t"));
    size_t open =
        type_end == std::string::npos ? type_end : line.find_first_not_of(" \t", type_end);
    if (open != std::string::npos && line[open] == '[') {
      size_t close = line.find(']', open);
      if (close == std::string::npos) {
        return Error(ErrorCode::kInvalidInput, fmt::format("{}: an unclosed '['", origin));
      }
      options = line.substr(open + 1, close - open - 1);
      line.erase(open, close - open + 1);
    }
    std::vector<std::string> w = line_words(line);
    if (w.empty()) continue;
    if (w[0] == "deb-src") continue;
    if (w[0] != "deb") {
      return Error(ErrorCode::kInvalidInput,
                   fmt::format("{}: expected 'deb' or 'deb-src', got '{}'", origin, w[0]));
    }
    if (w.size() < 3) {
      return Error(ErrorCode::kInvalidInput,
                   fmt::format("{}: expected 'deb URI SUITE ...'", origin));
    }
    HostSource s{.suite = w[2], .components = {w.begin() + 3, w.end()}, .origin = origin};
    bool skip = false;
    for (const std::string& opt : words(options)) {
      size_t eq = opt.find('=');
      std::string key = opt.substr(0, eq);
      std::string value = eq == std::string::npos ? "" : opt.substr(eq + 1);
      if (key == "signed-by") {
        for (size_t from = 0; from <= value.size();) {
          size_t comma = value.find(',', from);
          std::string path = value.substr(from, comma - from);
          if (!path.empty()) s.signed_by.push_back(path);
          if (comma == std::string::npos) break;
          from = comma + 1;
        }
      } else if (key == "trusted") {
        skip = refuses_unsigned(out, origin, value);
      }
    }
    if (!skip) add_entry(out, std::move(s), w[1]);
  }
  return out;
}

Result<HostSources> parse_sources_deb822(std::string_view text, const std::string& file) {
  STRATA_TRY_ASSIGN(std::vector<Stanza> stanzas, parse_deb822(text, file, kMaxSources));
  HostSources out;
  for (size_t i = 0; i < stanzas.size(); ++i) {
    const Stanza& st = stanzas[i];
    std::string origin = fmt::format("{}: paragraph {}", file, i + 1);
    std::vector<std::string> types = words(st.get_or("Types"));
    if (std::find(types.begin(), types.end(), "deb") == types.end()) continue;
    if (st.get_or("Enabled", "yes") == "no") continue;
    if (refuses_unsigned(out, origin, st.get_or("Trusted"))) continue;
    std::vector<std::string> uris = words(st.get_or("URIs"));
    std::vector<std::string> suites = words(st.get_or("Suites"));
    if (uris.empty() || suites.empty()) {
      return Error(ErrorCode::kInvalidInput,
                   fmt::format("{}: a deb entry needs URIs and Suites", origin));
    }
    HostSource base{.components = words(st.get_or("Components")), .origin = origin};
    std::string signed_by = st.get_or("Signed-By");
    if (signed_by.find("-----BEGIN PGP PUBLIC KEY BLOCK-----") != std::string::npos) {
      base.inline_key = signed_by;
    } else {
      base.signed_by = words(signed_by);
    }
    for (const std::string& uri : uris) {
      for (const std::string& suite : suites) {
        HostSource s = base;
        s.suite = suite;
        add_entry(out, std::move(s), uri);
      }
    }
  }
  return out;
}

Result<HostSources> read_host_sources(const std::string& etc_apt) {
  HostSources all;
  auto add = [&](const std::string& path, bool deb822) -> Result<void> {
    STRATA_TRY_ASSIGN(std::string text, read_file_limited(path, kMaxSourcesFile));
    STRATA_TRY_ASSIGN(HostSources one,
                      deb822 ? parse_sources_deb822(text, path) : parse_sources_list(text, path));
    all.sources.insert(all.sources.end(), one.sources.begin(), one.sources.end());
    all.warnings.insert(all.warnings.end(), one.warnings.begin(), one.warnings.end());
    return Ok{};
  };
  std::string list = etc_apt + "/sources.list";
  if (path_resolves(list)) STRATA_TRY(add(list, false));
  std::string dir = etc_apt + "/sources.list.d";
  if (path_resolves(dir)) {
    STRATA_TRY_ASSIGN(std::vector<std::string> names, list_dir(dir));
    for (const std::string& name : names) {
      if (name.ends_with(".list")) STRATA_TRY(add(dir + "/" + name, false));
      if (name.ends_with(".sources")) STRATA_TRY(add(dir + "/" + name, true));
    }
  }
  // One repository per URL and suite: the first entry's components and keys.
  std::set<std::pair<std::string, std::string>> seen;
  std::vector<HostSource> unique;
  for (HostSource& s : all.sources) {
    if (seen.insert({s.url, s.suite}).second) unique.push_back(std::move(s));
  }
  all.sources = std::move(unique);
  if (all.sources.size() > kMaxSources) {
    return Error(ErrorCode::kInvalidInput,
                 fmt::format("{}: more than {} apt sources", etc_apt, kMaxSources));
  }
  if (all.sources.empty()) {
    // What was skipped says why nothing is left.
    std::string why;
    for (const std::string& w : all.warnings) why += "\n  " + w;
    return Error(ErrorCode::kInvalidInput,
                 fmt::format("{} lists no deb source strata can read (sources.list, "
                             "sources.list.d/*.list, *.sources){}",
                             etc_apt, why));
  }
  return all;
}

Result<std::string> dearmor(std::string_view text, const std::string& what) {
  constexpr std::string_view kBegin = "-----BEGIN PGP PUBLIC KEY BLOCK-----";
  size_t begin = text.find(kBegin);
  if (begin == std::string_view::npos) {
    return Error(ErrorCode::kInvalidInput, fmt::format("{}: no armored public key block", what));
  }
  text.remove_prefix(begin + kBegin.size());
  size_t line_end = text.find('\n');  // the rest of the BEGIN line
  text.remove_prefix(line_end == std::string_view::npos ? text.size() : line_end + 1);
  // Armor headers ("Comment: ...") until the first empty line, then base64 lines until the
  // checksum line ("=XXXX") or the END line. In a deb822 field an empty line is " .".
  bool in_body = false;
  std::string body;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = trim(text.substr(0, end));
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (line == ".") line = "";
    if (line.starts_with("-----END")) break;
    if (!in_body) {
      if (line.empty()) in_body = true;
      continue;
    }
    if (line.starts_with('=')) break;
    body += line;
  }
  std::optional<std::string> packets = base64_decode(body);
  if (!packets || packets->empty()) {
    return Error(ErrorCode::kInvalidInput,
                 fmt::format("{}: the armored key block is not base64", what));
  }
  return *packets;
}

Result<std::string> host_keyring(const HostSource& source, const std::string& etc_apt) {
  if (!source.inline_key.empty()) {
    return dearmor(source.inline_key, source.origin + ": Signed-By");
  }
  std::vector<std::string> files = source.signed_by;
  if (files.empty()) {
    if (path_resolves(etc_apt + "/trusted.gpg")) files.push_back(etc_apt + "/trusted.gpg");
    std::string dir = etc_apt + "/trusted.gpg.d";
    if (path_resolves(dir)) {
      STRATA_TRY_ASSIGN(std::vector<std::string> names, list_dir(dir));
      for (const std::string& n : names) {
        if (n.ends_with(".gpg") || n.ends_with(".asc")) files.push_back(dir + "/" + n);
      }
    }
  }
  if (files.empty()) {
    return Error(ErrorCode::kVerification,
                 fmt::format("{}: no Signed-By and no keyring in {}/trusted.gpg.d: nothing to "
                             "verify its Release file with",
                             source.origin, etc_apt));
  }
  std::string keyring;
  for (const std::string& f : files) {
    Result<std::string> bytes = read_file_limited(f, kMaxKeyringFile);
    if (!bytes.ok()) {
      return Error(ErrorCode::kVerification,
                   fmt::format("{}: keyring {}: {}", source.origin, f, bytes.error().message()));
    }
    if (bytes->starts_with("-----BEGIN")) {
      STRATA_TRY_ASSIGN(std::string packets, dearmor(*bytes, f));
      keyring += packets;
    } else {
      keyring += *bytes;
    }
  }
  return keyring;
}

}  // namespace strata::builder::debian
