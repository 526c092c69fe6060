// A layer blob in an OCI layout: the strata-det/1 tar of some entries, compressed, stored
// under blobs/sha256/ by its digest.
#pragma once

#include <string>
#include <vector>

#include "builder/tar/tar_writer.h"

namespace strata::builder {

// Writes `entries` into `blobs_dir` (an OCI layout's blobs/sha256): to a temporary file,
// fsynced, then renamed to its digest, so the directory never holds a partial blob.
Result<LayerBlob> write_layer_blob(const LayerEntries& entries, const LayerWriteOptions& options,
                                   const std::string& blobs_dir);

}  // namespace strata::builder
