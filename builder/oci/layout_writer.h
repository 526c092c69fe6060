// Writing an OCI image layout: blobs, the config and manifest, index.json, oci-layout, and
// Docker's manifest.json, so the tree (or a tar of it) loads with docker/podman load too.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "builder/oci/image_config.h"

namespace strata::builder::oci {

struct WrittenImage {
  Descriptor manifest;
  Descriptor config;
  std::vector<LayerBlob> layers;
};

struct LayoutNaming {
  std::string name;  // repository, e.g. "hello" or "example.com/team/hello"
  std::string tag;   // index.json ref.name, e.g. "2.12"
  std::string os;
  std::string architecture;
};

// Creates `layout_dir`/blobs/sha256 (layer blobs are written there before the documents).
Result<std::string> prepare_layout_dir(const std::string& layout_dir);

// Stores `bytes` as blobs/sha256/<digest> (atomically) and returns its descriptor.
Result<Descriptor> write_blob(const std::string& layout_dir, std::string_view bytes,
                              std::string media_type);

// Writes the config, the manifest, index.json, oci-layout and manifest.json into
// `layout_dir`, whose blobs/sha256 already holds every layer in `layers`.
Result<WrittenImage> write_layout_documents(const std::string& layout_dir, const Json& config,
                                            std::vector<LayerBlob> layers,
                                            const std::map<std::string, std::string>& annotations,
                                            const LayoutNaming& naming);

// Writes a tar of the layout directory to `out` in strata-det/1 form: an "oci-archive" that
// is also a "docker-archive".
Result<void> write_layout_archive(const std::string& layout_dir, BlobOutput& out, int64_t mtime);

}  // namespace strata::builder::oci
