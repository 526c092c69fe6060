#include "builder/build/packages_stage.h"

#include "builder/build/cache_key.h"
#include "builder/environment/cache.h"
#include "builder/sources/unpack.h"

namespace strata::builder {

Result<BuildEnvironment> prepare_environment(const specs::Spec& spec,
                                             const PackageStageOptions& options) {
  const specs::Environment& env = spec.environment;
  if (env.rootfs == specs::RootfsKind::kHost) {
    return BuildEnvironment{build::environment_digest_for_host(options.host_description), ""};
  }
  STRATA_CHECK(env.image.has_value());
  auto rootfs = environment::ensure_image_rootfs(*env.image, spec.dir, options.cache_dir);
  if (!rootfs.ok()) return std::move(rootfs).error().at(env.image->loc);
  return BuildEnvironment{build::environment_digest_for_image(env.image->digest), *rootfs};
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
  STRATA_TRY_ASSIGN(result.sources, sources::fetch_sources(plan.spec, source_options, fetcher));
  if (plan.spec.packages.empty()) return result;
  STRATA_TRY_ASSIGN(result.environment, prepare_environment(plan.spec, options));
  build::BuildContext context{.environment = result.environment.digest,
                              .rootfs = result.environment.rootfs,
                              .sources = prepare_sources(result.sources),
                              .jobs = options.jobs,
                              .log_root = options.log_root};
  for (const specs::Source& s : plan.spec.sources) context.source_specs[s.name] = &s;
  const std::string& store_dir =
      options.packages_cache_dir.empty() ? options.cache_dir : options.packages_cache_dir;
  STRATA_TRY_ASSIGN(build::OutputStore store, build::OutputStore::open(store_dir));
  STRATA_TRY_ASSIGN(result.outputs, build::build_packages(plan, context, store, runner, observer));
  return result;
}

}  // namespace strata::builder
