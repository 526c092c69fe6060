#include "builder/sources/source_set.h"

#include <fmt/format.h>

#include "specs/inputs.h"

namespace strata::builder::sources {

Result<SourceSet> fetch_sources(const specs::Spec& spec, const SourceOptions& options,
                                Fetcher& fetcher) {
  SourceStore store(options);
  SourceSet set;
  for (const specs::Source& source : spec.sources) {
    // A relative `path:` source is read where it resolves beneath the spec's context.
    specs::Source resolved = source;
    if (!source.path.empty() && !source.path.starts_with('/')) {
      Result<std::string> host = specs::resolve_local_input(spec, source.path);
      if (!host.ok()) {
        return Error(ErrorCode::kSpec, fmt::format("source {}: path '{}': {}", source.name,
                                                   source.path, host.error().message()));
      }
      resolved.path = *host;
    }
    STRATA_TRY_ASSIGN(StoredSource stored, store.ensure(resolved, spec.dir, fetcher));
    set.by_name.emplace(source.name, std::move(stored));
  }
  return set;
}

Result<std::string> default_cache_dir(std::string_view xdg_cache_home, std::string_view home) {
  if (xdg_cache_home.starts_with('/')) return std::string(xdg_cache_home) + "/strata";
  if (home.starts_with('/')) return std::string(home) + "/.cache/strata";
  return Error(ErrorCode::kUsage,
               "no cache directory: HOME and XDG_CACHE_HOME are unset; pass --cache DIR");
}

}  // namespace strata::builder::sources
