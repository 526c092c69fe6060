// Placing a layer over the layers below it (a base image's, the spec's earlier ones) the way
// dpkg installs on a merged-/usr system: where they have a symlink to a directory (`lib ->
// usr/lib`), the layer's entries go below the symlink's target and the symlink stays, instead
// of a directory in the layer replacing it (and /bin/sh with it). See docs/base-images.md.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "builder/base/digest.h"
#include "builder/tar/tree.h"

namespace strata::builder {

// The merged view of the lower layers, as far as placing entries needs it: their directories
// and symlinks only (never file contents, nor the paths of files), whiteouts applied.
class LowerLayers {
 public:
  enum class Kind { kDirectory, kSymlink };
  struct Node {
    Kind kind = Kind::kDirectory;
    std::string target;  // kSymlink: the link text
    size_t where = 0;    // which layer: an index for where()
  };

  // Merges one layer read back from a blob (gzip, zstd or plain tar), e.g. a base image's;
  // `where` names it in errors ("the base image"). With `diff_id`, the blob's decompressed
  // tar must have that sha256 (the config's rootfs.diff_ids entry): a base whose config
  // names other layers than it holds would otherwise be copied into an invalid image
  // (kDigestMismatch, "WHERE: layer sha256:…: diff_id mismatch: the config says …, the
  // layer's tar is …").
  Result<void> add_blob(const std::string& path, const std::string& where,
                        const std::optional<Digest>& diff_id = std::nullopt);
  // Merges the entries of a layer strata writes (as place_entries returned them); add_layer
  // in one pass over them (whose error is returned).
  void add_entries(const std::vector<LayerEntry>& entries, const std::string& where);
  Result<void> add_layer(const LayerEntries& entries, const std::string& where);

  // The directory or symlink at `path` (relative, not resolved), or nullptr.
  const Node* find(const std::string& path) const;
  const std::string& where(const Node& node) const { return wheres_[node.where]; }
  bool has_symlinks() const { return symlinks_ > 0; }

 private:
  // `path` and everything below it go (a non-directory replaces it, or a whiteout hides it).
  void remove(const std::string& path);
  // Everything below `dir` goes (an opaque whiteout); "" is the root.
  void remove_below(const std::string& dir);
  void put(const std::string& path, Node node);
  void add_entry(const LayerEntry& e, size_t where);

  std::map<std::string, Node, PathLess> nodes_;
  std::vector<std::string> wheres_;
  size_t symlinks_ = 0;
};

// Returns one layer's entries (strata-det/1 order) placed over `lower`. Every path is
// resolved through the lower layers' symlinks (relative targets against the link's
// directory, absolute ones against the image root, never the host's); a directory entry
// where they have a symlink to a directory is dropped (the symlink stays, as dpkg keeps it),
// and the entries below it move to the symlink's resolved target, in strata-det/1 order
// again. A symlink that leads out of the image root, loops, or does not end at a directory
// of the lower layers is a spec error at the entry's origin naming the entry, the symlink
// and its target. Without symlinks below, the entries come back unchanged.
Result<std::vector<LayerEntry>> place_entries(std::vector<LayerEntry> entries,
                                              const LowerLayers& lower);
// The same for entries read in passes: unchanged (and still streamed) without symlinks
// below, else held and placed.
Result<LayerEntries> place_layer(LayerEntries entries, const LowerLayers& lower);

}  // namespace strata::builder
