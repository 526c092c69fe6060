// Compressed layer blobs kept between builds (docs/cache.md "Layer blobs"), so a rebuild whose
// layers did not change copies them instead of compressing them again. An entry is found by
// what fixes a blob's bytes: the DiffID of its tar (computed from the entries, uncompressed,
// which costs a read and a hash of the content but no compression), the compression, the
// determinism profile and the compression libraries' versions (compressor_versions). Every
// use re-hashes the blob it copies; one that does not match is dropped and written afresh.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "builder/tar/tar_writer.h"

namespace strata::builder {

// A blob a RemoteLayerCache returned.
struct RemoteLayer {
  Digest digest;  // of the blob
  int64_t size = 0;
};

// Layer blobs shared beyond this machine (docs/cache.md "Layer blobs in a registry cache"):
// asked after a local miss, before compressing; given every blob written. The implementation
// (builder/registry_cache/) verifies what it returns: its signature, the blob's digest and the
// DiffID of its decompressed bytes against the one computed here from the entries.
class RemoteLayerCache {
 public:
  virtual ~RemoteLayerCache() = default;
  // The blob for `key` whose tar is `tar` (its DiffID and size, from the uncompressed pass),
  // of `media_type`, written through `fd` into the empty file `path` (which the caller renames
  // into place or removes): its digest and size. nullopt: a miss, or an entry that did not verify
  // (the implementation warned). An error fails the build (only when the cache is required).
  virtual Result<std::optional<RemoteLayer>> fetch_layer(const Digest& key, const LayerBlob& tar,
                                                         std::string_view media_type, int fd,
                                                         const std::string& path) = 0;
  // A blob written (or copied from the local cache) for `key`, at `path`: published for
  // other machines when the remote cache lacks it.
  virtual Result<void> publish_layer(const Digest& key, const LayerBlob& blob,
                                     const std::string& path) = 0;
};

struct LayerCacheOptions {
  std::string cache_dir;  // the strata cache (entries under CACHE/layers/sha256/); "" = none
  RemoteLayerCache* remote = nullptr;  // --cache-registry
  // Uncompressed passes made to look a layer up (for tests and benchmarks): none for a layer
  // this cache has never seen, one otherwise.
  int64_t lookup_passes = 0;
  // Told about a cache entry that could not be used or stored (the build goes on).
  std::function<void(const std::string&)> warn;
};

// The entry's name: sha256 of the canonical JSON of what fixes the blob's bytes.
Digest layer_cache_key(const Digest& diff_id, const LayerWriteOptions& options);

// write_layer_blob through the cache: the blob copied from CACHE/layers/sha256/<key>/blob
// when it is there and intact, else written (compressed) and then stored there. Layers with
// Compression::kNone are always written, never cached. Entries whose stat-only fingerprint
// the cache has never seen (CACHE/layers/hints/) are compressed at once, without the lookup
// pass; a hint is only ever a reason to look, never a reason to use a blob. The result
// is the same LayerBlob either way, files included. A cache that cannot be read or written
// is warned about once and cleared from `cache` (the build's later layers skip it); only
// errors writing into `blobs_dir` fail.
Result<LayerBlob> write_layer_blob_cached(const std::vector<LayerEntry>& entries,
                                          const LayerWriteOptions& options,
                                          const std::string& blobs_dir, LayerCacheOptions& cache);

}  // namespace strata::builder
