// What a run layer's commands changed, as the entries of an OCI layer: the tree after the
// commands compared with the tree before them (docs/run-layers.md "How changes are found").
// Changes are content, not times: a file whose type, mode, owner, content (or link target)
// are the same counts as unchanged, whatever its mtime, atime or inode.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "builder/base/result.h"
#include "builder/tar/tree.h"

namespace strata::builder::run_layer {

// A path's attributes as the lower layers' tars give them. The unpacked tree on disk loses
// setuid/setgid bits (environment/unpack.h) and, unprivileged, its owners; an entry of the
// layer that kept its mode (or owner) on disk takes the image's word from here.
struct LowerAttrs {
  uint32_t mode = 0;  // at most 07777
  int64_t uid = 0;
  int64_t gid = 0;
};
using LowerMeta = std::map<std::string, LowerAttrs, PathLess>;  // by relative path

struct DiffOptions {
  const LowerMeta* lower = nullptr;  // may be null: the disk's modes and owners are used
  // Unprivileged runs: files on disk owned by `host_uid`/`host_gid` belong to root inside
  // (the sandbox maps root to the invoking user), so they are 0 in the layer. As root, the
  // disk's owners are the image's.
  bool map_owners = false;
  uid_t host_uid = 0;
  gid_t host_gid = 0;
};

// The entries of the layer that turns `before` into `after` (two directory trees), in
// strata-det/1 order: new and changed entries (a new directory with everything below it),
// `DIR/.wh.NAME` for each entry of `before` missing from `after`, and every directory above
// a change with its attributes from `after`. Hardlinks between changed files stay hardlinks.
// Regular files' content is read from `after` (LayerEntry::host_path) when the layer is
// written, so `after` must outlive the entries. The top-level dev, proc, sys and tmp are the
// sandbox's and never compared. Devices, fifos and sockets in `after` are errors.
Result<std::vector<LayerEntry>> diff_trees(const std::string& before, const std::string& after,
                                           const DiffOptions& options);

// The same layer from an overlayfs: `upper` its upper directory over `lower` (the tree before).
// The merged tree is read as overlayfs shows it: a whiteout (a 0/0 character device, or an
// empty file with a user.overlay.whiteout or trusted.overlay.whiteout xattr) hides a lower
// entry, a directory with user.overlay.opaque (or trusted.) hides the lower one's entries.
// Then it is compared with `lower` exactly as diff_trees compares two trees, so both give
// the same entries for the same change.
Result<std::vector<LayerEntry>> diff_overlay(const std::string& lower, const std::string& upper,
                                             const DiffOptions& options);

}  // namespace strata::builder::run_layer
