// `environment.rootfs: debs`: a read-only root filesystem assembled from the .debs that
// strata.lock's `environment` section holds, cached by that section's digest
// (docs/build-environments.md, "rootfs: debs").
#pragma once

#include <string>
#include <vector>

#include "builder/debian/lock.h"
#include "builder/sources/fetcher.h"
#include "builder/sources/store.h"
#include "builder/tar/tree.h"

namespace strata::builder::environment {

// CACHE/rootfs/debs/<hex of debian::environment_digest>: `rootfs/` and `complete`, as an
// image entry (cache.h).
std::string debs_rootfs_entry_dir(const std::string& cache_dir, const Digest& environment_digest);

struct DebsRootfsOptions {
  std::string cache_dir;
  sources::SourceOptions sources;  // the content store the .debs are downloaded into
  std::string spec_dir;
  sources::Fetcher* fetcher = nullptr;
};

// Returns the tree of `environment` (ENTRY/rootfs), assembling it first unless a complete
// entry exists (ensure_rootfs_entry: staged, sealed, renamed; an incomplete entry is
// discarded). On a miss every locked .deb is fetched into the content store, verified
// against the lock's sha256 and size, read with every entry checked (debian/deb_file.h) and
// unpacked by write_deb_entries, in the lock's order; then make_toolchain_links runs.
// Errors name the package.
Result<std::string> ensure_debs_rootfs(const debian::LockedEnvironment& environment,
                                       const DebsRootfsOptions& options);

struct DebsRootfs {
  std::string tree;   // ENTRY/rootfs
  std::string entry;  // ENTRY, for holds against `strata cache prune`
  Digest digest;      // debian::environment_digest of the lock's environment section
  std::vector<debian::LockedPackage> packages;
};

// The spec's `rootfs: debs` environment: strata.lock beside the spec loaded and checked
// against the spec (debian::load_lock; a spec/lock mismatch is a kSpec error saying to run
// `strata lock`), then ensure_debs_rootfs.
Result<DebsRootfs> ensure_spec_debs_rootfs(const specs::Spec& spec,
                                           const DebsRootfsOptions& options);

// Writes one package's data.tar entries below `root_fd` as a merged-/usr system has them:
// a first component bin, sbin, lib, lib32, lib64 or libx32 lands below usr/ (a symlink the
// package ships at exactly that place is dropped: the tree has its own). Nothing is
// resolved through a symlink (base/beneath.h); a file replaces an earlier package's file
// (a later name wins, as Replaces would), but a directory never replaces a non-directory or
// the reverse: that is an error naming the path. Setuid and setgid bits are dropped, as in an
// image rootfs (docs/build-environments.md); owners are kept when running as root.
Result<void> write_deb_entries(int root_fd, const std::vector<LayerEntry>& entries);

// What maintainer scripts would have made in `tree` that a toolchain needs, each link only where
// nothing is yet and only when its target exists: the merged-/usr links (bin, sbin, lib and
// the lib32/lib64/libx32 the packages filled), usr/bin/sh -> dash, and the alternatives
// table (kAlternatives in the .cc: cc, c++, c89, c99, awk, yacc, lex, which, automake,
// aclocal). Returns the links made, "PATH -> TARGET", in order.
Result<std::vector<std::string>> make_toolchain_links(const std::string& tree);

}  // namespace strata::builder::environment
