#include "builder/cli/package_options.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>

#include "builder/base/fs.h"
#include "builder/sources/progress.h"

namespace strata::builder::cli {
namespace {

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace

Result<PackageStageOptions> package_stage_options(const std::string& cache_flag, bool offline,
                                                  int64_t jobs, std::string log_root) {
  PackageStageOptions o{.offline = offline, .jobs = jobs, .log_root = std::move(log_root)};
  if (!cache_flag.empty()) {
    o.cache_dir = cache_flag;
  } else {
    STRATA_TRY_ASSIGN(o.cache_dir, sources::default_cache_dir(env_or_empty("XDG_CACHE_HOME"),
                                                              env_or_empty("HOME")));
  }
  for (const char* path : {"/var/lib/dpkg/status", "/etc/os-release"}) {
    auto text = read_file(path);
    if (text.ok()) {
      o.host_description = fmt::format("{}\n{}", path, *text);
      break;
    }
  }
  static std::unique_ptr<sources::TerminalProgress> progress =
      sources::TerminalProgress::for_terminal(STDERR_FILENO);
  o.fetch.progress = progress.get();
  return o;
}

build::BuildObserver progress_observer() {
  static std::mutex mu;  // lines from parallel builds must not interleave
  build::BuildObserver o;
  o.cached = [](const std::string& p, const Digest&) {
    std::lock_guard lock(mu);
    fmt::print(stderr, "[{}] cached\n", p);
  };
  o.step = [](const build::StepEvent& e) {
    std::lock_guard lock(mu);
    fmt::print(stderr, "[{}] step {}/{}: {}\n", e.package, e.step, e.step_count, e.command);
  };
  o.built = [](const std::string& p, const build::PackageOutput& out) {
    std::lock_guard lock(mu);
    fmt::print(stderr, "[{}] built {}\n", p, out.digest.str());
  };
  return o;
}

}  // namespace strata::builder::cli
