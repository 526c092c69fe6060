// Cache entries in use: a build holds a shared flock(2) on every entry it uses (a package
// output, an unpacked rootfs, a source blob, its log directory) for as long as it runs, and
// `strata cache prune` removes only the entries whose exclusive lock it can take at once.
// The lock is on the entry itself (its directory or file), so `flock -s ENTRY` holds it too.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "builder/base/fd.h"
#include "builder/base/result.h"

namespace strata::builder::cache {

// A shared lock on one entry; released when the last copy is destroyed.
using EntryHold = std::shared_ptr<const UniqueFd>;

// Takes a shared lock on the entry at `path` (a directory or a regular file), waiting while a
// prune holds it exclusively. nullopt when the entry does not exist, or was removed while
// we waited (the path no longer names the inode we locked): the caller treats it as a miss.
// Never follows a symlink at `path`.
Result<std::optional<EntryHold>> hold_entry(const std::string& path);

// The exclusive lock on the entry at `path` when nobody holds it, nullopt when a build (or
// anyone) holds it or the entry is gone. Never waits.
Result<std::optional<UniqueFd>> try_claim_entry(const std::string& path);

// Sets the entry's last-use time (the mtime of `stamp`, a file of the entry, to now). What
// prune's "least recently used" reads; best effort (a read-only cache keeps its old time).
void touch_last_use(const std::string& stamp);

}  // namespace strata::builder::cache
