#include "builder/policy/source_rules.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace strata::builder::policy {

std::string url_host(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return "";
  std::string_view rest = url.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (size_t at = rest.rfind('@'); at != std::string_view::npos) rest = rest.substr(at + 1);
  if (rest.starts_with('[')) {
    rest = rest.substr(0, rest.find(']') + 1);  // an IPv6 literal keeps its brackets
  } else {
    rest = rest.substr(0, rest.find(':'));
  }
  std::string host(rest);
  std::transform(host.begin(), host.end(), host.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return host;
}

SourceVerdict judge_source(const SourcesRule& rule, std::string_view url, bool is_path) {
  if (is_path) {
    if (rule.allow_paths) return {true, "a local path (allowPaths)"};
    return {false, "a local path source is not allowed (allowPaths is not set)"};
  }
  for (const std::string& prefix : rule.allowed_prefixes) {
    if (url.starts_with(prefix)) return {true, fmt::format("allowed by prefix {}", prefix)};
  }
  std::string host = url_host(url);
  for (std::string allowed : rule.allowed_hosts) {
    std::transform(allowed.begin(), allowed.end(), allowed.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    bool match = allowed.starts_with("*.") ? host.ends_with(allowed.substr(1)) : host == allowed;
    if (match && !host.empty()) return {true, fmt::format("host {} is allowed", host)};
  }
  if (host.empty()) return {false, "not a URL with a host, and no allowed prefix matches it"};
  return {false, fmt::format("host {} is not allowed, and no allowed prefix matches", host)};
}

}  // namespace strata::builder::policy
