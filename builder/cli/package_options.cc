#include "builder/cli/package_options.h"

#include <fmt/format.h>
#include <limits.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
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

void add_package_flags(CLI::App* cmd, PackageFlags& flags, const std::string& cache_help) {
  cmd->add_option("--cache", flags.cache, cache_help);
  cmd->add_flag("--offline", flags.offline, "Use only sources already in the cache; never fetch");
  cmd->add_option("-j,--jobs", flags.jobs, "Packages built in parallel (default: CPU count)");
}

void add_context_option(CLI::App* cmd, std::string& context) {
  cmd->add_option("--context", context,
                  "Let the spec's files and path sources resolve anywhere beneath DIR (default: "
                  "the spec's directory); symlinks may never lead out of it")
      ->type_name("DIR");
}

Result<PackageStageOptions> package_stage_options(const PackageFlags& flags, std::string log_root) {
  int64_t jobs =
      flags.jobs > 0 ? flags.jobs : static_cast<int64_t>(::sysconf(_SC_NPROCESSORS_ONLN));
  PackageStageOptions o{.offline = flags.offline, .jobs = jobs, .log_root = std::move(log_root)};
  const std::string& cache_flag = flags.cache;
  if (!cache_flag.empty()) {
    // Absolute: the sandbox binds directories under the cache, and binds need absolute paths.
    char cwd[PATH_MAX];
    bool relative = cache_flag[0] != '/' && ::getcwd(cwd, sizeof cwd) != nullptr;
    o.cache_dir = relative ? fmt::format("{}/{}", cwd, cache_flag) : cache_flag;
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

namespace {

// Shared by the observer's callbacks, which parallel builds call from several threads.
struct ProgressState {
  std::mutex mu;
  bool terminal = false;
  size_t total = 0;
  size_t done = 0;
  std::map<std::string, std::chrono::steady_clock::time_point> started;

  // A permanent line; on a terminal it replaces the status line, which the next step redraws.
  void line(const std::string& text) {
    fmt::print(stderr, "{}{}\n", terminal ? "\r\033[K" : "", text);
  }
  void status(const build::StepEvent& e) {
    std::string text = fmt::format("[{}/{} done] {}: step {}/{}: {}", done, total, e.package,
                                   e.step, e.step_count, e.command);
    if (text.size() > 100) text = text.substr(0, 97) + "...";
    fmt::print(stderr, "\r\033[K{}", text);
  }
  double seconds(const std::string& package) {
    auto it = started.find(package);
    if (it == started.end()) return 0;
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - it->second).count();
  }
};

}  // namespace

build::BuildObserver progress_observer(size_t package_count) {
  auto state = std::make_shared<ProgressState>();
  state->terminal = ::isatty(STDERR_FILENO);
  state->total = package_count;
  build::BuildObserver o;
  o.cached = [state](const std::string& p, const Digest&) {
    std::lock_guard lock(state->mu);
    ++state->done;
    state->line(fmt::format("[{}] cached", p));
  };
  o.started = [state](const std::string& p, const Digest&) {
    std::lock_guard lock(state->mu);
    state->started[p] = std::chrono::steady_clock::now();
  };
  o.step = [state](const build::StepEvent& e) {
    std::lock_guard lock(state->mu);
    if (state->terminal) {
      state->status(e);
    } else {
      state->line(fmt::format("[{}] step {}/{}: {}", e.package, e.step, e.step_count, e.command));
    }
  };
  o.built = [state](const std::string& p, const build::PackageOutput& out) {
    std::lock_guard lock(state->mu);
    ++state->done;
    state->line(fmt::format("[{}] built {} in {:.1f} s", p, out.digest.str(), state->seconds(p)));
  };
  return o;
}

}  // namespace strata::builder::cli
