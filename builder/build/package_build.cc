#include "builder/build/package_build.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>

#include "builder/base/beneath.h"
#include "builder/base/fd.h"

namespace strata::builder::build {
namespace {

constexpr char kSrc[] = "/build/src";
constexpr char kOut[] = "/build/out";
constexpr char kHome[] = "/build/home";
constexpr size_t kLogTailLines = 25;
// The failure message quotes at most this much of the log (docs/package-builds.md): the last
// kLogTailLines lines found in the last kLogTailScanBytes, each cut after kLogLineMaxBytes,
// so a huge log or one giant line costs neither memory nor a giant message.
constexpr int64_t kLogTailScanBytes = 1 << 20;
constexpr size_t kLogLineMaxBytes = 512;
constexpr size_t kLogTailMaxBytes = 32 << 10;
// The top-level directory of a step's own mounts (kSrc, kOut, kHome): like
// sandbox::kSandboxOwnedDirs, a dependency's output cannot have it (check_layerable).
constexpr const char* kBuildDir = "build";
// A build's processes: enough for parallel makes, few enough to stop a fork bomb.
constexpr int64_t kMaxProcesses = 4096;

// The log's last lines, indented and marked for an error message ("" for an empty log).
std::string quoted_tail(const std::string& log) {
  std::string tail = log_tail(log, kLogTailLines);
  std::string quoted;
  for (size_t start = 0; start < tail.size();) {
    size_t end = tail.find('\n', start);
    if (end == std::string::npos) end = tail.size();
    quoted += fmt::format("    | {}\n", std::string_view(tail).substr(start, end - start));
    start = end + 1;
  }
  return quoted;
}

Error step_failed(const PackageBuildRequest& r, size_t step, const sandbox::RunResult& result,
                  const std::string& log) {
  std::string quoted = quoted_tail(log);
  std::string message =
      fmt::format("package '{}' failed at step {}/{}: {}\n  {}\n  log: {}", r.package->name, step,
                  r.package->steps.size(), r.package->steps[step - 1], result.describe(), log);
  if (result.process_limit_hit)
    message += fmt::format("\n  (it hit the limit of {} processes)", kMaxProcesses);
  if (!quoted.empty()) message += fmt::format("\n  last lines of the log:\n{}", quoted);
  while (!message.empty() && message.back() == '\n') message.pop_back();
  return Error(ErrorCode::kBuild, std::move(message));
}

// The sandbox failed while a step ran (its log could not be written on a full disk, ...):
// the cause keeps its code, and says whose step it was and what the step printed so far.
Error step_error(const PackageBuildRequest& r, size_t step, const std::string& log, Error cause) {
  std::string quoted = quoted_tail(log);
  std::string message =
      fmt::format("package '{}' failed at step {}/{}: {}\n  {}\n  log: {}", r.package->name, step,
                  r.package->steps.size(), r.package->steps[step - 1], cause.message(), log);
  if (!quoted.empty()) message += fmt::format("\n  last lines of the log:\n{}", quoted);
  while (!message.empty() && message.back() == '\n') message.pop_back();
  return Error(cause.code(), std::move(message));
}

// Moves every entry of `from` into `to` (then removes `from`); a name both have is an error.
Result<void> merge_into(const std::string& from, const std::string& to) {
  std::error_code ec;
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(from, ec)) {
    names.push_back(e.path().filename().string());
  }
  if (ec) return Error::sys(fmt::format("list {}", from), ec.value());
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    std::string dest = to + "/" + name;
    if (rename_noreplace(from + "/" + name, dest) != 0) {
      if (errno == EEXIST) return Error::io(fmt::format("'{}' is also in another source", name));
      return Error::sys(fmt::format("move {} into {}", name, to), errno);
    }
  }
  return remove_tree(from);
}

