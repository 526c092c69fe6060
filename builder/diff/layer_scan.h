// Reading one layer blob for a comparison: its digest, size and DiffID in one streaming pass,
// and its entries (metadata and content digests only, never contents) with normalised paths.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "builder/base/digest.h"
#include "builder/tar/layer_reader.h"

namespace strata::builder::diff {

struct BlobScan {
  bool is_readable = false;
  std::string error;  // why the blob could not be read, when !is_readable
  Digest digest;      // of the bytes as stored
  int64_t size_bytes = 0;
  Digest diff_id;  // of the decompressed bytes (gzip, zstd or none, detected from the data)
};

// Hashes the blob at `path`. Never fails: a missing or undecodable blob comes back with
// is_readable == false and the reason, because a broken blob is a finding, not an error.
BlobScan scan_blob(const std::string& path);

// Every entry of the layer at `path` in archive order, paths (and hardlink targets)
// normalised by archive_member_path (builder/base/path.h).
Result<std::vector<ReadEntry>> read_entries(const std::string& path);

}  // namespace strata::builder::diff
