// Building one package: its sources unpacked into /build/src, its steps run one after another
// in the sandbox (`/bin/sh -e -c STEP`, cwd /build/src, docs/design.md's fixed environment), and
// whatever it installed into $DESTDIR=/build/out is its output.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "builder/base/fs.h"
#include "builder/build/output_store.h"
#include "sandbox/sandbox.h"
#include "specs/spec.h"

namespace strata::builder::build {

// A verified source, ready to be unpacked into a directory.
struct PreparedSource {
  std::string name;
  std::function<Result<void>(const std::string& dest_dir)> unpack;
};

// What happens while a package builds, for progress displays.
struct StepEvent {
  std::string package;
  size_t step = 0;  // 1-based
  size_t step_count = 0;
  std::string command;
  std::string log_path;
};
using StepObserver = std::function<void(const StepEvent&)>;

struct PackageBuildRequest {
  const specs::Package* package = nullptr;
  std::map<std::string, std::string> env;  // environment.env + package.env
  int64_t epoch = 0;
  int64_t jobs = 1;
  std::vector<PreparedSource> sources;
  std::vector<PackageOutput> dependencies;  // visible read-only at their installed paths
  std::string rootfs;                       // "" = the host's system directories
  std::string log_dir;                      // one log file per step: LOG_DIR/step-N.log
  // Another package depends on this one: its output must be layerable over their root (no
  // /build, /dev, /proc, /sys, /tmp, no top-level file), checked once the steps are done.
  bool is_dependency = false;
};

// The environment every step gets (docs/design.md "The sandbox contract"), then the spec's env.
// The contract's variables cannot be overridden, except PATH.
std::vector<std::string> step_environment(const PackageBuildRequest& request);

// A fresh work directory from `store` with WORK/src holding the package's sources unpacked
// and an empty WORK/out, plus the log directory.
Result<TempDir> prepare_package_work(const PackageBuildRequest& request, const OutputStore& store);

// The sandbox for running `argv` in the package's build environment: the rootfs with the
// dependencies layered over it, /build/src and /build/out from `work_dir`, the step
// environment, cwd /build/src, HOME /build/home.
sandbox::Config package_sandbox_config(const PackageBuildRequest& request,
                                       const std::string& work_dir, std::vector<std::string> argv);

// Runs the package's steps in a fresh work directory from `store`; on success returns that
// directory, whose out/ holds the output (ready for OutputStore::commit). A failing step is
// ErrorCode::kBuild naming the package, the step, how it ended, the log file and the log's
// last lines. A dependency whose output cannot be layered over this package's root, or (with
// `is_dependency`) an output that could not be, is ErrorCode::kBuild naming the package and
// the path. `cancelled` (may be null), once set, kills the running step and starts no other.
Result<TempDir> build_package(const PackageBuildRequest& request, const OutputStore& store,
                              sandbox::Runner& runner, const StepObserver& observe,
                              const std::atomic<bool>* cancelled);

// The last `lines` lines of a log file ("" when unreadable), read from the end of the file
// (at most its last MiB): each line cut after 512 bytes with "…(N bytes cut)", a first line
// that starts before the part read marked "…(earlier bytes cut)", at most 32 KiB in all.
std::string log_tail(const std::string& path, size_t lines);

}  // namespace strata::builder::build
