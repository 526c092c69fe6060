// The spec as the commands that build read it (build, shell): parsed with its context, its
// unpinned `path:` sources pinned by their contents, with one warning line each, and its
// docker:// images pulled (or found in the cache).
#pragma once

#include <functional>
#include <string>

#include "builder/base/result.h"
#include "builder/cli/package_options.h"
#include "builder/cli/registry_flags.h"
#include "specs/spec.h"

namespace strata::builder::cli {

// specs::load_spec, then sources::pin_path_sources; prints "strata: warning: source 'S'
// (path P) has no sha256: pinned by its contents at build time (sha256:…)" per pinned source.
// Then pull_spec_images into the cache --cache names (only from it with --offline).
// `before_fetch`, when set, sees the spec as parsed before anything is hashed or pulled
// (strata build --policy); its error stops the load.
Result<specs::Spec> load_build_spec(
    const std::string& path, const std::string& context, const PackageFlags& packages,
    const RegistryFlags& registry,
    const std::function<Result<void>(const specs::Spec&)>& before_fetch = {});

}  // namespace strata::builder::cli
