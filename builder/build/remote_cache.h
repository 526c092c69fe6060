// A shared cache of package outputs beyond this machine (docs/cache.md "A registry cache"):
// the scheduler asks it after a local miss and gives it every output it builds. The
// implementation (builder/registry_cache/) verifies everything it returns; the scheduler
// only commits what it is given into the local store, which hashes the tree again.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "builder/base/digest.h"
#include "builder/base/json.h"
#include "builder/base/result.h"

namespace strata::builder::build {

// Another build's entry for a package under another key, as `--explain-cache` compares it
// with this build's preimage (docs/cache.md "Explaining a rebuild").
struct RemoteEntry {
  std::string name;  // where it is, for messages: "docker://HOST/REPO:p-<hex>"
  Digest key;
  Json preimage;  // {"key": ..., "environment": ...}, as the scheduler makes it
  std::optional<int64_t> created_s;
};

struct RemoteEntries {
  std::string where;  // the remote cache, for messages
  std::vector<RemoteEntry> entries;
  int64_t examined = 0;  // entries looked at
  int64_t total = 0;     // entries there are (more than `examined` past a bound)
  std::string note;      // why nothing could be looked at, when so
};

class RemoteCache {
 public:
  virtual ~RemoteCache() = default;

  // The output for `key`, unpacked into `out_dir` (absent before the call), its tree digest
  // returned. nullopt: a miss, or an entry that did not verify (the implementation warned
  // and left no `out_dir`). An error fails the build (only when the cache is required).
  virtual Result<std::optional<Digest>> fetch(const std::string& package, const Digest& key,
                                              const std::string& out_dir) = 0;

  // The output tree digest the entry for `key` names, its statement verified as `fetch`
  // verifies it, without downloading the output (which `fetch` verifies when it is needed).
  // nullopt: a miss, or an entry that did not verify. An error fails the build (only when the
  // cache is required).
  virtual Result<std::optional<Digest>> lookup(const std::string& package, const Digest& key) = 0;

  // A package built from `key`, or found in the local store, with output tree `dir` (digest
  // `output`): published for other machines when the remote cache lacks it. An error fails the
  // build (only when the cache is required).
  virtual Result<void> publish(const std::string& package, const Digest& key, const Json& preimage,
                               const std::string& dir, const Digest& output) = 0;

  // The entries of `package` under keys other than `key`, each verified as `fetch` verifies
  // a statement, a bounded number looked at. Only for explaining a miss: a failure becomes
  // the note, never an error.
  virtual RemoteEntries entries_of(const std::string& package, const Digest& key) {
    (void)package;
    (void)key;
    return {};
  }
};

}  // namespace strata::builder::build
