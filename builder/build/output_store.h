// Package outputs: the digest of an output tree, and the content-addressed store of built
// outputs under CACHE/packages/<cache key>/, written atomically and verified on read.
#pragma once

#include <optional>
#include <string>

#include "builder/base/digest.h"
#include "builder/base/fs.h"

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
};

class OutputStore {
 public:
  // CACHE/packages; created when missing. Removes the work directories in CACHE/packages/tmp
  // whose owning process is gone (a killed build's), never a live build's.
  static Result<OutputStore> open(const std::string& cache_dir);

  // The stored output for `key`, re-verified against its recorded digest. A damaged entry is
  // removed and reported as absent, so the package is rebuilt instead of used.
  Result<std::optional<PackageOutput>> lookup(const std::string& name, const Digest& key);

  // A fresh directory on the store's filesystem for one build (CACHE/packages/tmp/
  // NAME-@PID.START-XXXXXX); commit() moves its `out/` into the store.
  Result<TempDir> make_work_dir(std::string_view name) const;

  // Moves WORK/out into the store under `key` (rename: all or nothing) and returns it.
  // When another build stored the same key meanwhile, that entry wins.
  Result<PackageOutput> commit(const std::string& name, const Digest& key, TempDir work);

  const std::string& root() const { return root_; }

 private:
  explicit OutputStore(std::string root) : root_(std::move(root)) {}
  std::string entry_dir(const Digest& key) const { return root_ + "/" + key.hex; }
  std::string root_;
};

}  // namespace strata::builder::build
