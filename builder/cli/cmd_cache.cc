// `strata cache list`, `strata cache prune --max-size SIZE [--dry-run]`: what the cache
// holds and shrinking it, least recently used first; `strata cache prune --registry REPO
// --older-than DURATION`: a registry cache's old entries (docs/cache.md).
#include <fmt/format.h>

#include <ctime>
#include <memory>
#include <string>

#include "builder/base/time.h"
#include "builder/cache/prune.h"
#include "builder/cli/commands.h"
#include "builder/cli/format.h"
#include "builder/cli/package_options.h"
#include "builder/cli/registry_flags.h"
#include "builder/registry_cache/registry_cache.h"

namespace strata::builder::cli {
namespace {

struct CacheArgs {
  std::string cache;
  std::string max_size;
  bool dry_run = false;
  bool json = false;
  std::string registry;    // prune --registry docker://HOST/REPO
  std::string older_than;  // prune --older-than DURATION
  RegistryFlags registry_flags;
};

std::string relative(const std::string& cache_dir, const std::string& path) {
  return path.starts_with(cache_dir + "/") ? path.substr(cache_dir.size() + 1) : path;
}

std::string last_use(const cache::CacheEntry& e) { return rfc3339_utc(e.last_use_ns / 1000000000); }

std::string describe(const std::string& cache_dir, const cache::CacheEntry& e) {
  std::string label = e.label.empty() ? "" : fmt::format(" ({})", e.label);
  return fmt::format("{} {}{}: {}, last used {}", cache::kind_name(e.kind),
                     relative(cache_dir, e.path), label, cache::format_size(e.size_bytes),
                     last_use(e));
}

Json entry_json(const std::string& cache_dir, const cache::CacheEntry& e) {
  return {{"kind", cache::kind_name(e.kind)},
          {"path", relative(cache_dir, e.path)},
          {"label", e.label},
          {"size", e.size_bytes},
          {"last_use", last_use(e)}};
}

Result<int> run_list(const CacheArgs& args) {
  STRATA_TRY_ASSIGN(std::string dir, resolve_cache_dir(args.cache));
  STRATA_TRY_ASSIGN(std::vector<cache::CacheEntry> entries, cache::list_cache(dir));
  int64_t total = 0;
  for (const cache::CacheEntry& e : entries) total += e.size_bytes;
  if (args.json) {
    Json list = Json::array();
    for (const cache::CacheEntry& e : entries) list.push_back(entry_json(dir, e));
    print_json({{"cache", dir}, {"entries", list}, {"size", total}});
    return 0;
  }
  for (const cache::CacheEntry& e : entries) {
    fmt::print("{:<8} {:>10}  {}  {}{}\n", cache::kind_name(e.kind),
               cache::format_size(e.size_bytes), last_use(e), relative(dir, e.path),
               e.label.empty() ? "" : "  " + e.label);
  }
  fmt::print("{} entries, {} in {}\n", entries.size(), cache::format_size(total), dir);
  return 0;
}

// `prune --registry REPO --older-than D`: the registry cache's entries created more than D
// ago, deleted by manifest digest (docs/cache.md "A registry cache").
Result<int> run_registry_prune(const CacheArgs& args) {
  std::optional<int64_t> age = parse_duration_seconds(args.older_than);
  if (!age) {
    return Error(ErrorCode::kUsage,
                 fmt::format("--older-than '{}': expected a number and s, m, h, d or w (30d)",
                             args.older_than));
  }
  STRATA_TRY_ASSIGN(specs::RegistryRef repo, specs::parse_registry_ref(args.registry));
  RegistrySession session(args.registry_flags);
  STRATA_TRY_ASSIGN(std::vector<registry_cache::EntryInfo> entries,
                    registry_cache::list_entries(session.client(), repo));
  int64_t cutoff = static_cast<int64_t>(std::time(nullptr)) - *age;
  const char* verb = args.dry_run ? "would remove" : "removed";
  size_t removed = 0, undated = 0;
  for (const registry_cache::EntryInfo& e : entries) {
    if (!e.created_s) {
      ++undated;
      continue;
    }
    if (*e.created_s > cutoff) continue;
    if (!args.dry_run) STRATA_TRY(registry_cache::delete_entry(session.client(), repo, e.manifest));
    ++removed;
    fmt::print("{} {} ({}), created {}\n", verb, e.tag,
               e.tag.starts_with(registry_cache::kLayerEntry.tag_prefix)
                   ? std::string("a layer blob")
               : e.tag.starts_with(registry_cache::kInputEntry.tag_prefix)
                   ? std::string("a layer by its inputs")
                   : "package " + (e.package.empty() ? std::string("?") : e.package),
               rfc3339_utc(*e.created_s));
  }
  fmt::print("{} {} of {} entries in docker://{}{}\n", verb, removed, entries.size(), repo.name(),
             undated == 0 ? "" : fmt::format(" ({} without a created time kept)", undated));
  return 0;
}

Result<int> run_prune(const CacheArgs& args) {
  if (!args.registry.empty() || !args.older_than.empty()) {
    if (args.registry.empty() || args.older_than.empty() || !args.max_size.empty()) {
      return Error(ErrorCode::kUsage,
                   "--registry and --older-than go together, without --max-size (which "
                   "prunes this machine's cache)");
    }
    return run_registry_prune(args);
  }
  if (args.max_size.empty()) {
    return Error(ErrorCode::kUsage,
                 "prune needs --max-size SIZE (this machine's cache) or --registry REPO "
                 "--older-than DURATION (a registry cache)");
  }
  STRATA_TRY_ASSIGN(int64_t max_bytes, cache::parse_size(args.max_size));
  STRATA_TRY_ASSIGN(std::string dir, resolve_cache_dir(args.cache));
  STRATA_TRY_ASSIGN(cache::PrunePlan plan, cache::prune_cache(dir, max_bytes, args.dry_run));
  const char* verb = args.dry_run ? "would remove" : "removed";
  for (const cache::CacheEntry& e : plan.removed) fmt::print("{} {}\n", verb, describe(dir, e));
  for (const cache::CacheEntry& e : plan.held) {
    fmt::print("kept (in use by a running build) {}\n", describe(dir, e));
  }
  int64_t freed = plan.size_before_bytes - plan.size_after_bytes;
  fmt::print("{} {} entries, {}; the cache {} {} (limit {})\n", verb, plan.removed.size(),
             cache::format_size(freed), args.dry_run ? "would hold" : "holds",
             cache::format_size(plan.size_after_bytes), cache::format_size(max_bytes));
  if (plan.size_after_bytes <= max_bytes) return 0;
  fmt::print(stderr, "strata: the cache stays above {}: {} entries are in use by running builds\n",
             args.max_size, plan.held.size());
  return 1;
}

}  // namespace

void register_cache(CLI::App& app, Command& run) {
  auto args = std::make_shared<CacheArgs>();
  auto* cmd = app.add_subcommand(
      "cache", "List the cache's entries, prune it to a size, or prune a registry cache by age");
  cmd->require_subcommand(1);
  constexpr char kCacheHelp[] =
      "The cache directory (default: $XDG_CACHE_HOME/strata, else ~/.cache/strata)";

  auto* list = cmd->add_subcommand("list",
                                   "Print every entry (package outputs, unpacked rootfs, source "
                                   "blobs, logs, layer blobs, run: layers) with its "
                                   "disk usage and last use, least recently used first");
  list->add_option("--cache", args->cache, kCacheHelp);
  list->add_flag("--json", args->json, "Print one JSON object: {cache, entries, size}");
  list->callback([&run, args] { run = [args] { return run_list(*args); }; });

  auto* prune = cmd->add_subcommand(
      "prune",
      "Remove entries, least recently used first, until the cache is at most SIZE; entries a "
      "running build holds are kept. Prints one line per entry removed (or kept) and a total. "
      "Exit status: 0 when the cache is at most SIZE afterwards, 1 when entries in use keep it "
      "above, 2 for a bad SIZE. With --registry REPO --older-than DURATION instead: delete "
      "the registry cache's entries pushed longer ago");
  prune
      ->add_option("--max-size", args->max_size,
                   "The size to shrink to: bytes, or K, M, G, T (powers of 1024), e.g. 500M, 2G, 0")
      ->type_name("SIZE");
  prune->add_option("--registry", args->registry,
                    "Prune a registry cache (docker://HOST/REPO, as --cache-registry) instead: "
                    "delete its entries created more than --older-than ago");
  prune
      ->add_option("--older-than", args->older_than,
                   "With --registry: the age of the entries to delete (90m, 12h, 30d, 2w)")
      ->type_name("DURATION");
  add_registry_flags(prune, args->registry_flags);
  prune->add_flag("--dry-run", args->dry_run, "Print what would be removed; remove nothing");
  prune->add_option("--cache", args->cache, kCacheHelp);
  prune->callback([&run, args] { run = [args] { return run_prune(*args); }; });
}

}  // namespace strata::builder::cli
