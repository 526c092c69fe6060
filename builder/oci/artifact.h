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

struct ArtifactFile {
  std::string_view bytes;
  std::string media_type;  // also the manifest's artifactType
  std::string title;       // org.opencontainers.image.title of the layer (a file name)
};

struct Artifact {
  Descriptor manifest;
  std::string artifact_type;
};

// Writes `file` and the artifact manifest (empty config, `file` as its one layer, `subject`
// as subject, created = `created_epoch`) into the layout's blobs; returns the manifest.
Result<Artifact> write_artifact(const std::string& layout_dir, const ArtifactFile& file,
                                const Descriptor& subject, int64_t created_epoch);

// Appends `artifacts` to the layout's index.json, after what it lists, each with its
// artifactType and no ref.name, so `oci:DIR:TAG` still names only the image.
Result<void> add_to_index(const std::string& layout_dir, const std::vector<Artifact>& artifacts);

}  // namespace strata::builder::oci
