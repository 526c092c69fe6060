// The sources stage: every source of a spec fetched (or read) into the store and verified,
// as a SourceSet the sandboxed builds unpack from (docs/design.md "The pipeline", step 2).
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "builder/sources/store.h"
#include "specs/spec.h"

namespace strata::builder {

// builder::SourceSet: the sources stage's value (docs/style.md §1).
struct SourceSet {
  std::map<std::string, sources::StoredSource> by_name;
};

namespace sources {

// Ensures every source of `spec`, in spec order, in the store under options.cache_dir
// (see SourceStore::ensure; `path:` sources are relative to spec.dir). Stops at the first
// error; sources stored before it stay in the store (they are verified).
Result<SourceSet> fetch_sources(const specs::Spec& spec, const SourceOptions& options,
                                Fetcher& fetcher);

// The default cache directory: $XDG_CACHE_HOME/strata, else $HOME/.cache/strata. main()
// passes the environment's values (empty when unset); stages never read the environment.
// A relative XDG_CACHE_HOME is ignored, as the XDG spec asks. Fails when neither helps.
Result<std::string> default_cache_dir(std::string_view xdg_cache_home, std::string_view home);

}  // namespace sources
}  // namespace strata::builder
