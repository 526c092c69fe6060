// `run:` layers (docs/run-layers.md): commands run in the sandbox with the image assembled so
// far as a writable root filesystem; what they change becomes the next layer. Cached like a
// package output, by the lower layers' DiffIDs, the commands, the environment and the
// determinism profile.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "builder/base/digest.h"
#include "builder/base/fs.h"
#include "builder/cache/entry_lock.h"
#include "builder/tar/compressor.h"
#include "builder/tar/tree.h"
#include "sandbox/sandbox.h"
#include "specs/spec.h"

namespace strata::builder::run_layer {

// A lower layer read from a file: a base image's blob (any compression) and its DiffID.
struct LowerBlob {
  std::string path;
  Digest diff_id;
};

struct RunLayerRequest {
  const specs::LayerSpec* layer = nullptr;  // its `run` commands, with their locations
  size_t index = 0;                         // 0-based position in image.layers
  // The layers below, bottom first: the base image's blobs, then the spec's earlier layers
  // as entries (written as strata-det tars to be unpacked).
  std::vector<LowerBlob> base;
  std::vector<const LayerEntries*> layers;
  int64_t epoch = 0;
  DeterminismProfile profile = kCurrentProfile;
  std::string cache_dir;  // the strata cache: entries in CACHE/run-layers/sha256/
  // false: the commands run even when the cache has the layer, and nothing is stored
  // (strata verify rebuilds everything it checks).
  bool use_cache = true;
  // Always the copy path (STRATA_RUN_LAYER_COPY=1, read by the command): the tree unpacked
  // twice and compared, never an overlayfs. Both give the same layer; tests use this.
  bool force_copy = false;
  sandbox::Runner* runner = nullptr;
};

// Whether `error` (from running a command) is the kernel refusing the writable overlayfs, so
// the copy path can take over: a setup failure at "mount overlay", before anything ran.
bool overlay_refused(const Error& error);

// The layer's entries (strata-det/1 order) and what keeps their content files alive: the
// cache entry, held against `strata cache prune`, or the scratch directory of an uncached run.
struct RunLayer {
  std::vector<LayerEntry> entries;
  Digest key;
  bool cached = false;  // taken from the cache without running anything
  cache::EntryHold hold;
  std::shared_ptr<TempDir> scratch;
};

// The environment the commands see (the same for every run): PATH, HOME=/root, TZ=UTC,
// LANG/LC_ALL=C.UTF-8, SOURCE_DATE_EPOCH.
std::vector<std::string> run_environment(int64_t epoch);

// The cache key: sha256 of the canonical JSON of the lower DiffIDs, the commands, the
// environment and the profile.
Result<Digest> run_layer_key(const std::vector<Digest>& lower_diff_ids,
                             const std::vector<std::string>& commands, int64_t epoch,
                             DeterminismProfile profile);

// Runs the layer's commands (or takes the result from the cache). A command that fails is
// a build error at the command's location naming the layer, the command, how it ended and
// the end of its output; nothing is stored then.
Result<RunLayer> build_run_layer(const RunLayerRequest& request);

}  // namespace strata::builder::run_layer
