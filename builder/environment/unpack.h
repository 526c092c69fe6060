// Applying OCI layers onto a directory (OCI image-spec layer.md "Applying Changesets"),
// safely: a hostile layer cannot write, link or delete anything outside the root.
#pragma once

#include <optional>
#include <string>

#include "builder/base/digest.h"

namespace strata::builder::environment {

struct ApplyOptions {
  // The blob's digest (from the manifest): the compressed file is hashed before anything
  // is written, and a mismatch writes nothing.
  std::optional<Digest> blob_digest;
  // The layer's DiffID (from the config's rootfs.diff_ids): the decompressed tar stream is
  // hashed as it is unpacked and compared at the end; a mismatch is an error after the
  // entries were applied, so callers unpack into a staging directory they then discard.
  std::optional<Digest> diff_id;
  // Give entries the tar's uid/gid. Needs root (see running_as_root()); without it files
  // belong to the caller and directories keep owner rwx, so later layers can still write
  // into them.
  bool preserve_owners = false;
};

// Whether this process may chown files to any owner (its effective uid is 0).
bool running_as_root();

// Applies the layer blob at `blob_path` (plain tar, gzip, zstd, ...: libarchive detects
// the compression) onto `root_dir`, which holds the lower layers:
// - `.wh.NAME` removes NAME (and everything below it) from the lower layers;
//   `DIR/.wh..wh..opq` removes DIR's lower content, whatever its position in the tar.
//   Entries this layer itself wrote are never hidden by its own whiteouts.
// - a directory entry over a directory replaces its attributes; any other entry replaces
//   what was there (a directory with its whole subtree).
// - names must be relative without "..", no path is resolved through a symlink, and a
//   hardlink's target must be an existing non-directory below the root.
// - block and character devices, fifos and sockets are skipped: the sandbox provides /dev.
// - setuid and setgid bits are never applied (with or without preserve_owners): the tree is
//   on the host, where a setuid-root file would be a way to root; no_new_privs makes them
//   inert in the sandbox anyway.
// - xattrs (file capabilities among them) are not applied. mtimes are; directories' mtimes
//   change as later entries land.
// Errors (kIo, kDigestMismatch) name the blob and the entry.
Result<void> apply_layer(const std::string& blob_path, const std::string& root_dir,
                         const ApplyOptions& options);

}  // namespace strata::builder::environment
