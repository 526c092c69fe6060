// SBOMs of an image (docs/sbom.md): SPDX 2.3 JSON and CycloneDX 1.6 JSON, built from the
// layers' file lists and the spec. Deterministic: times are the spec's epoch, ids and
// namespaces derive from the manifest digest and from paths.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "builder/base/digest.h"
#include "builder/base/json.h"
#include "specs/plan.h"

namespace strata::attest {

// A file with content in a layer: a regular file, or a hardlink (with its target's digest).
struct SbomFile {
  std::string path;  // relative, as in the tar ("etc/motd")
  Digest sha256;
  int64_t size = 0;
};

// Called with each file of a layer in turn; `path` is valid only during the call (the
// records are decoded one at a time).
using SbomFileVisitor =
    std::function<void(std::string_view path, const Digest& sha256, int64_t size)>;

struct SbomLayer {
  Digest digest;   // the blob as stored
  Digest diff_id;  // the uncompressed tar
  std::string media_type;
  std::vector<SbomFile> files;  // in tar order
  // When set, the files instead of `files`: calls its argument with each, in tar order, on
  // every pass the writers make, so a large layer's list is read where it is, not copied.
  std::function<void(const SbomFileVisitor&)> for_each_file;
};

// Calls `visit` with each file of `layer`: from for_each_file when set, else from files.
void for_each_file(const SbomLayer& layer, const SbomFileVisitor& visit);

// A Debian package a `debs:` layer installs (docs/debian-packages.md).
struct SbomDeb {
  std::string name;
  std::string version;
  std::string architecture;
  std::string vendor;                // the purl namespace: "debian"
  std::string distro;                // the purl's distro qualifier: "debian-12"
  std::string url;                   // where the .deb was downloaded from
  Digest sha256;                     // of the .deb
  std::string license;               // from its machine-readable copyright file; may be empty
  size_t layer = 0;                  // the spec layer (index into spec.image.layers) that holds it
  std::vector<std::string> files;    // its regular files, as in the tar ("usr/bin/x")
  std::vector<std::string> depends;  // the locked packages it depends on
};

// A Debian copyright file's licence short names ("GPL-2+ AND Expat") as an SPDX expression
// when each one has an SPDX identifier ("GPL-2.0-or-later AND MIT"); "" otherwise.
std::string spdx_license_of_debian(std::string_view debian_license);

// "pkg:deb/debian/NAME@VERSION?arch=ARCH&distro=DISTRO" (purl-spec "deb" type).
std::string deb_purl(const SbomDeb& deb);

struct SbomInputs {
  Digest manifest_digest;
  std::vector<SbomLayer> layers;  // in image order: the base image's first
  std::string strata_version;
  // How many of `layers` come from the base image (image.base): spec layer i is image layer
  // base_layers + i, which is the layer that CONTAINS (SPDX) or depends on (CycloneDX) the
  // packages it installs.
  size_t base_layers = 0;
  std::vector<SbomDeb> debs;  // sorted by layer, then name
};

// SPDX 2.3: the image as the root package, one package per layer containing its files (a
// path a later layer replaces is listed in both layers), one per spec package and source,
// the environment and base images, and the relationships between them. Writes the canonical
// JSON text to `sink` front to back, holding nothing per file but the (8-byte) hashes of the
// element ids while it checks them for collisions (docs/sbom.md "Memory"); fails on a path
// that is not valid UTF-8 or when the sink fails.
Result<void> write_spdx(const specs::Plan& plan, const SbomInputs& inputs, TextSink& sink);
// write_spdx into a string.
Result<std::string> make_spdx(const specs::Plan& plan, const SbomInputs& inputs);

// CycloneDX 1.6 with the same content: the image in metadata.component, layers as
// components with their files nested, packages, sources and images, and dependencies.
// Canonical JSON text, written and failing as write_spdx's; it keeps nothing per file.
Result<void> write_cyclonedx(const specs::Plan& plan, const SbomInputs& inputs, TextSink& sink);
Result<std::string> make_cyclonedx(const specs::Plan& plan, const SbomInputs& inputs);

// "https://strata.dev/spdx/NAME/sha256-<hex>": unique per image, stable across rebuilds.
std::string spdx_namespace(std::string_view name, const Digest& manifest_digest);

}  // namespace strata::attest
