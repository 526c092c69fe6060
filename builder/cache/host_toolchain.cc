#include "builder/cache/host_toolchain.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

#include "builder/base/fd.h"

namespace strata::builder::cache {
namespace {

constexpr int64_t kStatusCapBytes = int64_t{64} << 20;
constexpr int64_t kListCapBytes = int64_t{16} << 20;
constexpr int64_t kOsReleaseCapBytes = int64_t{64} << 10;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// Calls `line(text, number)` for each line of `text` (no trailing '\n').
template <typename F>
void for_each_line(std::string_view text, F&& line) {
  int64_t number = 0;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view l = text.substr(0, end);
    ++number;
    line(l, number);
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
}

// "WANT FLAG STATE" (dpkg-query(1)): installed when the state is, whatever the selection
// ("install", or "hold" after apt-mark hold) and the flag ("ok", "reinstreq").
bool is_installed_status(std::string_view status) {
  size_t last = status.rfind(' ');
  return last != std::string_view::npos && status.substr(last + 1) == "installed" &&
         std::count(status.begin(), status.end(), ' ') == 2;
}

// The paragraph being read; its fields are checked when it ends.
struct Paragraph {
  std::map<std::string, std::string, std::less<>> fields;
  int64_t first_line = 0;
};

Result<void> finish(const Paragraph& p, std::string_view origin, std::vector<DpkgPackage>& out) {
  if (p.fields.empty()) return {};
  auto field = [&](std::string_view name) {
    auto it = p.fields.find(name);
    return it == p.fields.end() ? std::string() : it->second;
  };
  DpkgPackage pkg{.name = field("Package"),
                  .architecture = field("Architecture"),
                  .version = field("Version"),
                  .installed = is_installed_status(field("Status"))};
  auto fail = [&](std::string_view what) {
    return Error::io(fmt::format("{}:{}: {}", origin, p.first_line, what));
  };
  if (pkg.name.empty()) return fail("paragraph without a Package field");
  if (pkg.installed && (pkg.architecture.empty() || pkg.version.empty())) {
    return fail(fmt::format("installed package {} without Architecture or Version", pkg.name));
  }
  out.push_back(std::move(pkg));
  return {};
}

// The value of KEY=VALUE in os-release syntax (quotes removed), "" when absent.
std::string os_release_value(std::string_view text, std::string_view key) {
  std::string value;
  for_each_line(text, [&](std::string_view line, int64_t) {
    line = trim(line);
    if (!line.starts_with(key) || line.size() <= key.size() || line[key.size()] != '=') return;
    std::string_view v = line.substr(key.size() + 1);
    if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front()) {
      v = v.substr(1, v.size() - 2);
    }
    value = std::string(v);
  });
  return value;
}

// The whole file when it is at most `cap_bytes`; nullopt when it does not exist.
Result<std::optional<std::string>> read_capped(const std::string& path, int64_t cap_bytes) {
  int fd_raw = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_raw < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return Error::sys(fmt::format("open {}", path), errno);
  }
  UniqueFd fd(fd_raw);
  std::string text;
  char buf[65536];
  for (;;) {
    STRATA_TRY_ASSIGN(int64_t n, read_some(fd.get(), buf, sizeof buf, path));
    if (n == 0) break;
    if (static_cast<int64_t>(text.size()) + n > cap_bytes) {
      return Error::io(
          fmt::format("{}: larger than {} bytes, the most strata reads", path, cap_bytes));
    }
    text.append(buf, static_cast<size_t>(n));
  }
  return std::optional<std::string>(std::move(text));
}

}  // namespace

Result<std::vector<DpkgPackage>> parse_dpkg_status(std::string_view text, std::string_view origin) {
  std::vector<DpkgPackage> out;
  Paragraph p;
  std::string last_field;
  std::optional<Error> error;
  for_each_line(text, [&](std::string_view line, int64_t number) {
    if (error) return;
    if (trim(line).empty()) {
      if (auto r = finish(p, origin, out); !r.ok()) error = r.error();
      p = {};
      last_field.clear();
      return;
    }
    if (line.front() == ' ' || line.front() == '\t') {
      // Continuation of a multi-line field (Description, Conffiles): never part of a key.
      if (last_field.empty()) {
        error = Error::io(fmt::format("{}:{}: continuation line outside a field", origin, number));
      }
      return;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      error = Error::io(fmt::format("{}:{}: expected 'Field: value'", origin, number));
      return;
    }
    if (p.fields.empty()) p.first_line = number;
    last_field = std::string(line.substr(0, colon));
    p.fields[last_field] = std::string(trim(line.substr(colon + 1)));
  });
  if (error) return *std::move(error);
  STRATA_TRY(finish(p, origin, out));
  return out;
}

bool is_exposed_path(std::string_view path, std::span<const std::string> exposed) {
  for (const std::string& e : exposed) {
    if (path.size() > e.size() && path.starts_with(e) && path[e.size()] == '/') return true;
    bool top_level = e.find('/', 1) == std::string::npos;
    if (path == e && !top_level) return true;
  }
  return false;
}

Result<Json> host_toolchain_document(const HostTexts& texts, std::span<const std::string> exposed) {
  Json os = {{"ID", os_release_value(texts.os_release, "ID")},
             {"VERSION_ID", os_release_value(texts.os_release, "VERSION_ID")}};
  if (!texts.dpkg_status) return Json{{"os", os}, {"dpkg", nullptr}};
  STRATA_TRY_ASSIGN(std::vector<DpkgPackage> packages,
                    parse_dpkg_status(*texts.dpkg_status, "/var/lib/dpkg/status"));
  Json dpkg = Json::object();
  for (const DpkgPackage& p : packages) {
    if (!p.installed) continue;
    auto list = texts.file_lists.find(p.id());
    bool exposed_file = list == texts.file_lists.end() || !list->second;
    if (!exposed_file) {
      for_each_line(*list->second, [&](std::string_view line, int64_t) {
        exposed_file = exposed_file || is_exposed_path(trim(line), exposed);
      });
    }
    if (exposed_file) dpkg[p.id()] = p.version;
  }
  return Json{{"os", os}, {"dpkg", dpkg}};
}

Result<HostTexts> read_host_texts(const std::string& root) {
  HostTexts texts;
  for (const char* path : {"/etc/os-release", "/usr/lib/os-release"}) {
    STRATA_TRY_ASSIGN(std::optional<std::string> text,
                      read_capped(root + path, kOsReleaseCapBytes));
    if (text) {
      texts.os_release = *std::move(text);
      break;
    }
  }
  std::string status_path = root + "/var/lib/dpkg/status";
  STRATA_TRY_ASSIGN(texts.dpkg_status, read_capped(status_path, kStatusCapBytes));
  if (!texts.dpkg_status) return texts;
  STRATA_TRY_ASSIGN(std::vector<DpkgPackage> packages,
                    parse_dpkg_status(*texts.dpkg_status, status_path));
  // Only installed packages' lists: dpkg keeps lists of removed-but-not-purged ones too.
  for (const DpkgPackage& p : packages) {
    if (!p.installed) continue;
    std::string info = root + "/var/lib/dpkg/info/";
    STRATA_TRY_ASSIGN(std::optional<std::string> list,
                      read_capped(info + p.id() + ".list", kListCapBytes));
    if (!list) {
      STRATA_TRY_ASSIGN(list, read_capped(info + p.name + ".list", kListCapBytes));
    }
    texts.file_lists[p.id()] = std::move(list);
  }
  return texts;
}

}  // namespace strata::builder::cache
