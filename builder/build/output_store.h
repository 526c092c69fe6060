// Package outputs: the digest of an output tree, and the content-addressed store of built
// outputs under CACHE/packages/<cache key>/, written atomically and verified on read.
#pragma once

#include <optional>
#include <string>

#include "builder/base/digest.h"
#include "builder/base/fs.h"
#include "builder/base/json.h"
#include "builder/cache/entry_lock.h"

namespace strata::builder::build {

// The sha256 of a directory's strata-det/1 tar (modes as they are, owners 0, mtime 0): what
// a package produced, independent of when and where. Dependents' cache keys include it.
Result<Digest> tree_digest(const std::string& dir);

struct PackageOutput {
  std::string name;
  Digest cache_key;
  Digest digest;    // tree_digest of `dir`
  std::string dir;  // the installed tree ($DESTDIR after the last step), read-only by contract
  bool from_cache = false;
  bool from_remote = false;  // taken from the remote cache (builder/build/remote_cache.h)
  // Only its digest is known, from the remote cache's signed entry, and `dir` is empty: no
  // package depends on it, and it is fetched only if a layer needs its tree (the pipeline's
  // materialize step). Its key's preimage is kept for storing it then.
  bool deferred = false;
  Json preimage;
  // The shared lock on the store entry (cache/entry_lock.h): while any copy lives, `strata
  // cache prune` leaves the entry alone.
  cache::EntryHold hold;
};

// What the store remembers of the last build or use of one package of one spec: its key and
// that key's preimage (see OutputStore::remember).
struct LastKey {
  Digest key;
  Json preimage;
};

class OutputStore {
 public:
  // CACHE/packages; created when missing. Removes the work directories in CACHE/packages/tmp
  // whose owning process is gone (a killed build's), never a live build's.
  static Result<OutputStore> open(const std::string& cache_dir);

  // The stored output for `key`, re-verified against its recorded digest, held (shared lock)
  // and stamped as used now (the mtime of its output.json). A damaged entry is removed and
  // reported as absent, so the package is rebuilt instead of used; so is one a prune
  // removes while we wait for its lock.
  Result<std::optional<PackageOutput>> lookup(const std::string& name, const Digest& key);

  // A fresh directory on the store's filesystem for one build (CACHE/packages/tmp/
  // NAME-@PID.START-XXXXXX); commit() moves its `out/` into the store.
  Result<TempDir> make_work_dir(std::string_view name) const;

  // Moves WORK/out into the store under `key` (rename: all or nothing) and returns it, held.
  // The entry also keeps `preimage` (what the key hashes, plus the environment's detail) as
  // key.json, canonical. When another build stored the same key meanwhile, that entry wins.
  Result<PackageOutput> commit(const std::string& name, const Digest& key, const Json& preimage,
                               TempDir work);

  // The key `package` of the spec named `spec` was last built or taken from the store with,
  // and its preimage: CACHE/packages/last/<sha256 of "SPEC\nPACKAGE">.json. nullopt when
  // there is none (or it cannot be read: it only ever explains).
  std::optional<LastKey> last_key(const std::string& spec, const std::string& package) const;
  // Records `key` and `preimage` as that package's last key (written atomically).
  Result<void> remember(const std::string& spec, const std::string& package, const Digest& key,
                        const Json& preimage) const;

  const std::string& root() const { return root_; }

 private:
  explicit OutputStore(std::string root) : root_(std::move(root)) {}
  std::string entry_dir(const Digest& key) const { return root_ + "/" + key.hex; }
  std::string root_;
};

}  // namespace strata::builder::build
