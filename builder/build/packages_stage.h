// The sources and builds stages together (docs/design.md "The pipeline" steps 2-3): every source
// fetched and verified, the build environment ready, and every package built in the sandbox
// or taken from the cache. Used by the pipeline and by `strata shell`.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "builder/build/scheduler.h"
#include "builder/cache/entry_lock.h"
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
  // What identifies the host toolchain (cache::host_toolchain_document): main() supplies the
  // reader, called only when a spec builds on the host (an image build never reads the
  // host's dpkg database, and cannot fail on it). Empty: the host is `null` (tests).
  std::function<Result<Json>()> host_toolchain;
  sources::FetchOptions fetch;
  build::RemoteCache* remote_cache = nullptr;  // --cache-registry
  // Outputs no package depends on are only looked up in remote_cache, and fetched later if
  // a layer needs them (build::BuildContext::defer_remote_outputs).
  bool defer_remote_outputs = false;
};

// The build environment: its identity (part of every cache key), what that digest is of
// ({"host": host_toolchain}, {"image": "sha256:..."} or {"debs": "sha256:<environment
// digest>", "packages": [...]}), and its root ("" = host), held
// against `strata cache prune` while this value lives.
struct BuildEnvironment {
  Digest digest;
  std::string rootfs;
  Json detail;
  cache::EntryHold hold;
};

struct PackageStageResult {
  SourceSet sources;
  BuildEnvironment environment;
  std::map<std::string, build::PackageOutput> outputs;  // by package name
  // Shared locks on the source blobs and the log directory this build uses (entry_lock.h).
  std::vector<cache::EntryHold> holds;
  // Fetches a deferred output (build::PackageOutput::deferred) from the remote cache into
  // the store and replaces it with the stored one: false when its entry did not verify
  // (the remote cache warned). Set whenever outputs may be deferred.
  std::function<Result<bool>(build::PackageOutput&)> materialize;
};

// Prepares the environment: the host, the pinned image unpacked into the cache, or the
// locked .debs assembled there (`fetcher` downloads those; held, and stamped as used).
Result<BuildEnvironment> prepare_environment(const specs::Spec& spec,
                                             const PackageStageOptions& options,
                                             sources::Fetcher* fetcher = nullptr);

// Turns stored sources into the unpackers package builds use.
std::map<std::string, build::PreparedSource> prepare_sources(const SourceSet& sources);

// Fetches the sources, prepares the environment and builds every package (a spec without
// packages still fetches and verifies its sources).
Result<PackageStageResult> build_spec_packages(const specs::Plan& plan,
                                               const PackageStageOptions& options,
                                               sources::Fetcher& fetcher, sandbox::Runner& runner,
                                               const build::BuildObserver& observer);

}  // namespace strata::builder
