// The rootfs cache: `environment.rootfs: image` unpacked once per manifest digest into a
// read-only tree that every build sandbox then mounts.
#pragma once

#include <functional>
#include <string>

#include "specs/spec.h"

namespace strata::builder::environment {

// The cache entry for a manifest digest: CACHE/rootfs/sha256/<hex>. It holds `rootfs/`
// (the unpacked tree) and `complete` (the digest, written before the entry is published).
std::string rootfs_entry_dir(const std::string& cache_dir, const Digest& manifest_digest);

// Returns the directory of the unpacked image `ref` pins (ENTRY/rootfs), unpacking it first
// unless a complete entry exists. A hit does not open the image: the entry is keyed by the
// pinned digest it was verified against. On a miss the manifest digest, every layer blob's
// digest and every DiffID are verified, the layers are applied in order (unpack.h) into a
// staging directory under CACHE/rootfs, and the finished entry is renamed into place. An
// entry without a valid `complete` marker is discarded and rebuilt. Builders racing on one
// digest serialize on CACHE/rootfs/sha256/<hex>.lock; a complete entry is never modified.
// Errors read "image PATH: ...", PATH as the spec wrote it. Every call first removes the
// staging (.unpack-@PID.START-*) and discarded (.discard-@PID.START-*) trees in CACHE/rootfs
// whose owning process is gone.
// Fills a staged tree (an empty 0755 directory) with an environment's files.
using RootfsFiller = std::function<Result<void>(const std::string& tree)>;

// The cache entry protocol both environments share: returns ENTRY/rootfs when ENTRY/complete
// holds `digest`; else, under ENTRY.lock, discards an incomplete ENTRY, stages a tree in
// CACHE/rootfs/.unpack-*, fills it, syncs it, writes the marker and renames the staging
// directory to ENTRY (never replacing a complete one), closing it to 0500. `fill`'s errors
// are returned as they are; the entry's own (locking, staging, renaming) get `what` as context.
Result<std::string> ensure_rootfs_entry(const std::string& cache_dir, const std::string& entry,
                                        const Digest& digest, const std::string& what,
                                        const RootfsFiller& fill);

Result<std::string> ensure_image_rootfs(const specs::ImageRef& ref, const std::string& spec_dir,
                                        const std::string& cache_dir);

}  // namespace strata::builder::environment
