#include "builder/cache/prune.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <set>
#include <utility>

#include "builder/base/beneath.h"
#include "builder/base/fs.h"
#include "builder/base/json.h"
#include "builder/base/owner.h"
#include "builder/cache/entry_lock.h"

namespace strata::builder::cache {
namespace {

bool is_hex_key(std::string_view name) {
  return name.size() == 64 && std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

int64_t mtime_ns(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

// Disk usage and newest mtime of a tree, each inode counted once (like du).
struct Usage {
  int64_t size_bytes = 0;
  int64_t newest_ns = 0;
  std::set<std::pair<dev_t, ino_t>> seen;

  void add(const struct stat& st) {
    newest_ns = std::max(newest_ns, mtime_ns(st));
    if (seen.insert({st.st_dev, st.st_ino}).second) {
      size_bytes += static_cast<int64_t>(st.st_blocks) * 512;
    }
  }
};

// Adds the entries below the directory `fd` (never following symlinks). Entries that vanish
// meanwhile are skipped: the cache is live.
void add_tree(int fd, Usage& usage, int depth) {
  if (depth > 512) return;  // deeper than any tree strata writes; bounded recursion
  Result<std::vector<std::string>> names = list_dir(fd);
  if (!names.ok()) return;
  for (const std::string& name : *names) {
    struct stat st;
    if (::fstatat(fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    usage.add(st);
    if (!S_ISDIR(st.st_mode)) continue;
    Result<UniqueFd> sub = open_subdir(fd, name);
    if (sub.ok()) add_tree(sub->get(), usage, depth + 1);
  }
}

Usage usage_of(const std::string& path) {
  Usage usage;
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return usage;
  usage.add(st);
  if (S_ISDIR(st.st_mode)) {
    Result<UniqueFd> fd = open_fd(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (fd.ok()) add_tree(fd->get(), usage, 0);
  }
  return usage;
}

int64_t stamp_ns(const std::string& stamp, const Usage& fallback) {
  struct stat st;
  if (::lstat(stamp.c_str(), &st) == 0) return mtime_ns(st);
  return fallback.newest_ns;
}

std::string package_label(const std::string& entry) {
  Result<std::string> text = read_file(entry + "/output.json");
  if (!text.ok()) return "";
  Result<Json> record = parse_json(*text, entry);
  return record.ok() ? string_member(*record, "name") : "";
}

// The names in `dir` (sorted), or none when it does not exist.
std::vector<std::string> names_in(const std::string& dir) {
  Result<std::vector<std::string>> names = list_dir(dir);
  return names.ok() ? *std::move(names) : std::vector<std::string>();
}

// The directories prune removes from; their .strata-stale-* leftovers are swept first.
std::vector<std::string> entry_parents(const std::string& cache_dir) {
  return {cache_dir + "/packages",   cache_dir + "/rootfs/sha256", cache_dir + "/sources/sha256",
          cache_dir + "/logs",       cache_dir + "/layers/sha256", cache_dir + "/run-layers/sha256",
          cache_dir + "/rootfs/debs"};
}

}  // namespace

std::string_view kind_name(EntryKind kind) {
  switch (kind) {
    case EntryKind::kPackage:
      return "package";
    case EntryKind::kRootfs:
      return "rootfs";
    case EntryKind::kSource:
      return "source";
    case EntryKind::kLog:
      return "log";
    case EntryKind::kLayer:
      return "layer";
    case EntryKind::kRunLayer:
      return "run-layer";
  }
  return "?";
}

Result<std::vector<CacheEntry>> list_cache(const std::string& cache_dir) {
  std::vector<CacheEntry> out;
  auto add = [&](EntryKind kind, const std::string& path, const std::string& stamp) {
    Usage usage = usage_of(path);
    if (usage.seen.empty()) return;  // gone meanwhile
    out.push_back({.kind = kind,
                   .path = path,
                   .label = kind == EntryKind::kPackage ? package_label(path) : "",
                   .size_bytes = usage.size_bytes,
                   .last_use_ns = stamp.empty() ? usage.newest_ns : stamp_ns(stamp, usage)});
  };
  std::vector<std::string> parents = entry_parents(cache_dir);
  for (const std::string& name : names_in(parents[0])) {
    if (is_hex_key(name))
      add(EntryKind::kPackage, parents[0] + "/" + name, parents[0] + "/" + name + "/output.json");
  }
  for (const std::string& name : names_in(parents[1])) {
    if (is_hex_key(name))
      add(EntryKind::kRootfs, parents[1] + "/" + name, parents[1] + "/" + name + "/complete");
  }
  for (const std::string& name : names_in(parents[2])) {
    if (is_hex_key(name)) add(EntryKind::kSource, parents[2] + "/" + name, parents[2] + "/" + name);
  }
  for (const std::string& name : names_in(parents[3])) {
    if (!name.starts_with(".")) add(EntryKind::kLog, parents[3] + "/" + name, "");
  }
  for (const std::string& name : names_in(parents[4])) {
    if (is_hex_key(name))
      add(EntryKind::kLayer, parents[4] + "/" + name, parents[4] + "/" + name + "/layer.json");
  }
  for (const std::string& name : names_in(parents[5])) {
    if (is_hex_key(name)) {
      add(EntryKind::kRunLayer, parents[5] + "/" + name, parents[5] + "/" + name + "/entries.json");
    }
  }
  // `rootfs: debs` environments, by their lock section's digest (environment/debs_rootfs.h).
  for (const std::string& name : names_in(parents[6])) {
    if (is_hex_key(name))
      add(EntryKind::kRootfs, parents[6] + "/" + name, parents[6] + "/" + name + "/complete");
  }
  std::sort(out.begin(), out.end(), [](const CacheEntry& a, const CacheEntry& b) {
    return std::tie(a.last_use_ns, a.path) < std::tie(b.last_use_ns, b.path);
  });
  return out;
}

Result<int64_t> parse_size(std::string_view text) {
  auto bad = [&] {
    return Error(ErrorCode::kUsage,
                 fmt::format("invalid size '{}': expected a number with an optional K, M, G or "
                             "T suffix (powers of 1024), e.g. 500M",
                             text));
  };
  std::string_view s = text;
  for (std::string_view suffix : {"iB", "B"}) {
    if (s.size() > suffix.size() && s.ends_with(suffix) && !(suffix == "B" && s.ends_with("iB"))) {
      s.remove_suffix(suffix.size());
      break;
    }
  }
  int shift = 0;
  if (!s.empty()) {
    switch (s.back()) {
      case 'K':
      case 'k':
        shift = 10;
        break;
      case 'M':
      case 'm':
        shift = 20;
        break;
      case 'G':
      case 'g':
        shift = 30;
        break;
      case 'T':
      case 't':
        shift = 40;
        break;
      default:
        break;
    }
    if (shift != 0) s.remove_suffix(1);
  }
  if (s.empty() ||
      !std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; })) {
    return bad();
  }
  double value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size()) return bad();
  double bytes = std::ldexp(value, shift);
  if (!(bytes < 9.0e18)) return bad();
  return static_cast<int64_t>(bytes);
}

std::string format_size(int64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes) / 1024;
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  return fmt::format("{:.1f} {}", value, kUnits[unit]);
}

PrunePlan plan_prune(const std::vector<CacheEntry>& entries, int64_t max_size_bytes,
                     const std::function<bool(const CacheEntry&)>& is_held) {
  PrunePlan plan;
  for (const CacheEntry& e : entries) plan.size_before_bytes += e.size_bytes;
  plan.size_after_bytes = plan.size_before_bytes;
  for (const CacheEntry& e : entries) {
    if (plan.size_after_bytes <= max_size_bytes) break;
    if (is_held(e)) {
      plan.held.push_back(e);
      continue;
    }
    plan.removed.push_back(e);
    plan.size_after_bytes -= e.size_bytes;
  }
  return plan;
}

Result<PrunePlan> prune_cache(const std::string& cache_dir, int64_t max_size_bytes, bool dry_run) {
  if (!dry_run) {
    for (const std::string& dir : entry_parents(cache_dir)) remove_stale_temporaries(dir, {});
  }
  STRATA_TRY_ASSIGN(std::vector<CacheEntry> entries, list_cache(cache_dir));
  std::optional<Error> error;
  static std::atomic<uint64_t> counter{0};
  PrunePlan plan = plan_prune(entries, max_size_bytes, [&](const CacheEntry& e) {
    if (error) return true;
    Result<std::optional<UniqueFd>> claim = try_claim_entry(e.path);
    if (!claim.ok()) {
      error = claim.error();
      return true;
    }
    if (!*claim) return true;  // held by a build (or gone meanwhile)
    if (dry_run) return false;
    // Renamed away under the lock, then deleted: a build that was waiting for its shared
    // lock sees the path gone (entry_lock.h), and a killed prune leaves only a stale name.
    std::string parent = dirname_of(e.path);
    std::string stale = fmt::format("{}/.strata-stale-{}-{}", parent, self_owner_tag(), counter++);
    if (::rename(e.path.c_str(), stale.c_str()) != 0) {
      error = Error::sys(fmt::format("rename {} to {}", e.path, stale), errno);
      return true;
    }
    if (Result<void> r = remove_tree(stale); !r.ok()) error = r.error();
    return false;
  });
  if (error) return *std::move(error);
  return plan;
}

}  // namespace strata::builder::cache
