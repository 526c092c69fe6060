// Compressed layer blobs kept between builds (docs/cache.md "Layer blobs"), so a rebuild whose
// layers did not change copies them instead of compressing them again. An entry is found by
// what fixes a blob's bytes: the DiffID of its tar (computed from the entries, uncompressed,
// which costs a read and a hash of the content but no compression), the compression, the
// determinism profile and the compression libraries' versions (compressor_versions). Every
// use re-hashes the blob it copies; one that does not match is dropped and written afresh.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "builder/tar/tar_writer.h"

namespace strata::builder {

struct LayerCacheOptions {
  std::string cache_dir;  // the strata cache (entries under CACHE/layers/sha256/); "" = none
  // Told about a cache entry that could not be used or stored (the build goes on).
  std::function<void(const std::string&)> warn;
};

// The entry's name: sha256 of the canonical JSON of what fixes the blob's bytes.
Digest layer_cache_key(const Digest& diff_id, const LayerWriteOptions& options);

// write_layer_blob through the cache: the blob copied from CACHE/layers/sha256/<key>/blob
// when it is there and intact, else written (compressed) and then stored there. The result
// is the same LayerBlob either way, files included. A cache that cannot be read or written
// is warned about once and cleared from `cache` (the build's later layers skip it); only
// errors writing into `blobs_dir` fail.
Result<LayerBlob> write_layer_blob_cached(const std::vector<LayerEntry>& entries,
                                          const LayerWriteOptions& options,
                                          const std::string& blobs_dir, LayerCacheOptions& cache);

}  // namespace strata::builder
