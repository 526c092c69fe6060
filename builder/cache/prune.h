// What the cache holds and how it shrinks (docs/cache.md): its entries with their disk usage
// and last use, and `strata cache prune`, least recently used first, skipping every entry a
// running build holds (entry_lock.h).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "builder/base/result.h"

namespace strata::builder::cache {

enum class EntryKind { kPackage, kRootfs, kSource, kLog, kLayer, kRunLayer };
// "package", "rootfs", "source", "log", "layer", "run-layer".
std::string_view kind_name(EntryKind kind);

struct CacheEntry {
  EntryKind kind = EntryKind::kPackage;
  std::string path;         // CACHE/packages/<key>, CACHE/rootfs/{sha256,debs}/<hex>, ...
  std::string label;        // the package's name for package entries, else ""
  int64_t size_bytes = 0;   // disk usage, as `du -s -B1 PATH` counts it
  int64_t last_use_ns = 0;  // mtime of the entry's stamp, ns since the epoch
};

// Every entry of the cache at `cache_dir`, least recently used first (ties by path):
// CACHE/packages/<64 hex> (stamp output.json), CACHE/rootfs/sha256/<64 hex> and
// CACHE/rootfs/debs/<64 hex> (stamp `complete`), CACHE/sources/sha256/<64 hex> (the blob
// itself), CACHE/logs/<name> (the newest file in it), CACHE/layers/sha256/<64 hex> (stamp
// layer.json) and CACHE/run-layers/sha256/<64 hex> (stamp entries.json). Temporaries, locks
// and the last-key pointers are not entries. A missing cache is empty.
Result<std::vector<CacheEntry>> list_cache(const std::string& cache_dir);

// "500M", "2G", "1.5G", "0", "4096": bytes, K/M/G/T are powers of 1024 (an optional trailing
// "B" or "iB" is accepted). Errors name the text.
Result<int64_t> parse_size(std::string_view text);
// 1536 -> "1.5 KiB"; below 1 KiB, "N B".
std::string format_size(int64_t bytes);

struct PrunePlan {
  std::vector<CacheEntry> removed;  // in the order they go, least recently used first
  std::vector<CacheEntry> held;     // would have gone, but a build holds them
  int64_t size_before_bytes = 0;
  int64_t size_after_bytes = 0;
};

// The pure choice: walks `entries` (least recently used first) and removes entries until the
// total is at most `max_size_bytes`; an entry for which `is_held` is true is kept and
// reported. size_after_bytes can stay above the limit when held entries are in the way.
PrunePlan plan_prune(const std::vector<CacheEntry>& entries, int64_t max_size_bytes,
                     const std::function<bool(const CacheEntry&)>& is_held);

// Shrinks the cache to at most `max_size_bytes`. Each entry is removed only under its
// exclusive lock taken without waiting (held ones are skipped), first renamed to
// .strata-stale-@PID.START-N beside it so no build can find a half-removed entry, then
// deleted; a prune killed midway leaves only such names, which the next prune (and builds,
// for packages and sources) sweep. `dry_run`: the same plan, nothing removed. Returns what
// was (or would be) removed.
Result<PrunePlan> prune_cache(const std::string& cache_dir, int64_t max_size_bytes, bool dry_run);

}  // namespace strata::builder::cache
