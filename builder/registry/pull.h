// Pulling images (docs/registries.md "Pull"): every manifest and blob hashed by strata and
// checked against the digest that named it (Docker-Content-Digest is never trusted), every
// read capped (manifests at 4 MiB, blobs at their descriptor's size), the platform chosen
// from an index, and everything kept in the content store CACHE/sources/sha256 so --offline
// and strata verify need no network afterwards. A pulled image is also laid out as an OCI
// layout CACHE/registry/images/<manifest hex>/ (its blobs hard links into the store), which
// the base-image and build-environment stages open like any local layout.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "builder/base/digest.h"
#include "builder/base/json.h"
#include "builder/oci/image_config.h"
#include "builder/registry/client.h"
#include "specs/registry_ref.h"
#include "specs/spec.h"

namespace strata::builder::registry {

// The media types a pull accepts, in the Accept header: OCI index and manifest, Docker
// manifest list and v2 manifest (distribution-spec; without them old registries answer
// schema 1 or 404).
inline constexpr char kManifestAccept[] =
    "Accept: application/vnd.oci.image.index.v1+json, "
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

struct Platform {
  std::string os = "linux";
  std::string architecture;
  std::string variant;  // empty: any
  std::string str() const;
};

struct PullOptions {
  std::string cache_dir;
  bool offline = false;  // only what the store holds; `client` may then be null
  std::function<void(const std::string&)> log;  // one line per blob pulled
  // Each layer decompressed once more to check its DiffID against the config (`strata pull`:
  // the layout it writes is then a valid image; builds check while reading the layers).
  bool verify_diff_ids = false;
};

// A manifest or index as fetched and verified.
struct FetchedManifest {
  std::string bytes;
  std::string media_type;  // the body's mediaType, else the Content-Type
  Digest digest;           // sha256 of bytes
  Json json;
  bool is_index() const;
};

struct PulledImage {
  std::string layout_dir;       // CACHE/registry/images/<manifest hex>
  Digest manifest;              // the image manifest used
  std::optional<Digest> index;  // the pinned index it was chosen from, if the pin named one
  std::string manifest_media_type;
  FetchedManifest manifest_document;
  std::vector<oci::Descriptor> blobs;  // config, then layers
};

// Fetches the manifest `reference` (a tag or "sha256:…") names: Accept with all four types,
// at most 4 MiB, schema 1 refused, a body whose mediaType contradicts its Content-Type
// refused; by digest, the bytes must hash to it (kDigestMismatch naming both).
Result<FetchedManifest> fetch_manifest(RegistryClient& client, const specs::RegistryRef& ref,
                                       const std::string& reference);

// The image manifest for `platform` in an index (nested lists followed once): entries whose
// platform is unknown/unknown or that are BuildKit attestation manifests are skipped. The
// error lists the platforms the index has.
Result<Json> select_platform(const Json& index, const Platform& platform, std::string_view what);

// Pulls the image `ref` pins (ref.digest must be set) for `platform` into the store and the
// image layout. Errors name the reference and what was wrong; on any error nothing is
// stored under a wrong name and no layout is published.
Result<PulledImage> pull_image(RegistryClient* client, const specs::RegistryRef& ref,
                               const Platform& platform, const PullOptions& options);

// `strata pull -o DIR`: the pulled image as an OCI layout at DIR (which must not exist yet),
// named by its reference (io.containerd.image.name "HOST/REPO:TAG", so a spec building on
// the layout makes the image a docker:// base makes) and tagged with ref.tag
// (org.opencontainers.image.ref.name) when set; blobs hard-linked from the store where DIR
// is on its filesystem, copied otherwise.
Result<void> export_layout(const PulledImage& image, const PullOptions& options,
                           const std::string& dir, const specs::RegistryRef& ref);

// image.base and environment.image written as docker://… references: each pulled (or found
// in the cache) and its ImageRef rewritten to the local layout and the manifest's digest,
// so every later stage opens it like a local image. `client` may be null with offline.
Result<void> resolve_spec_images(specs::Spec& spec, RegistryClient* client,
                                 const PullOptions& options, const std::string& host_architecture);

// Whether the spec names a registry image.
bool has_registry_images(const specs::Spec& spec);

}  // namespace strata::builder::registry
