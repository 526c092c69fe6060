// Pushing images (docs/registries.md "Push"): every blob HEADed first and skipped when the
// registry has it, base layers mounted from the base image's repository when it is on the
// same registry, otherwise a monolithic POST+PUT upload with a chunked PATCH upload as the
// fallback (offsets tracked by strata, 201 to PATCH accepted); manifests with their exact
// bytes and Content-Type, children before an index, the attestations as OCI 1.1 artifacts
// whose subject is the image manifest, and the tag last. A registry that does not answer
// OCI-Subject gets the referrers tag schema (referrers.h).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "builder/oci/image_config.h"
#include "builder/oci/image_reader.h"
#include "builder/registry/client.h"
#include "builder/registry/referrers.h"
#include "specs/registry_ref.h"

namespace strata::builder::registry {

// A document that goes up as an artifact of the image (a provenance, an envelope, an SBOM).
struct AttestationFile {
  std::string path;  // for messages; its last component is the layer's title
  std::string bytes;
  std::string media_type;  // also the artifactType
};

// The attestations a build wrote beside IMAGE (IMAGE without .tar, + .provenance.json,
// .provenance.dsse.json, .spdx.json, .cdx.json, .openvex.json, .openvex.dsse.json), chosen
// as --attach chooses: for the provenance and the OpenVEX document the envelope when there
// is one, else the document; and the SBOM. A provenance or VEX whose subject is not the
// image is left out with a warning, and so is an SBOM that does not name it.
Result<std::vector<AttestationFile>> attestations_beside(
    const std::string& image_path, const Digest& manifest,
    const std::function<void(const std::string&)>& warn);

struct PushOptions {
  std::string tag;  // empty: pushed by digest only
  std::vector<AttestationFile> attestations;
  bool layout_artifacts = true;  // also the artifacts index.json lists for the image
  // >0: chunked uploads in pieces of this many bytes from the start (tests; registries that
  // refuse large requests are found by their 413 without it).
  int64_t chunk_bytes = 0;
  TagUpdateOptions referrers_tag;
  std::function<void(const std::string&)> log;   // one line per blob and manifest
  std::function<void(const std::string&)> warn;  // zstd layers, skipped attestations
};

struct PushReport {
  oci::Descriptor pushed;  // what the tag names: the image manifest or its index
  int uploaded = 0;
  int skipped = 0;  // the registry had them
  int mounted = 0;
  int64_t bytes_uploaded = 0;
  std::vector<Referrer> referrers;  // the artifacts pushed for the image
  bool referrers_api = false;       // the registry indexed them (OCI-Subject)
  int referrers_tag_added = 0;      // entries written to the sha256-<hex> tag
};

// A blob to send: a file (a layout's blob) or bytes held in memory (small documents).
struct BlobUpload {
  oci::Descriptor descriptor;
  std::string path;
  std::string bytes;
  std::string what;  // for messages: "layer 2 of 3", "config", "provenance"
};

// One blob as push_image sends each: HEAD, skipped when there; else uploaded (monolithic,
// chunked on a 413 or with options.chunk_bytes). True when it was uploaded.
Result<bool> upload_blob(RegistryClient& client, const specs::RegistryRef& dest,
                         const BlobUpload& blob, const PushOptions& options);

// PUTs a manifest's exact bytes by `reference` (a digest or a tag) with `media_type` as its
// Content-Type; the registry's Docker-Content-Digest, when given, must be the bytes' digest.
Result<HttpResponse> put_manifest(RegistryClient& client, const specs::RegistryRef& dest,
                                  const std::string& reference, const std::string& bytes,
                                  const std::string& media_type);

// Pushes `image` (opened with open_image) to `dest` (its repository; tag and digest unused).
Result<PushReport> push_image(RegistryClient& client, const oci::ImageView& image,
                              const specs::RegistryRef& dest, const PushOptions& options);

}  // namespace strata::builder::registry