// An output is layered over its dependents' root (sandbox::Config::overlays): a top-level
// entry their sandbox makes itself (/build, /dev, /proc, /sys, /tmp) would hide or break it,
// and a top-level file or symlink cannot be layered at all. The error names the package and
// the path, and says why.
Result<void> check_layerable(const std::string& package, const std::string& out_dir) {
  STRATA_TRY_ASSIGN(std::vector<std::string> names, list_dir(out_dir));
  for (const std::string& name : names) {
    bool owned = name == kBuildDir || std::find(std::begin(sandbox::kSandboxOwnedDirs),
                                                std::end(sandbox::kSandboxOwnedDirs),
                                                name) != std::end(sandbox::kSandboxOwnedDirs);
    struct stat st {};
    if (owned) {
      return Error(ErrorCode::kBuild,
                   fmt::format("package '{}' is a dependency, and its output has /{}, which the "
                               "sandbox of the packages depending on it makes itself (/build, "
                               "/dev, /proc, /sys and /tmp cannot come from a dependency)",
                               package, name));
    }
    std::string path = out_dir + "/" + name;
    if (::lstat(path.c_str(), &st) != 0) return Error::sys(fmt::format("lstat {}", path), errno);
    if (!S_ISDIR(st.st_mode)) {
      return Error(ErrorCode::kBuild,
                   fmt::format("package '{}' is a dependency, and its output has /{}, which is "
                               "not a directory: only directories can be layered over the root "
                               "of the packages depending on it",
                               package, name));
    }
  }
  return Ok{};
}

}  // namespace

Result<TempDir> prepare_package_work(const PackageBuildRequest& r, const OutputStore& store) {
  STRATA_TRY_ASSIGN(TempDir work, store.make_work_dir(r.package->name));
  STRATA_TRY(make_dirs(work.path() + "/src"));
  STRATA_TRY(make_dirs(work.path() + "/out"));
  for (size_t i = 0; i < r.sources.size(); ++i) {
    const PreparedSource& s = r.sources[i];
    // Each source unpacks into a directory of its own, whose entries then move into
    // /build/src: several sources (a tarball and a patch, say) share one tree.
    std::string unpacked_dir = fmt::format("{}/unpacked-{}", work.path(), i);
    auto unpacked = s.unpack(unpacked_dir);
    if (unpacked.ok()) unpacked = merge_into(unpacked_dir, work.path() + "/src");
    if (!unpacked.ok()) {
      return std::move(unpacked).error().context(
          fmt::format("package '{}': unpacking source '{}'", r.package->name, s.name));
    }
  }
  STRATA_TRY(make_dirs(r.log_dir));
  return work;
}

sandbox::Config package_sandbox_config(const PackageBuildRequest& r, const std::string& work,
                                       std::vector<std::string> argv) {
  sandbox::Config c;
  c.rootfs = r.rootfs;
  c.binds = {{.source = work + "/src", .target = kSrc, .read_only = false},
             {.source = work + "/out", .target = kOut, .read_only = false}};
  // Dependencies appear read-only at their installed paths, layered over the root.
  for (const PackageOutput& dep : r.dependencies) c.overlays.push_back(dep.dir);
  c.argv = std::move(argv);
  c.env = step_environment(r);
  c.cwd = kSrc;
  c.home = kHome;
  c.limits = {.max_processes = kMaxProcesses};
  if (r.package->tmpfs_size_bytes > 0) c.limits.tmpfs_size_bytes = r.package->tmpfs_size_bytes;
  return c;
}

