#include "attest/ids.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <ctime>

#include "attest/sbom.h"
#include "builder/base/check.h"
#include "builder/base/digest.h"

namespace strata::attest {

std::string uuid_v5_url(std::string_view name) {
  // RFC 4122 Appendix C: NameSpace_URL = 6ba7b811-9dad-11d1-80b4-00c04fd430c8.
  static constexpr unsigned char kUrlNamespace[16] = {0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad,
                                                      0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0,
                                                      0x4f, 0xd4, 0x30, 0xc8};
  std::string input(reinterpret_cast<const char*>(kUrlNamespace), 16);
  input.append(name);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // One-shot EVP_Digest: no context handle to own. SHA-1 is what version 5 is defined with.
  STRATA_CHECK(EVP_Digest(input.data(), input.size(), md, &len, EVP_sha1(), nullptr) == 1);
  md[6] = static_cast<unsigned char>((md[6] & 0x0f) | 0x50);  // version 5
  md[8] = static_cast<unsigned char>((md[8] & 0x3f) | 0x80);  // RFC 4122 variant
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += fmt::format("{:02x}", md[i]);
  }
  return out;
}

std::string SpdxIds::make(std::string_view prefix, std::string_view text) {
  std::string id = natural(prefix, text);
  if (used_.contains(id)) id += "-" + sha256_of(text).hex.substr(0, 12);
  std::string candidate = id;
  for (int n = 2; used_.contains(candidate); ++n) candidate = fmt::format("{}-{}", id, n);
  used_.insert(candidate);
  return candidate;
}

std::string SpdxIds::natural(std::string_view prefix, std::string_view text) {
  std::string body(text);
  for (char& c : body) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-';
    if (!ok) c = '-';
  }
  if (body.empty()) body = "-";
  return fmt::format("SPDXRef-{}-{}", prefix, body);
}

std::string percent_encode(std::string_view text, bool keep_slash) {
  std::string out;
  for (unsigned char c : text) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/');
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

namespace {

std::string qualifier_string(const std::map<std::string, std::string>& qualifiers) {
  std::string out;
  for (const auto& [key, value] : qualifiers) {  // std::map: sorted by key, as purl requires
    if (value.empty()) continue;
    out += out.empty() ? "?" : "&";
    out += key + "=" + percent_encode(value, /*keep_slash=*/true);
  }
  return out;
}

}  // namespace

std::string oci_purl(std::string_view repository, std::string_view manifest_hex,
                     std::string_view arch, std::string_view tag) {
  size_t slash = repository.rfind('/');
  std::string name(slash == std::string_view::npos ? repository : repository.substr(slash + 1));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::map<std::string, std::string> q = {{"arch", std::string(arch)}, {"tag", std::string(tag)}};
  if (slash != std::string_view::npos) q["repository_url"] = std::string(repository);
  return fmt::format("pkg:oci/{}@sha256%3A{}{}", percent_encode(name), manifest_hex,
                     qualifier_string(q));
}

std::string local_image_purl(std::string_view path, std::string_view manifest_hex,
                             std::string_view arch) {
  while (path.ends_with('/')) path.remove_suffix(1);
  size_t slash = path.rfind('/');
  std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  if (name.ends_with(".tar")) name.remove_suffix(4);
  if (name.empty() || name == "." || name == "..") name = "image";
  return oci_purl(name, manifest_hex, arch, "");
}

std::string image_purl(const specs::ImageRef& ref, std::string_view arch) {
  if (!ref.registry) return local_image_purl(ref.path, ref.digest.hex, arch);
  return oci_purl(ref.registry->name(), ref.digest.hex, arch, ref.registry->tag);
}

std::string generic_purl(std::string_view name, std::string_view version,
                         const std::map<std::string, std::string>& qualifiers) {
  std::string out = "pkg:generic/" + percent_encode(name);
  if (!version.empty()) out += "@" + percent_encode(version);
  return out + qualifier_string(qualifiers);
}

std::string deb_purl(const SbomDeb& deb) {
  std::map<std::string, std::string> q = {{"arch", deb.architecture}};
  if (!deb.distro.empty()) q["distro"] = deb.distro;
  return fmt::format("pkg:deb/{}/{}@{}{}", percent_encode(deb.vendor), percent_encode(deb.name),
                     percent_encode(deb.version), qualifier_string(q));
}

std::string spdx_license_of_debian(std::string_view debian_license) {
  // Debian's short names (copyright-format 1.0, "License Specification") and SPDX's.
  static const std::map<std::string, std::string, std::less<>> kIds = {
      {"Apache-2.0", "Apache-2.0"},
      {"Artistic-2.0", "Artistic-2.0"},
      {"BSD-2-clause", "BSD-2-Clause"},
      {"BSD-3-clause", "BSD-3-Clause"},
      {"BSD-4-clause", "BSD-4-Clause"},
      {"CC0-1.0", "CC0-1.0"},
      {"Expat", "MIT"},
      {"MIT", "MIT"},
      {"GPL-1+", "GPL-1.0-or-later"},
      {"GPL-2", "GPL-2.0-only"},
      {"GPL-2+", "GPL-2.0-or-later"},
      {"GPL-3", "GPL-3.0-only"},
      {"GPL-3+", "GPL-3.0-or-later"},
      {"LGPL-2", "LGPL-2.0-only"},
      {"LGPL-2+", "LGPL-2.0-or-later"},
      {"LGPL-2.1", "LGPL-2.1-only"},
      {"LGPL-2.1+", "LGPL-2.1-or-later"},
      {"LGPL-3", "LGPL-3.0-only"},
      {"LGPL-3+", "LGPL-3.0-or-later"},
      {"MPL-1.1", "MPL-1.1"},
      {"MPL-2.0", "MPL-2.0"},
      {"ISC", "ISC"},
      {"Zlib", "Zlib"},
      {"OpenSSL", "OpenSSL"},
      {"curl", "curl"},
      {"bzip2-1.0.6", "bzip2-1.0.6"},
  };
  std::string out;
  std::string_view rest = debian_license;
  while (!rest.empty()) {
    size_t sep = rest.find(" AND ");
    std::string_view name = rest.substr(0, sep);
    rest = sep == std::string_view::npos ? std::string_view() : rest.substr(sep + 5);
    auto it = kIds.find(name);
    if (it == kIds.end()) return "";
    if (!out.empty()) out += " AND ";
    out += it->second;
  }
  return out;
}

}  // namespace strata::attest
