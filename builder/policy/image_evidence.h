// What a policy is judged on (docs/policy.md "Evidence"): an image's config, sizes and
// setuid/setgid files, and the attestations found for it — the files beside its layout
// (out/NAME.provenance.json, .provenance.dsse.json, .spdx.json, .cdx.json, .openvex.json,
// .openvex.dsse.json) and the OCI 1.1 artifacts in the layout whose subject is the image
// (what `strata build --attach` and `strata pull` store). Nothing is trusted yet: signatures
// are checked when the rules are evaluated (evaluate.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "attest/vex.h"
#include "builder/base/digest.h"
#include "builder/base/json.h"
#include "builder/oci/artifact.h"
#include "builder/oci/image_reader.h"

namespace strata::builder::policy {

// OpenVEX documents as the build writes them (attest/vex.h, builder/oci/artifact.h): the
// DSSE envelope of an in-toto Statement and the plain document.
using attest::kOpenVexPredicateType;
using oci::kOpenVexDsseType;
using oci::kOpenVexType;

enum class AttestationKind { kProvenance, kSpdx, kCycloneDx, kVex };

// One attestation document as found.
struct Attestation {
  AttestationKind kind = AttestationKind::kProvenance;
  bool envelope = false;  // a DSSE envelope (to be verified), else the plain document
  std::string source;     // "out/hello.provenance.json" or "out/hello: artifact sha256:…"
  std::string bytes;
};

struct SetidFile {
  std::string path;
  uint32_t mode = 0;
  size_t layer = 0;  // index in the manifest's layers
};

struct ImageEvidence {
  std::string source;  // the image as given
  std::string name;    // its name: the layout's last path component, or the registry name
  Digest manifest;
  Json config;
  int64_t size_bytes = 0;  // the config plus every layer, as stored (compressed)
  size_t layer_count = 0;
  std::vector<SetidFile> setid_files;  // regular files with S_ISUID or S_ISGID, any layer
  std::vector<Attestation> attestations;
  // Set by `strata verify --policy` only: whether the rebuild reproduced the image, and why.
  std::optional<bool> reproduced;
  std::string reproduced_detail;
};

// The largest attestation document read (a provenance of a many-file image is tens of MB).
inline constexpr int64_t kMaxAttestationBytes = 256 << 20;

// The files beside IMAGE: its path without a trailing '/' or ".tar" + each suffix above.
std::string attestation_base(const std::string& image_path);

// Gathers the evidence of an opened image: `beside` is attestation_base(...) ("" to look at
// the layout only); every layer's blob is checked against its digest and read for
// setuid/setgid files. Errors: an unreadable or mismatched layer or artifact
// (kInvalidInput, kDigestMismatch, kIo).
Result<ImageEvidence> gather_evidence(const oci::ImageView& image, const std::string& beside);

// An artifact fetched from a registry's referrers (registry::fetch_artifacts) as evidence;
// nullopt for an artifact type that is none of the above.
std::optional<Attestation> artifact_attestation(const std::string& artifact_type, std::string bytes,
                                                std::string source);

// Adds `a` unless the evidence already holds the same bytes.
void add_attestation(ImageEvidence& e, Attestation a);

}  // namespace strata::builder::policy
