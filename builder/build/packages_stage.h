// The sources and builds stages together (docs/design.md "The pipeline" steps 2-3): every source
// fetched and verified, the build environment ready, and every package built in the sandbox
// or taken from the cache. Used by the pipeline and by `strata shell`.
#pragma once

#include <map>
#include <string>

#include "builder/build/scheduler.h"
#include "builder/sources/source_set.h"
#include "specs/plan.h"

namespace strata::builder {

struct PackageStageOptions {
  std::string cache_dir;
  // Where package outputs are stored ("" = cache_dir). `strata verify` points it at an empty
  // temporary directory so every package is rebuilt while sources and environments still
  // come from the cache.
  std::string packages_cache_dir;
  bool offline = false;
  int64_t jobs = 1;
  std::string log_root;  // LOG_ROOT/PACKAGE/step-N.log
  std::string
      host_description;  // what identifies the host toolchain (see environment_digest_for_host)
  sources::FetchOptions fetch;
};

// The build environment: its identity (part of every cache key) and its root ("" = host).
struct BuildEnvironment {
  Digest digest;
  std::string rootfs;
};

struct PackageStageResult {
  SourceSet sources;
  BuildEnvironment environment;
  std::map<std::string, build::PackageOutput> outputs;  // by package name
};

// Prepares the environment: the host, or the pinned image unpacked into the cache.
Result<BuildEnvironment> prepare_environment(const specs::Spec& spec,
                                             const PackageStageOptions& options);

// Turns stored sources into the unpackers package builds use.
std::map<std::string, build::PreparedSource> prepare_sources(const SourceSet& sources);

// Fetches the sources, prepares the environment and builds every package (a spec without
// packages still fetches and verifies its sources).
Result<PackageStageResult> build_spec_packages(const specs::Plan& plan,
                                               const PackageStageOptions& options,
                                               sources::Fetcher& fetcher, sandbox::Runner& runner,
                                               const build::BuildObserver& observer);

}  // namespace strata::builder
