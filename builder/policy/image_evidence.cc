#include "builder/policy/image_evidence.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <set>

#include "builder/base/fs.h"
#include "builder/base/path.h"
#include "builder/oci/artifact.h"
#include "builder/tar/layer_reader.h"

namespace strata::builder::policy {
namespace {

struct Known {
  const char* suffix;
  const char* artifact_type;
  AttestationKind kind;
  bool envelope;
};

// The file suffixes strata build writes and the artifact types --attach (and push/pull) use.
constexpr Known kKnown[] = {
    {".provenance.json", oci::kStatementType, AttestationKind::kProvenance, false},
    {".provenance.dsse.json", oci::kProvenanceDsseType, AttestationKind::kProvenance, true},
    {".spdx.json", oci::kSpdxType, AttestationKind::kSpdx, false},
    {".cdx.json", oci::kCycloneDxType, AttestationKind::kCycloneDx, false},
    {".openvex.json", kOpenVexType, AttestationKind::kVex, false},
    {".openvex.dsse.json", kOpenVexDsseType, AttestationKind::kVex, true},
};

Result<void> add_beside(const std::string& beside, std::vector<Attestation>& out) {
  for (const Known& k : kKnown) {
    std::string path = beside + k.suffix;
    if (!path_resolves(path)) continue;
    STRATA_TRY_ASSIGN(std::string bytes, read_file_limited(path, kMaxAttestationBytes));
    out.push_back({k.kind, k.envelope, path, std::move(bytes)});
  }
  return Ok{};
}

// The artifacts of the layout's index.json whose subject is the image manifest; other
// entries (the image, artifacts of other manifests, unknown types) are left alone.
Result<void> add_artifacts(const oci::ImageView& image, std::vector<Attestation>& out) {
  const Json& manifests = member(image.index, "manifests");
  if (!manifests.is_array()) return Ok{};
  for (const Json& entry : manifests) {
    std::string type = string_member(entry, "artifactType");
    const Known* known = nullptr;
    for (const Known& k : kKnown) {
      if (type == k.artifact_type) known = &k;
    }
    if (known == nullptr) continue;
    STRATA_TRY_ASSIGN(oci::Descriptor d, oci::parse_descriptor(entry, "index.json"));
    STRATA_TRY_ASSIGN(std::string text, oci::read_verified_blob(image.layout_dir, d));
    STRATA_TRY_ASSIGN(Json manifest, parse_json(text, d.digest.str()));
    if (string_member(member(manifest, "subject"), "digest") !=
        image.manifest_descriptor.digest.str())
      continue;
    const Json& layers = member(manifest, "layers");
    if (!layers.is_array() || layers.size() != 1) continue;
    STRATA_TRY_ASSIGN(oci::Descriptor layer, oci::parse_descriptor(layers[0], d.digest.str()));
    if (layer.size > kMaxAttestationBytes) {
      return Error(ErrorCode::kInvalidInput,
                   fmt::format("{}: artifact {} is {} bytes; at most {} are read", image.source,
                               d.digest.str(), layer.size, kMaxAttestationBytes));
    }
    STRATA_TRY_ASSIGN(std::string bytes,
                      read_file_limited(image.blob_path(layer.digest), kMaxAttestationBytes));
    if (sha256_of(bytes) != layer.digest) {
      return Error(ErrorCode::kDigestMismatch, fmt::format("{}: artifact layer {}: digest mismatch",
                                                           image.source, layer.digest.str()));
    }
    out.push_back({known->kind, known->envelope,
                   fmt::format("{}: artifact {} ({})", image.source, d.digest.str(), type),
                   std::move(bytes)});
  }
  return Ok{};
}

Result<void> read_layers(const oci::ImageView& image, ImageEvidence& e) {
  for (size_t i = 0; i < image.layers.size(); ++i) {
    const oci::Descriptor& layer = image.layers[i];
    e.size_bytes += layer.size;
    auto visit = [&](const ReadEntry& entry) -> Result<void> {
      if (entry.type == EntryType::kRegular && (entry.mode & (S_ISUID | S_ISGID)) != 0) {
        e.setid_files.push_back({"/" + entry.path, entry.mode, i});
      }
      return Ok{};
    };
    // The blob is checked against its descriptor first: a layer swapped on disk must not
    // hide a setuid file behind the manifest's digest.
    std::string path = image.blob_path(layer.digest);
    STRATA_TRY_ASSIGN(Digest actual, sha256_file(path));
    if (actual != layer.digest) {
      return Error(ErrorCode::kDigestMismatch,
                   fmt::format("{}: layer {}: digest mismatch: expected {}, actual {}",
                               image.source, i + 1, layer.digest.str(), actual.str()));
    }
    STRATA_TRY_CONTEXT(read_layer_file(path, visit),
                       fmt::format("reading layer {}", layer.digest.str()));
  }
  e.layer_count = image.layers.size();
  return Ok{};
}

}  // namespace

std::optional<Attestation> artifact_attestation(const std::string& artifact_type, std::string bytes,
                                                std::string source) {
  for (const Known& k : kKnown) {
    if (artifact_type == k.artifact_type) {
      return Attestation{k.kind, k.envelope, std::move(source), std::move(bytes)};
    }
  }
  return std::nullopt;
}

void add_attestation(ImageEvidence& e, Attestation a) {
  Digest d = sha256_of(a.bytes);
  for (const Attestation& have : e.attestations) {
    if (sha256_of(have.bytes) == d) return;
  }
  e.attestations.push_back(std::move(a));
}

std::string attestation_base(const std::string& image_path) {
  std::string base = image_path;
  while (base.size() > 1 && base.ends_with('/')) base.pop_back();
  if (base.ends_with(".tar")) base.resize(base.size() - 4);
  return base;
}

Result<ImageEvidence> gather_evidence(const oci::ImageView& image, const std::string& beside) {
  ImageEvidence e{.source = image.source,
                  .manifest = image.manifest_descriptor.digest,
                  .config = image.config,
                  .size_bytes = image.config_descriptor.size};
  e.name = basename_of(attestation_base(image.source));
  STRATA_TRY(read_layers(image, e));
  if (!beside.empty()) STRATA_TRY(add_beside(beside, e.attestations));
  STRATA_TRY(add_artifacts(image, e.attestations));
  // The same document beside the layout and attached in it is one piece of evidence.
  std::set<Digest> seen;
  std::erase_if(e.attestations,
                [&](const Attestation& a) { return !seen.insert(sha256_of(a.bytes)).second; });
  return e;
}

}  // namespace strata::builder::policy
