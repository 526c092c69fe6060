// Deterministic identifiers the attestation documents share: SPDX element ids, name-based
// UUIDs and package URLs (and, from base, RFC 3339 times). Pure functions of their inputs.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "builder/base/time.h"
#include "specs/spec.h"

namespace strata::attest {

// RFC 4122 version 5 UUID (SHA-1, name-based) of `name` in the URL namespace, lowercase:
// uuid_v5_url("sha256:f2ed…") is the CycloneDX serialNumber of that image.
std::string uuid_v5_url(std::string_view name);

// Hands out SPDX element ids "SPDXRef-<prefix>-<text>" with `text` sanitized to the
// grammar [A-Za-z0-9.-]+ (every other byte becomes '-'). An id already handed out gets the
// first 12 hex digits of sha256(text) appended, then a counter: deterministic for a
// deterministic call order, and unique within one allocator.
class SpdxIds {
 public:
  std::string make(std::string_view prefix, std::string_view text);
  // The id make() hands out when no earlier id is the same: "SPDXRef-<prefix>-<sanitized>".
  static std::string natural(std::string_view prefix, std::string_view text);

 private:
  std::set<std::string> used_;
};

// Percent-encodes everything but RFC 3986 unreserved characters (and '/' when keep_slash).
std::string percent_encode(std::string_view text, bool keep_slash = false);

// pkg:oci purl of an image (purl-spec "oci" type): the last path segment of `repository`
// lowercased as the name, "sha256%3A<hex>" as the version, and the qualifiers arch,
// repository_url (only when `repository` has a '/') and tag, sorted by key.
std::string oci_purl(std::string_view repository, std::string_view manifest_hex,
                     std::string_view arch, std::string_view tag);

// pkg:oci purl of an image given as a local layout path ("./toolchain@sha256:…" in a spec):
// the name is the path's last segment (without ".tar"), no repository_url.
std::string local_image_purl(std::string_view path, std::string_view manifest_hex,
                             std::string_view arch);

// The purl of an image a spec pins (image.base, environment.image): a registry image's
// oci_purl with its repository_url and tag, a local one's local_image_purl.
std::string image_purl(const specs::ImageRef& ref, std::string_view arch);

// pkg:generic purl: "pkg:generic/NAME[@VERSION][?k=v&…]" with qualifiers sorted by key.
std::string generic_purl(std::string_view name, std::string_view version,
                         const std::map<std::string, std::string>& qualifiers = {});

}  // namespace strata::attest
