// A shared cache of package outputs beyond this machine (docs/cache.md "A registry cache"):
// the scheduler asks it after a local miss and gives it every output it builds. The
// implementation (builder/registry_cache/) verifies everything it returns; the scheduler
// only commits what it is given into the local store, which hashes the tree again.
#pragma once

#include <optional>
#include <string>

#include "builder/base/digest.h"
#include "builder/base/json.h"
#include "builder/base/result.h"

namespace strata::builder::build {

class RemoteCache {
 public:
  virtual ~RemoteCache() = default;

  // The output for `key`, unpacked into `out_dir` (absent before the call), its tree digest
  // returned. nullopt: a miss, or an entry that did not verify (the implementation warned
  // and left no `out_dir`). An error fails the build (only when the cache is required).
  virtual Result<std::optional<Digest>> fetch(const std::string& package, const Digest& key,
                                              const std::string& out_dir) = 0;

  // A package built from `key`, or found in the local store, with output tree `dir` (digest
  // `output`): published for other machines when the remote cache lacks it. An error fails the
  // build (only when the cache is required).
  virtual Result<void> publish(const std::string& package, const Digest& key, const Json& preimage,
                               const std::string& dir, const Digest& output) = 0;
};

}  // namespace strata::builder::build
