// The spec as the commands that build read it (build, shell): parsed with its context, and
// its unpinned `path:` sources pinned by their contents, with one warning line each.
#pragma once

#include <string>

#include "builder/base/result.h"
#include "specs/spec.h"

namespace strata::builder::cli {

// specs::load_spec, then sources::pin_path_sources; prints "strata: warning: source 'S'
// (path P) has no sha256: pinned by its contents at build time (sha256:…)" per pinned source.
Result<specs::Spec> load_build_spec(const std::string& path, const std::string& context);

}  // namespace strata::builder::cli