std::vector<std::string> step_environment(const PackageBuildRequest& r) {
  std::map<std::string, std::string> env = {
      {"PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}};
  for (const auto& [k, v] : r.env) env[k] = v;
  std::map<std::string, std::string> fixed = {
      {"HOME", kHome},       {"TMPDIR", "/tmp"},
      {"DESTDIR", kOut},     {"JOBS", std::to_string(r.jobs)},
      {"TZ", "UTC"},         {"LANG", "C.UTF-8"},
      {"LC_ALL", "C.UTF-8"}, {"SOURCE_DATE_EPOCH", std::to_string(r.epoch)}};
  for (const auto& [k, v] : fixed) env[k] = v;
  std::vector<std::string> out;
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

std::string log_tail(const std::string& path, size_t lines) {
  // Only the end of the file is read, whatever its size: a step may log gigabytes.
  Result<UniqueFd> fd = open_fd(path, O_RDONLY);
  struct stat st {};
  if (!fd.ok() || ::fstat(fd->get(), &st) != 0 || !S_ISREG(st.st_mode)) return "";
  const int64_t size = st.st_size;
  const int64_t start = std::max<int64_t>(0, size - kLogTailScanBytes);
  std::string window(static_cast<size_t>(size - start), '\0');
  size_t got = 0;
  while (got < window.size()) {
    ssize_t n = ::pread(fd->get(), window.data() + got, window.size() - got,
                        static_cast<off_t>(start) + static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  window.resize(got);
  std::string_view t = window;
  // A window that starts inside a line holds only that line's end.
  bool partial_first = false;
  if (start > 0) {
    char before = '\n';
    partial_first =
        ::pread(fd->get(), &before, 1, static_cast<off_t>(start - 1)) == 1 && before != '\n';
  }
  while (!t.empty() && t.back() == '\n') t.remove_suffix(1);
  // Walk back over `lines` newlines; `begin` ends at the newline before the tail, or at 0.
  size_t begin = t.size();
  for (size_t n = 0; n < lines && begin > 0; ++n) {
    size_t newline = t.rfind('\n', begin - 1);
    if (newline == std::string_view::npos) {
      begin = 0;
      break;
    }
    begin = newline;
  }
  if (begin < t.size() && t[begin] == '\n') ++begin;
  partial_first = partial_first && begin == 0;
  std::string out;
  for (size_t pos = begin; pos <= t.size() && out.size() < kLogTailMaxBytes;) {
    size_t end = std::min(t.find('\n', pos), t.size());
    std::string_view line = t.substr(pos, end - pos);
    if (!out.empty()) out += '\n';
    if (partial_first && pos == begin) out += "\u2026(earlier bytes cut)";
    if (line.size() > kLogLineMaxBytes) {
      // Cut at a UTF-8 character boundary, so the message stays valid text.
      size_t cut = kLogLineMaxBytes;
      while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
      out += line.substr(0, cut);
      out += fmt::format("\u2026({} bytes cut)", line.size() - cut);
    } else {
      out += line;
    }
    if (end >= t.size()) break;
    pos = end + 1;
  }
  return out;
}

Result<TempDir> build_package(const PackageBuildRequest& r, const OutputStore& store,
                              sandbox::Runner& runner, const StepObserver& observe,
                              const std::atomic<bool>* cancelled) {
  // Outputs from the cache were stored before the check below existed, or for a package that
  // was no one's dependency then.
  for (const PackageOutput& dep : r.dependencies) {
    STRATA_TRY_CONTEXT(check_layerable(dep.name, dep.dir),
                       fmt::format("package '{}'", r.package->name));
  }
  STRATA_TRY_ASSIGN(TempDir work, prepare_package_work(r, store));
  STRATA_TRY_ASSIGN(UniqueFd null_fd, open_fd("/dev/null", O_WRONLY));
  int64_t budget_ms = r.package->timeout_s * 1000;
  const size_t count = r.package->steps.size();
  for (size_t i = 0; i < count; ++i) {
    if (cancelled && cancelled->load()) {
      return Error(ErrorCode::kBuild, fmt::format("package '{}' cancelled", r.package->name));
    }
    std::string log = fmt::format("{}/step-{}.log", r.log_dir, i + 1);
    if (observe) observe({r.package->name, i + 1, count, r.package->steps[i], log});
    sandbox::Config config =
        package_sandbox_config(r, work.path(), {"/bin/sh", "-e", "-c", r.package->steps[i]});
    config.limits.timeout_ms = budget_ms;
    config.stdout_fd = null_fd.get();
    config.stderr_fd = null_fd.get();
    config.log_path = log;
    config.cancel = cancelled;  // another package failed: stop this step now, not at its end
    auto run = runner.run(config);
    if (!run.ok()) return step_error(r, i + 1, log, std::move(run).error());
    sandbox::RunResult result = *std::move(run);
    if (!result.ok()) return step_failed(r, i + 1, result, log);
    budget_ms -= result.duration_ms;
    if (budget_ms <= 0 && i + 1 < count) {
      return Error(ErrorCode::kBuild,
                   fmt::format("package '{}' timed out after step {}/{} (timeout {} s)",
                               r.package->name, i + 1, count, r.package->timeout_s));
    }
  }
  if (r.is_dependency) STRATA_TRY(check_layerable(r.package->name, work.path() + "/out"));
  return work;
}

}  // namespace strata::builder::build
