#include "builder/debian/version.h"

#include <cctype>

namespace strata::builder::debian {
namespace {

struct Parts {
  std::string_view epoch, upstream, revision;
};

Parts split(std::string_view v) {
  Parts p;
  size_t colon = v.find(':');
  if (colon != std::string_view::npos) {
    p.epoch = v.substr(0, colon);
    v.remove_prefix(colon + 1);
  }
  size_t dash = v.rfind('-');
  if (dash != std::string_view::npos) {
    p.revision = v.substr(dash + 1);
    v = v.substr(0, dash);
  }
  p.upstream = v;
  return p;
}

// dpkg's order of non-digit characters: '~' before everything (even the end), then the end,
// then letters, then the other characters.
int order(char c) {
  if (std::isdigit(static_cast<unsigned char>(c))) return 0;
  if (std::isalpha(static_cast<unsigned char>(c))) return c;
  if (c == '~') return -1;
  if (c != 0) return c + 256;
  return 0;
}

// dpkg's verrevcmp: alternating non-digit and digit runs.
int compare_part(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    int first_diff = 0;
    while ((i < a.size() && !std::isdigit(static_cast<unsigned char>(a[i]))) ||
           (j < b.size() && !std::isdigit(static_cast<unsigned char>(b[j])))) {
      int ac = i < a.size() ? order(a[i]) : 0;
      int bc = j < b.size() ? order(b[j]) : 0;
      if (ac != bc) return ac - bc;
      ++i;
      ++j;
    }
    while (i < a.size() && a[i] == '0') ++i;
    while (j < b.size() && b[j] == '0') ++j;
    while (i < a.size() && std::isdigit(static_cast<unsigned char>(a[i])) && j < b.size() &&
           std::isdigit(static_cast<unsigned char>(b[j]))) {
      if (first_diff == 0) first_diff = a[i] - b[j];
      ++i;
      ++j;
    }
    if (i < a.size() && std::isdigit(static_cast<unsigned char>(a[i]))) return 1;
    if (j < b.size() && std::isdigit(static_cast<unsigned char>(b[j]))) return -1;
    if (first_diff != 0) return first_diff;
  }
  return 0;
}

long long epoch_of(std::string_view e) {
  long long n = 0;
  for (char c : e) {
    if (!std::isdigit(static_cast<unsigned char>(c))) break;
    n = n * 10 + (c - '0');
    if (n > 0x7fffffff) return 0x7fffffff;
  }
  return n;
}

}  // namespace

int compare_versions(std::string_view a, std::string_view b) {
  Parts pa = split(a), pb = split(b);
  long long ea = epoch_of(pa.epoch), eb = epoch_of(pb.epoch);
  if (ea != eb) return ea < eb ? -1 : 1;
  int r = compare_part(pa.upstream, pb.upstream);
  if (r != 0) return r < 0 ? -1 : 1;
  r = compare_part(pa.revision, pb.revision);
  return r < 0 ? -1 : (r > 0 ? 1 : 0);
}

bool version_satisfies(std::string_view version, std::string_view op, std::string_view ref) {
  int c = compare_versions(version, ref);
  if (op == "<<") return c < 0;
  if (op == "<=" || op == "<") return c <= 0;
  if (op == "=") return c == 0;
  if (op == ">=" || op == ">") return c >= 0;
  if (op == ">>") return c > 0;
  return false;
}

bool is_valid_version(std::string_view v) {
  if (v.empty() || v.size() > 256) return false;
  Parts p = split(v);
  if (v.find(':') != std::string_view::npos) {
    if (p.epoch.empty()) return false;
    for (char c : p.epoch) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    }
  }
  if (p.upstream.empty() || !std::isdigit(static_cast<unsigned char>(p.upstream[0]))) return false;
  auto allowed = [](char c, bool upstream) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '+' || c == '~' ||
           (upstream && (c == '-' || c == ':'));
  };
  for (char c : p.upstream) {
    if (!allowed(c, true)) return false;
  }
  for (char c : p.revision) {
    if (!allowed(c, false)) return false;
  }
  return true;
}

}  // namespace strata::builder::debian
