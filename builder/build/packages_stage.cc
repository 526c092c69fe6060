#include "builder/build/packages_stage.h"

#include <fmt/format.h>

#include "builder/build/cache_key.h"
#include "builder/environment/cache.h"
#include "builder/environment/debs_rootfs.h"
#include "builder/sources/unpack.h"

namespace strata::builder {
namespace {

// How often an entry removed by a concurrent `strata cache prune` is fetched or unpacked
// again before the build gives up.
constexpr int kHoldAttempts = 3;

// Fetches the sources and holds every stored blob, fetching again when a prune removed one
// before it was held.
Result<SourceSet> fetch_and_hold_sources(const specs::Spec& spec,
                                         const sources::SourceOptions& options,
                                         sources::Fetcher& fetcher,
                                         std::vector<cache::EntryHold>& holds) {
  for (int attempt = 0; attempt < kHoldAttempts; ++attempt) {
    STRATA_TRY_ASSIGN(SourceSet set, sources::fetch_sources(spec, options, fetcher));
    std::vector<cache::EntryHold> held;
    size_t pending = 0;  // path sources whose blobs are written only if a build unpacks them
    for (const auto& [name, stored] : set.by_name) {
      if (!stored.pending_path.empty()) {
        ++pending;
        continue;
      }
      STRATA_TRY_ASSIGN(std::optional<cache::EntryHold> hold, cache::hold_entry(stored.blob_path));
      if (!hold) break;
      cache::touch_last_use(stored.blob_path);
      held.push_back(*std::move(hold));
    }
    if (held.size() + pending != set.by_name.size()) continue;
    holds.insert(holds.end(), held.begin(), held.end());
    return set;
  }
  return Error::io(fmt::format("sources of {}: removed by a concurrent prune {} times; run again",
                               spec.name, kHoldAttempts));
}

// The log directory this build writes below CACHE/logs (its first component below logs/,
// what `strata cache prune` lists), created and held; none when the logs go elsewhere.
Result<void> hold_log_dir(const PackageStageOptions& options,
                          std::vector<cache::EntryHold>& holds) {
  std::string logs = options.cache_dir + "/logs/";
  if (options.log_root.size() <= logs.size() || !options.log_root.starts_with(logs)) return {};
  std::string top = logs + options.log_root.substr(
                               logs.size(), options.log_root.find('/', logs.size()) - logs.size());
  STRATA_TRY(make_dirs(top));
  STRATA_TRY_ASSIGN(std::optional<cache::EntryHold> hold, cache::hold_entry(top));
  if (hold) holds.push_back(*std::move(hold));
  return {};
}

// The `rootfs: debs` environment: the locked .debs assembled into the cache, held.
Result<BuildEnvironment> prepare_debs_environment(const specs::Spec& spec,
                                                  const PackageStageOptions& options,
                                                  sources::Fetcher* fetcher) {
  STRATA_CHECK(fetcher != nullptr);
  environment::DebsRootfsOptions o{.cache_dir = options.cache_dir,
                                   .sources = {.cache_dir = options.cache_dir,
                                               .offline = options.offline,
                                               .fetch = options.fetch},
                                   .spec_dir = spec.dir,
                                   .fetcher = fetcher};
  for (int attempt = 0; attempt < kHoldAttempts; ++attempt) {
    auto rootfs = environment::ensure_spec_debs_rootfs(spec, o);
    if (!rootfs.ok()) return std::move(rootfs).error().at(spec.environment.loc);
    STRATA_TRY_ASSIGN(std::optional<cache::EntryHold> hold, cache::hold_entry(rootfs->entry));
    if (!hold) continue;
    cache::touch_last_use(rootfs->entry + "/complete");
    Json packages = Json::array();
    for (const debian::LockedPackage& p : rootfs->packages) {
      packages.push_back({{"name", p.name},
                          {"version", p.version},
                          {"architecture", p.architecture},
                          {"url", p.url},
                          {"sha256", p.sha256.str()}});
    }
    return BuildEnvironment{.digest = build::environment_digest_for_debs(rootfs->digest),
                            .rootfs = rootfs->tree,
                            .detail = {{"debs", rootfs->digest.str()}, {"packages", packages}},
                            .hold = *std::move(hold)};
  }
  return Error::io(
      fmt::format("rootfs of environment.debs: removed by a concurrent prune {} "
                  "times; run again",
                  kHoldAttempts));
}

}  // namespace

Result<BuildEnvironment> prepare_environment(const specs::Spec& spec,
                                             const PackageStageOptions& options,
                                             sources::Fetcher* fetcher) {
  const specs::Environment& env = spec.environment;
  if (env.rootfs == specs::RootfsKind::kDebs) {
    return prepare_debs_environment(spec, options, fetcher);
  }
  if (env.rootfs == specs::RootfsKind::kHost) {
    Json host;
    if (options.host_toolchain) {
      STRATA_TRY_ASSIGN(host, options.host_toolchain());
    }
    STRATA_TRY_ASSIGN(std::string text, canonical_json(host));
    return BuildEnvironment{.digest = build::environment_digest_for_host(text),
                            .detail = {{"host", host}}};
  }
  STRATA_CHECK(env.image.has_value());
  std::string entry = environment::rootfs_entry_dir(options.cache_dir, env.image->digest);
  // A prune may remove the entry between its check and our lock: then unpack it again.
  for (int attempt = 0; attempt < kHoldAttempts; ++attempt) {
    auto rootfs = environment::ensure_image_rootfs(*env.image, spec.dir, options.cache_dir);
    if (!rootfs.ok()) return std::move(rootfs).error().at(env.image->loc);
    STRATA_TRY_ASSIGN(std::optional<cache::EntryHold> hold, cache::hold_entry(entry));
    if (!hold) continue;
    cache::touch_last_use(entry + "/complete");
    return BuildEnvironment{.digest = build::environment_digest_for_image(env.image->digest),
                            .rootfs = *rootfs,
                            .detail = {{"image", env.image->digest.str()}},
                            .hold = *std::move(hold)};
  }
  return Error::io(fmt::format("rootfs {}: removed by a concurrent prune {} times; run again",
                               entry, kHoldAttempts));
}

std::map<std::string, build::PreparedSource> prepare_sources(const SourceSet& sources) {
  std::map<std::string, build::PreparedSource> out;
  for (const auto& [name, stored] : sources.by_name) {
    out[name] = {.name = name, .unpack = [stored](const std::string& dest) {
                   return sources::unpack_source(stored, dest);
                 }};
  }
  return out;
}

Result<PackageStageResult> build_spec_packages(const specs::Plan& plan,
                                               const PackageStageOptions& options,
                                               sources::Fetcher& fetcher, sandbox::Runner& runner,
                                               const build::BuildObserver& observer) {
  PackageStageResult result;
  sources::SourceOptions source_options{
      .cache_dir = options.cache_dir, .offline = options.offline, .fetch = options.fetch};
  STRATA_TRY_ASSIGN(result.sources,
                    fetch_and_hold_sources(plan.spec, source_options, fetcher, result.holds));
  if (plan.spec.packages.empty()) return result;
  STRATA_TRY_ASSIGN(result.environment, prepare_environment(plan.spec, options, &fetcher));
  STRATA_TRY(hold_log_dir(options, result.holds));
  build::BuildContext context{.environment = result.environment.digest,
                              .environment_detail = result.environment.detail,
                              .rootfs = result.environment.rootfs,
                              .sources = prepare_sources(result.sources),
                              .jobs = options.jobs,
                              .log_root = options.log_root,
                              .remote = options.remote_cache,
                              .defer_remote_outputs = options.defer_remote_outputs};
  for (const specs::Source& s : plan.spec.sources) context.source_specs[s.name] = &s;
  const std::string& store_dir =
      options.packages_cache_dir.empty() ? options.cache_dir : options.packages_cache_dir;
  STRATA_TRY_ASSIGN(build::OutputStore store, build::OutputStore::open(store_dir));
  STRATA_TRY_ASSIGN(result.outputs, build::build_packages(plan, context, store, runner, observer));
  if (options.remote_cache != nullptr) {
    result.materialize =
        [store_dir, remote = options.remote_cache](build::PackageOutput& out) -> Result<bool> {
      STRATA_CHECK(out.deferred);
      STRATA_TRY_ASSIGN(build::OutputStore into, build::OutputStore::open(store_dir));
      STRATA_TRY_ASSIGN(TempDir work, into.make_work_dir(out.name));
      STRATA_TRY_ASSIGN(std::optional<Digest> digest,
                        remote->fetch(out.name, out.cache_key, work.path() + "/out"));
      if (!digest || *digest != out.digest) return false;
      STRATA_TRY_ASSIGN(build::PackageOutput stored,
                        into.commit(out.name, out.cache_key, out.preimage, std::move(work)));
      stored.from_remote = true;
      out = std::move(stored);
      return true;
    };
  }
  return result;
}

}  // namespace strata::builder
