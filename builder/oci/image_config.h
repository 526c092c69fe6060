// The OCI image config and manifest documents, built from values (no I/O).
#pragma once

#include <string>
#include <vector>

#include "builder/base/json.h"
#include "builder/tar/tar_writer.h"
#include "specs/spec.h"

namespace strata::builder::oci {

// A layer as the config's history records it.
struct HistoryEntry {
  std::string created_by;
  std::string comment;
};

// The config JSON (application/vnd.oci.image.config.v1+json): execution parameters from
// image.config, rootfs.diff_ids in layer order, history entries 1:1 with the layers,
// created = epoch. Empty fields are omitted, never null.
Json make_config(const specs::Image& image, int64_t epoch, const std::vector<LayerBlob>& layers,
                 const std::vector<HistoryEntry>& history);

struct Descriptor {
  std::string media_type;
  Digest digest;
  int64_t size = 0;
  Json to_json() const;
};

Json make_manifest(const Descriptor& config, const std::vector<LayerBlob>& layers,
                   const std::map<std::string, std::string>& annotations);

}  // namespace strata::builder::oci
