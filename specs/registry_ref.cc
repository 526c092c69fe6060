#include "specs/registry_ref.h"

#include <fmt/format.h>

#include "specs/values.h"

namespace strata::specs {
namespace {

Error bad_ref(std::string_view text, std::string_view why) {
  return Error(ErrorCode::kSpec, fmt::format("'{}' is not a registry image like "
                                             "\"docker://HOST/REPO[:TAG]@sha256:<64 hex>\": {}",
                                             text, why));
}

bool is_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-';
}

// "host", "host:port", "[v6]", "[v6]:port"; the port 1..65535.
bool is_domain(std::string_view d) {
  std::string_view host = d;
  std::string_view port;
  if (d.starts_with('[')) {
    size_t close = d.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (char c : d.substr(1, close - 1)) {
      bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
      if (!hex && c != ':' && c != '.') return false;
    }
    std::string_view rest = d.substr(close + 1);
    if (!rest.empty() && !rest.starts_with(':')) return false;
    if (!rest.empty()) port = rest.substr(1);
    if (rest == ":") return false;
    host = {};
  } else if (size_t colon = d.find(':'); colon != std::string_view::npos) {
    host = d.substr(0, colon);
    port = d.substr(colon + 1);
    if (port.empty()) return false;
  }
  if (!d.starts_with('[')) {
    if (host.empty() || host.starts_with('-') || host.ends_with('-') || host.starts_with('.') ||
        host.ends_with('.') || host.find("..") != std::string_view::npos) {
      return false;
    }
    for (char c : host) {
      if (!is_host_char(c)) return false;
    }
  }
  if (!port.empty()) {
    if (port.size() > 5 || port.starts_with('0')) return false;
    int64_t n = 0;
    for (char c : port) {
      if (c < '0' || c > '9') return false;
      n = n * 10 + (c - '0');
    }
    if (n < 1 || n > 65535) return false;
  }
  return true;
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

std::string RegistryRef::api_host() const {
  return domain == kDockerHubDomain ? std::string(kDockerHubApiHost) : domain;
}

std::string RegistryRef::str() const {
  std::string out = name();
  if (!tag.empty()) out += ":" + tag;
  if (digest) out += "@" + digest->str();
  return out;
}

std::string RegistryRef::host() const {
  if (domain.starts_with('[')) return domain.substr(1, domain.find(']') - 1);
  return domain.substr(0, domain.find(':'));
}

bool has_docker_transport(std::string_view text) { return text.starts_with(kDockerTransport); }

Result<RegistryRef> parse_registry_ref(std::string_view text) {
  std::string_view rest = text;
  if (has_docker_transport(rest)) rest.remove_prefix(kDockerTransport.size());
  RegistryRef ref;
  if (size_t at = rest.find('@'); at != std::string_view::npos) {
    Result<Digest> digest = Digest::parse(rest.substr(at + 1));
    if (!digest.ok()) return bad_ref(text, "the digest is not sha256:<64 lowercase hex>");
    ref.digest = *digest;
    rest = rest.substr(0, at);
  }
  if (rest.empty()) return bad_ref(text, "no repository");
  // A tag is after the last ':' that follows the last '/' (a ':' before it is a port).
  size_t slash = rest.rfind('/');
  size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    ref.tag = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
    if (!is_tag(ref.tag)) {
      return bad_ref(
          text, fmt::format("the tag '{}' is not [A-Za-z0-9_][A-Za-z0-9._-]{{0,127}}", ref.tag));
    }
  }
  std::string_view repository = rest;
  size_t first = rest.find('/');
  if (first != std::string_view::npos) {
    std::string_view head = rest.substr(0, first);
    if (head.find_first_of(".:[") != std::string_view::npos || head == "localhost") {
      if (!is_domain(head)) return bad_ref(text, fmt::format("'{}' is not a host[:port]", head));
      ref.domain = lowercase(head);
      repository = rest.substr(first + 1);
    }
  }
  if (ref.domain.empty() || ref.domain == "index.docker.io") ref.domain = kDockerHubDomain;
  ref.repository = std::string(repository);
  if (ref.domain == kDockerHubDomain && ref.repository.find('/') == std::string::npos) {
    ref.repository = "library/" + ref.repository;
  }
  if (!is_image_name(ref.repository)) {
    return bad_ref(text, fmt::format("the repository '{}' is not lowercase components like "
                                     "\"org/app\" (letters, digits, '.', '_', '-' between them)",
                                     ref.repository));
  }
  if (ref.name().size() > 255) return bad_ref(text, "the name is longer than 255 characters");
  return ref;
}

}  // namespace strata::specs
