#include "builder/cli/package_options.h"

#include <fmt/format.h>
#include <limits.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>

#include "builder/base/fs.h"
#include "builder/cache/host_toolchain.h"
#include "builder/cli/progress.h"
#include "builder/sources/progress.h"
#include "sandbox/config.h"

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
  cmd->add_option("-j,--jobs", flags.jobs,
                  "Packages built in parallel, and threads compressing each layer "
                  "(default: CPU count; the bytes do not depend on it)");
}

void add_context_option(CLI::App* cmd, std::string& context) {
  cmd->add_option("--context", context,
                  "Let the spec's files and path sources resolve anywhere beneath DIR (default: "
                  "the spec's directory); symlinks may never lead out of it")
      ->type_name("DIR");
}

Result<std::string> resolve_cache_dir(const std::string& cache_flag) {
  if (cache_flag.empty()) {
    return sources::default_cache_dir(env_or_empty("XDG_CACHE_HOME"), env_or_empty("HOME"));
  }
  // Absolute: the sandbox binds directories under the cache, and binds need absolute paths.
  char cwd[PATH_MAX];
  bool relative = cache_flag[0] != '/' && ::getcwd(cwd, sizeof cwd) != nullptr;
  return relative ? fmt::format("{}/{}", cwd, cache_flag) : cache_flag;
}

std::vector<std::string> host_exposed_paths() {
  std::vector<std::string> paths;
  for (const char* name : sandbox::kHostRootEntries) paths.push_back(fmt::format("/{}", name));
  for (const char* name : sandbox::kHostEtcEntries) paths.push_back(fmt::format("/etc/{}", name));
  return paths;
}

Result<Json> read_host_toolchain() {
  STRATA_TRY_ASSIGN_CONTEXT(cache::HostTexts texts, cache::read_host_texts(""),
                            "identifying the host toolchain for cache keys");
  STRATA_TRY_ASSIGN_CONTEXT(Json doc, cache::host_toolchain_document(texts, host_exposed_paths()),
                            "identifying the host toolchain for cache keys");
  return doc;
}

Result<PackageStageOptions> package_stage_options(const PackageFlags& flags, std::string log_root) {
  int64_t jobs =
      flags.jobs > 0 ? flags.jobs : static_cast<int64_t>(::sysconf(_SC_NPROCESSORS_ONLN));
  PackageStageOptions o{.offline = flags.offline, .jobs = jobs, .log_root = std::move(log_root)};
  STRATA_TRY_ASSIGN(o.cache_dir, resolve_cache_dir(flags.cache));
  // Read once per process, and only by builds on the host (about 100 ms: docs/cache.md).
  o.host_toolchain = [] {
    static const Result<Json> doc = read_host_toolchain();
    return doc;
  };
  static std::unique_ptr<sources::TerminalProgress> progress =
      sources::TerminalProgress::for_terminal(STDERR_FILENO);
  o.fetch.progress = progress.get();
  return o;
}

namespace {

// Not a terminal (CI logs, pipes): one plain line per step and per package, nothing redrawn.
// Parallel builds call the observer's callbacks from several threads.
struct PlainProgress {
  std::mutex mu;
  std::map<std::string, std::chrono::steady_clock::time_point> started;

  double seconds(const std::string& package) {
    auto it = started.find(package);
    if (it == started.end()) return 0;
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - it->second).count();
  }
};

build::BuildObserver plain_observer() {
  auto state = std::make_shared<PlainProgress>();
  build::BuildObserver o;
  o.cached = [state](const std::string& p, const Digest&) {
    std::lock_guard lock(state->mu);
    fmt::print(stderr, "[{}] cached\n", p);
  };
  o.fetched = [state](const std::string& p, const Digest&) {
    std::lock_guard lock(state->mu);
    fmt::print(stderr, "[{}] cached (registry)\n", p);
  };
  o.started = [state](const std::string& p, const Digest&) {
    std::lock_guard lock(state->mu);
    state->started[p] = std::chrono::steady_clock::now();
  };
  o.step = [state](const build::StepEvent& e) {
    std::lock_guard lock(state->mu);
    fmt::print(stderr, "[{}] step {}/{}: {}\n", e.package, e.step, e.step_count, e.command);
  };
  o.built = [state](const std::string& p, const build::PackageOutput& out) {
    std::lock_guard lock(state->mu);
    fmt::print(stderr, "[{}] built {} in {:.1f} s\n", p, out.digest.str(), state->seconds(p));
  };
  return o;
}

}  // namespace

build::BuildObserver progress_observer(size_t package_count) {
  ProgressDisplay* display = ProgressDisplay::for_stderr();
  if (display == nullptr) return plain_observer();
  // The frame starts with the first package event, not here: sources are fetched first, with
  // their own progress line (builder/sources/progress.h).
  auto once = std::make_shared<std::once_flag>();
  auto begin = [display, once, package_count] {
    std::call_once(*once, [&] { display->begin(package_count); });
  };
  build::BuildObserver o;
  o.cached = [display, begin](const std::string& p, const Digest&) {
    begin();
    display->update([&](ProgressState& s) {
      ++s.done;
      return fmt::format("[{}] cached", p);
    });
  };
  o.fetched = [display, begin](const std::string& p, const Digest&) {
    begin();
    display->update([&](ProgressState& s) {
      ++s.done;
      return fmt::format("[{}] cached (registry)", p);
    });
  };
  o.started = [display, begin](const std::string& p, const Digest&) {
    begin();
    display->update([&](ProgressState& s) {
      auto now = ProgressClock::now();
      s.running.push_back({.name = p, .since = now, .started = now});
      return std::string();
    });
  };
  o.step = [display, begin](const build::StepEvent& e) {
    begin();
    display->update([&](ProgressState& s) {
      auto now = ProgressClock::now();
      auto it = std::find_if(s.running.begin(), s.running.end(),
                             [&](const RunningPackage& r) { return r.name == e.package; });
      if (it == s.running.end()) {
        s.running.push_back({.name = e.package, .started = now});
        it = std::prev(s.running.end());
      }
      it->step = e.step;
      it->step_count = e.step_count;
      it->command = e.command;
      it->since = now;
      return std::string();
    });
  };
  o.built = [display, begin](const std::string& p, const build::PackageOutput& out) {
    begin();
    display->update([&](ProgressState& s) {
      ++s.done;
      auto it = std::find_if(s.running.begin(), s.running.end(),
                             [&](const RunningPackage& r) { return r.name == p; });
      double seconds = 0;
      if (it != s.running.end()) {
        seconds = std::chrono::duration<double>(ProgressClock::now() - it->started).count();
        s.running.erase(it);
      }
      return fmt::format("[{}] built {} in {:.1f} s", p, out.digest.str(), seconds);
    });
  };
  return o;
}

}  // namespace strata::builder::cli
