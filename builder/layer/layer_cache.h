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

#include "builder/base/json.h"
#include "builder/cache/entry_lock.h"
#include "builder/tar/tar_writer.h"

namespace strata::builder {

// A blob a RemoteLayerCache returned.
struct RemoteLayer {
  Digest digest;  // of the blob
  int64_t size = 0;
  // fetch_layer_by_inputs: what the entry's signed statement says the blob decompresses to
  // (the caller reads it back and checks).
  Digest diff_id;
  int64_t tar_size = 0;
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
  // The blob whose input key (layer_inputs.h) is `key`, of `media_type`, written through `fd`
  // into an empty file: its digest and size checked, its DiffID and tar size as the entry's
  // signed statement gives them (the caller reads the blob back and checks them). nullopt: a
  // miss, or an entry that did not verify.
  virtual Result<std::optional<RemoteLayer>> fetch_layer_by_inputs(const Digest& key,
                                                                   std::string_view media_type,
                                                                   int fd) = 0;
  // A layer made from the inputs `key` (preimage `inputs`), its blob at `path`: published
  // for other machines when the remote cache lacks it.
  virtual Result<void> publish_layer_inputs(const Digest& key, const Json& inputs,
                                            const LayerBlob& blob, const std::string& path) = 0;
  // A blob fetch_layer_by_inputs returned that did not read back as its statement says: the
  // implementation says so in a warning naming its entry.
  virtual void reject_layer_by_inputs(const Digest& key, const std::string& why) = 0;
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
Result<LayerBlob> write_layer_blob_cached(const LayerEntries& entries,
                                          const LayerWriteOptions& options,
                                          const std::string& blobs_dir, LayerCacheOptions& cache);

// A layer found by its input key (layer_inputs.h), before any of its entries exist: an intact
// entry of the local cache that CACHE/layers/inputs/<key hex> names, or one the remote cache
// holds (kept in the local cache first). `blob` lists its files, read back from the blob,
// whose DiffID was checked on the way.
struct FoundLayer {
  std::string blob_path;  // CACHE/layers/sha256/<layer cache key>/blob
  LayerBlob blob;         // its digest and size checked against the file's bytes when found
  cache::EntryHold hold;  // against prune, until the blob is copied
};

// The layer whose input key is `key`, with `options`, in the local cache and else in the
// remote one; nullopt when neither has it (or what they have did not verify: warned). Only
// for compressed layers with a local cache (cache.cache_dir).
Result<std::optional<FoundLayer>> find_layer_by_inputs(const Digest& key,
                                                       const LayerWriteOptions& options,
                                                       LayerCacheOptions& cache);

// A found layer's blob copied into blobs_dir (its bytes were checked when it was found, and
// it is held since): the LayerBlob it holds.
Result<LayerBlob> copy_found_layer(const FoundLayer& found, const std::string& blobs_dir);

// After write_layer_blob_cached wrote or copied the layer with input key `key` (preimage
// `inputs`) into blobs_dir: the local cache notes the key, the remote cache is offered it.
Result<void> note_layer_inputs(const Digest& key, const Json& inputs, const LayerBlob& blob,
                               const LayerWriteOptions& options, const std::string& blobs_dir,
                               LayerCacheOptions& cache);

}  // namespace strata::builder
