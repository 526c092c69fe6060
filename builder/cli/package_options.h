// What the package stage needs from the outside world, read once by the CLI (stages never
// read the environment): the cache directory, the host toolchain's identity, progress output.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "builder/build/packages_stage.h"
#include "builder/build/scheduler.h"

namespace strata::builder::cli {

// The flags of every command that builds packages (build, verify, shell).
struct PackageFlags {
  std::string cache;  // "" = $XDG_CACHE_HOME/strata, else ~/.cache/strata
  bool offline = false;
  int64_t jobs = 0;  // 0 = the CPU count
};

// Adds --cache (described by `cache_help`), --offline and -j/--jobs to `cmd`.
void add_package_flags(CLI::App* cmd, PackageFlags& flags, const std::string& cache_help);

// Adds --context DIR to a command that reads a spec (build, validate, shell, verify): the
// directory its local inputs must stay beneath instead of the spec's own (specs/inputs.h).
void add_context_option(CLI::App* cmd, std::string& context);

// The cache directory for --cache VALUE: VALUE made absolute, or "" = $XDG_CACHE_HOME/strata,
// else ~/.cache/strata.
Result<std::string> resolve_cache_dir(const std::string& cache_flag);

// The host paths the host sandbox exposes ("/usr", ..., "/etc/ld.so.cache", ...), from
// sandbox/config.h.
std::vector<std::string> host_exposed_paths();

// The package stage's options for `flags`, with the jobs default filled in. The host
// identity is cache::host_toolchain_document over this host's dpkg database and os-release
// (docs/cache.md), read when a host build first needs it; a malformed dpkg database then
// fails that build with an error naming the file and line.
Result<PackageStageOptions> package_stage_options(const PackageFlags& flags, std::string log_root);

// Progress on stderr. Not a terminal (CI logs, pipes): one line per step ("[hello] step 2/3:
// make") and per finished package, nothing redrawn. A terminal: ProgressDisplay (progress.h)
// redraws a frame in place, a summary line ("[1/3 done] 2 running  14.2s") and one line per
// running package with its step and that step's elapsed time ("[hello] step 2/3 make -j2
// 12.3s"), fitted to the terminal's width; a permanent line per cached or finished package
// (with its elapsed time) is printed above the frame. The frame is erased when every package
// is done, and main() erases it (clear_progress) before printing an error. `package_count` is
// how many packages the build has.
build::BuildObserver progress_observer(size_t package_count);

}  // namespace strata::builder::cli
