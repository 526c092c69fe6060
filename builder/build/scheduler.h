// Building every package of a plan: in dependency order, independent packages in parallel up
// to `jobs`, each one taken from the output store when its cache key is already there.
#pragma once

#include <map>
#include <set>
#include <string>

#include "builder/build/cache_key.h"
#include "builder/build/package_build.h"
#include "builder/build/remote_cache.h"
#include "specs/plan.h"

namespace strata::builder::build {

struct BuildContext {
  Digest environment;  // environment_digest_for_host/_image
  // What `environment` is the digest of ({"host": ...} or {"image": ...}); stored beside each
  // key's preimage so --explain-cache can say which host package changed.
  Json environment_detail;
  std::string rootfs;                                        // "" = host
  std::map<std::string, PreparedSource> sources;             // by source name
  std::map<std::string, const specs::Source*> source_specs;  // by source name
  int64_t jobs = 1;
  std::string log_root;           // LOG_ROOT/PACKAGE/step-N.log
  RemoteCache* remote = nullptr;  // --cache-registry: asked after a local miss
  // A package no other package depends on is only looked up in `remote`, not fetched: its
  // output is PackageOutput::deferred (the layers may be found without it).
  bool defer_remote_outputs = false;
};

// Why a package was or was not taken from the cache (`strata build --explain-cache`).
struct CacheExplanation {
  std::string package;
  Digest key;
  bool hit = false;
  std::optional<LastKey> previous;  // the key last built or used for this spec's package
  Json preimage;                    // {"key": cache_key_document, "environment": detail}
  bool remote_hit = false;          // a local miss taken from the remote cache
  // A miss in both: the remote cache's entries for the package under other keys.
  std::optional<RemoteEntries> remote;
};

// What the scheduler reports as it goes; any member may be empty.
struct BuildObserver {
  // Before `cached`, `fetched` or `started`, for every package (after the remote cache was
  // asked, when there is one).
  std::function<void(const CacheExplanation&)> explained;
  std::function<void(const std::string& package, const Digest& key)> cached;
  // Taken from the remote cache (after `explained`, instead of `started`).
  std::function<void(const std::string& package, const Digest& key)> fetched;
  std::function<void(const std::string& package, const Digest& key)> started;
  StepObserver step;
  std::function<void(const std::string& package, const PackageOutput&)> built;
};

// The names of every package `package` depends on, directly or through others.
std::set<std::string> transitive_dependencies(const specs::Spec& spec,
                                              const specs::Package& package);

// Builds (or finds in the store) every package. On the first failure no new step or package
// starts, the steps of builds already running are killed with their sandboxes (they end as
// "cancelled"), and that first failure is returned.
Result<std::map<std::string, PackageOutput>> build_packages(const specs::Plan& plan,
                                                            const BuildContext& context,
                                                            OutputStore& store,
                                                            sandbox::Runner& runner,
                                                            const BuildObserver& observer);

}  // namespace strata::builder::build
