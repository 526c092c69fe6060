// `strata build --explain-cache PACKAGE`: why a package was or was not taken from the cache,
// as the JSON Pointer difference between the key it was last built or used with and now, and
// on a miss in a registry cache too, from the nearest entry another machine wrote there.
#pragma once

#include <string>
#include <vector>

#include "builder/build/scheduler.h"

namespace strata::builder::cli {

// The lines --explain-cache prints for one package (docs/cache.md "Explaining a rebuild"):
// a first line saying hit or miss and why, then one "  POINTER: OLD -> NEW" line per
// difference of the preimages (values as canonical JSON, "(absent)" for a side lacking it).
std::vector<std::string> explain_cache_lines(const std::string& spec_name,
                                             const build::CacheExplanation& e);

// Sets `observer.explained` to print explain_cache_lines for `package` on stderr (above the
// progress frame).
void add_cache_explanation(build::BuildObserver& observer, const std::string& spec_name,
                           const std::string& package);

}  // namespace strata::builder::cli
