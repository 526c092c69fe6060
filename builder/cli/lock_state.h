// The lock a spec would get now: `strata lock` writes it, `strata lock --check` and
// `strata pin --check` compare it with the lock beside the spec (docs/debian-packages.md).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "builder/base/result.h"
#include "builder/sources/fetcher.h"
#include "specs/spec.h"

namespace strata::builder::cli {

struct LockState {
  std::string path;                     // strata.lock beside the spec
  std::optional<std::string> old_text;  // what it holds now, when it exists
  std::string text;                     // the lock made now
  size_t packages = 0;
  bool current() const { return old_text && *old_text == text; }
};

// Reads the spec's verified repositories and resolves its debs, keeping the versions the
// lock beside it holds where the repositories still have them, except for the packages in
// `update` (every package with update_all). Writes nothing.
Result<LockState> relock(const specs::Spec& spec, const std::string& cache_dir,
                         sources::Fetcher& fetcher, const std::vector<std::string>& update,
                         bool update_all);

}  // namespace strata::builder::cli
