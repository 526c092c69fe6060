#include "builder/cli/spec_input.h"

#include <fmt/format.h>

#include "builder/sources/path_source.h"
#include "specs/parse.h"

namespace strata::builder::cli {

Result<specs::Spec> load_build_spec(
    const std::string& path, const std::string& context, const PackageFlags& packages,
    const RegistryFlags& registry,
    const std::function<Result<void>(const specs::Spec&)>& before_fetch) {
  STRATA_TRY_ASSIGN(specs::Spec spec, specs::load_spec(path, {.context = context}));
  if (before_fetch) STRATA_TRY(before_fetch(spec));
  STRATA_TRY(sources::pin_path_sources(spec));
  for (const specs::Source& s : spec.sources) {
    if (!s.pinned_by_content) continue;
    fmt::print(stderr,
               "strata: warning: source '{}' (path {}) has no sha256: pinned by its contents at "
               "build time ({})\n",
               s.name, s.path, s.sha256.str());
  }
  STRATA_TRY_ASSIGN(std::string cache_dir, resolve_cache_dir(packages.cache));
  STRATA_TRY(pull_spec_images(spec, registry, cache_dir, packages.offline));
  return spec;
}

}  // namespace strata::builder::cli
