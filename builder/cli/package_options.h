// What the package stage needs from the outside world, read once by the CLI (stages never
// read the environment): the cache directory, the host toolchain's identity, progress output.
#pragma once

#include <string>

#include "builder/build/scheduler.h"
#include "builder/packages_stage.h"

namespace strata::builder::cli {

// `cache_flag` ("" = $XDG_CACHE_HOME/strata, else ~/.cache/strata); the host identity is
// dpkg's status file (every installed package and version), else /etc/os-release.
Result<PackageStageOptions> package_stage_options(const std::string& cache_flag, bool offline,
                                                  int64_t jobs, std::string log_root);

// Prints one line per package and step on stderr ("[hello] step 2/3: make -j2").
build::BuildObserver progress_observer();

}  // namespace strata::builder::cli
