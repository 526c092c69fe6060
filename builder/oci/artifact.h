// OCI 1.1 artifacts stored in a layout: a file (a provenance, an SBOM, a signature) as the
// one layer of a manifest whose `subject` is an image manifest, listed in index.json with
// its artifactType. Referrer-aware tools (oras, regctl, `cosign tree`) find them from the
// image. See https://github.com/opencontainers/image-spec/blob/v1.1.0/manifest.md
// ("Guidelines for Artifact Usage" and "subject").
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "builder/oci/image_config.h"

namespace strata::builder::oci {

// OCI 1.1 artifact types: the in-toto attestation storage convention for a DSSE envelope of
// a provenance or of an OpenVEX statement (application/vnd.in-toto.<predicate>+dsse,
// https://github.com/in-toto/attestation/blob/main/docs/protocol.md), the plain in-toto type
// for an unsigned statement, the IANA-registered SBOM media types (application/spdx+json,
// application/vnd.cyclonedx+json) and OpenVEX's own type for an unsigned document
// (docs/vex.md).
inline constexpr char kProvenanceDsseType[] = "application/vnd.in-toto.provenance+dsse";
inline constexpr char kStatementType[] = "application/vnd.in-toto+json";
inline constexpr char kSpdxType[] = "application/spdx+json";
inline constexpr char kCycloneDxType[] = "application/vnd.cyclonedx+json";
inline constexpr char kOpenVexDsseType[] = "application/vnd.in-toto.openvex+dsse";
inline constexpr char kOpenVexType[] = "application/openvex+json";

// The empty config of an artifact manifest ("{}", image-spec "Guidance for an Empty
// Descriptor").
inline constexpr char kEmptyConfig[] = "{}";

struct ArtifactFile {
  std::string_view bytes;
  std::string media_type;  // also the manifest's artifactType
  std::string title;       // org.opencontainers.image.title of the layer (a file name)
};

struct Artifact {
  Descriptor manifest;
  std::string artifact_type;
};

// The artifact manifest of `file` (canonical JSON): the empty config, `file` as its one layer
// titled file.title, `subject` as subject, org.opencontainers.image.created = `created`.
// The same inputs give the same bytes, so a layout's attached artifact and the one `strata
// push` makes from the file beside the layout are the same manifest.
Result<std::string> artifact_manifest(const ArtifactFile& file, const Descriptor& subject,
                                      const std::string& created);

// Writes `file` and the artifact manifest (empty config, `file` as its one layer, `subject`
// as subject, created = `created_epoch`) into the layout's blobs; returns the manifest.
Result<Artifact> write_artifact(const std::string& layout_dir, const ArtifactFile& file,
                                const Descriptor& subject, int64_t created_epoch);

// Appends `artifacts` to the layout's index.json, after what it lists, each with its
// artifactType and no ref.name, so `oci:DIR:TAG` still names only the image.
Result<void> add_to_index(const std::string& layout_dir, const std::vector<Artifact>& artifacts);

}  // namespace strata::builder::oci
