// A layer's input key (docs/cache.md "Layers by their inputs"): what fixes its bytes, known
// before any of its entries exist. A layer of packages and `files:` is made from the
// packages' output trees (their digests, which the package cache knows without the trees),
// the entries of its files (hashed here: they are on this machine), the layers below it
// (whose symlinks place its paths), the epoch and the compression. A machine that finds a
// layer by this key takes the blob without the package outputs that made it, so a build
// whose every layer is cached downloads only the layers.
//
// The key is only as good as its preimage: whatever changes how such a layer is planned
// from its inputs (builder/layer/, builder/tar/tree.h) must change kLayerInputsFormat.
// `strata verify` rebuilds without the layer cache, so a key that missed something shows
// there as a difference.
#pragma once

#include <string>
#include <vector>

#include "builder/base/digest.h"
#include "builder/base/json.h"
#include "builder/tar/tar_writer.h"

namespace strata::builder {

inline constexpr char kLayerInputsFormat[] = "strata-layer-inputs/1";

struct LayerInputs {
  std::vector<Digest> packages;  // the output tree digest of each package, in the layer's order
  Digest files;                  // entries_digest of its `files:` entries
  // The layers below, in order: a base layer's DiffID, one of the spec's own by its input key.
  std::vector<Digest> lower;
};

// The preimage: canonical-JSON-ready, every value a string or a list of strings.
Json layer_inputs_document(const LayerInputs& inputs, const LayerWriteOptions& options);
// sha256 of the canonical JSON of layer_inputs_document.
Result<Digest> layer_input_key(const LayerInputs& inputs, const LayerWriteOptions& options);

// A digest of everything `entries` would put in a tar: each entry's path, type, mode,
// owner, size, link, xattrs and content (host files read and hashed). With `files`, also
// each entry's record as the writer would make it (the sha256 of a regular file's content).
// An error when a host file cannot be read.
Result<Digest> entries_digest(const LayerEntries& entries, FileRecords* files = nullptr);

}  // namespace strata::builder
