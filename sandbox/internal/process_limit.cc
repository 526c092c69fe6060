#include "sandbox/internal/process_limit.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <mutex>
#include <sstream>
#include <vector>

#include "builder/base/beneath.h"
#include "builder/base/fd.h"
#include "builder/base/fs.h"
#include "builder/base/owner.h"

namespace strata::sandbox::internal {

namespace {

struct Hierarchy {
  std::string mount_point;
  std::string fs_type;  // "cgroup2" or "cgroup"
  std::string options;  // super options ("rw,pids" for v1)
};

std::vector<Hierarchy> cgroup_mounts() {
  std::vector<Hierarchy> out;
  Result<std::string> info = read_file("/proc/self/mountinfo");
  if (!info.ok()) return out;
  std::istringstream lines(*info);
  std::string line;
  while (std::getline(lines, line)) {
    // "id parent maj:min root mount_point options [optional...] - fstype source super"
    size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream head(line.substr(0, dash)), tail(line.substr(dash + 3));
    std::string skip, mount_point, fs_type, source, super;
    head >> skip >> skip >> skip >> skip >> mount_point;
    tail >> fs_type >> source >> super;
    if (fs_type == "cgroup2" || fs_type == "cgroup") out.push_back({mount_point, fs_type, super});
  }
  return out;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Writes a cgroup control file (no fsync: kernfs has nothing to sync).
Result<void> write_control(const std::string& path, std::string_view text) {
  STRATA_TRY_ASSIGN(UniqueFd fd, open_fd(path, O_WRONLY));
  STRATA_TRY(write_all(fd.get(), text, path));
  return fd.close(path);
}

bool has_word(const std::string& list, std::string_view word, char sep) {
  std::istringstream in(list);
  std::string item;
  while (std::getline(in, item, sep)) {
    if (item == word) return true;
  }
  return false;
}

// The directory of our own cgroup in the pids-capable hierarchy, or "" when there is none:
// v2 when "pids" is enabled for our cgroup's children, else v1's pids hierarchy.
std::string parent_pids_cgroup() {
  Result<std::string> self = read_file("/proc/self/cgroup");
  if (!self.ok()) return "";
  std::vector<Hierarchy> mounts = cgroup_mounts();
  std::string v1_dir;
  std::istringstream lines(*self);
  std::string line;
  while (std::getline(lines, line)) {
    size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    for (const Hierarchy& h : mounts) {
      if (controllers.empty() && h.fs_type == "cgroup2") {
        std::string dir = h.mount_point + (path == "/" ? "" : path);
        Result<std::string> enabled = read_file(dir + "/cgroup.subtree_control");
        if (enabled.ok() && has_word(trim(*enabled), "pids", ' ')) return dir;
      } else if (has_word(controllers, "pids", ',') && h.fs_type == "cgroup" &&
                 has_word(h.options, "pids", ',')) {
        v1_dir = h.mount_point + (path == "/" ? "" : path);
      }
    }
  }
  return v1_dir;
}

constexpr std::string_view kCgroupPrefix = "strata-sandbox-";

// Whether the cgroup `name` (strata-sandbox-@PID.START-N, or strata-sandbox-PID-N as before
// the owner tag) belongs to a process that is gone. For the old form only a missing /proc/PID
// counts, since a start time was never recorded.
bool is_stale_cgroup(std::string_view name) {
  if (!name.starts_with(kCgroupPrefix)) return false;
  std::string_view rest = name.substr(kCgroupPrefix.size());
  if (rest.starts_with('@')) {
    std::string_view prefixes[] = {kCgroupPrefix};
    return is_stale_temporary(name, prefixes);
  }
  pid_t pid = static_cast<pid_t>(std::atoll(std::string(rest.substr(0, rest.find('-'))).c_str()));
  return pid > 0 && pid != ::getpid() && !process_start_ticks(pid);
}

}  // namespace

bool remove_cgroup(const std::string& dir) {
  // A cgroup is removed with rmdir once it holds no process. Pid 1 is reaped by then, but
  // the rest of its pid namespace may still be exiting (EBUSY): kill what is left and retry.
  for (int attempt = 0; attempt < 100; ++attempt) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return true;
    if (errno != EBUSY) return false;
    Result<std::string> procs = read_file(dir + "/cgroup.procs");
    if (procs.ok()) {
      std::istringstream in(*procs);
      for (pid_t pid; in >> pid;) ::kill(pid, SIGKILL);
    }
    ::usleep(10 * 1000);
  }
  return false;
}

void remove_stale_cgroups(const std::string& parent) {
  Result<std::vector<std::string>> names = list_dir(parent);
  if (!names.ok()) return;
  for (const std::string& name : *names) {
    if (is_stale_cgroup(name)) (void)remove_cgroup(parent + "/" + name);
  }
}

Result<ProcessLimit> ProcessLimit::create(int64_t max_processes, uid_t outside_uid) {
  ProcessLimit limit;
  std::string parent = parent_pids_cgroup();
  if (!parent.empty()) {
    // The cgroups killed runs left: once per process, before the first of ours.
    static std::once_flag swept;
    std::call_once(swept, [&] { remove_stale_cgroups(parent); });
    static std::atomic<int> counter{0};
    std::string dir = fmt::format("{}/{}{}-{}", parent, kCgroupPrefix, self_owner_tag(), counter++);
    if (::mkdir(dir.c_str(), 0755) == 0) {
      limit.dir_ = dir;
      // The reaper (pid 1 inside) counts too.
      STRATA_TRY_CONTEXT(write_control(dir + "/pids.max", fmt::format("{}", max_processes + 1)),
                         "setting the process limit");
      return limit;
    }
  }
  // RLIMIT_NPROC is checked against the (user namespace, uid) count, but never for host uid 0
  // (kernel/fork.c: "p->real_cred->user != INIT_USER").
  if (outside_uid == 0)
    return Error(ErrorCode::kUnsupported,
                 "process limit: no pids cgroup can be created here and RLIMIT_NPROC does not "
                 "apply to host root; mount cgroup2 with the pids controller delegated, run "
                 "strata as an unprivileged user, or set no process limit");
  limit.rlimit_nproc_ = max_processes + 1;
  return limit;
}

ProcessLimit::ProcessLimit(ProcessLimit&& other) noexcept
    : dir_(std::exchange(other.dir_, {})), rlimit_nproc_(other.rlimit_nproc_) {}

ProcessLimit& ProcessLimit::operator=(ProcessLimit&& other) noexcept {
  if (this != &other) {
    if (!dir_.empty()) (void)remove_cgroup(dir_);
    dir_ = std::exchange(other.dir_, {});
    rlimit_nproc_ = other.rlimit_nproc_;
  }
  return *this;
}

ProcessLimit::~ProcessLimit() {
  if (!dir_.empty()) (void)remove_cgroup(dir_);
}

Result<void> ProcessLimit::add(pid_t pid) const {
  if (dir_.empty()) return Ok{};
  STRATA_TRY_CONTEXT(write_control(dir_ + "/cgroup.procs", fmt::format("{}", pid)),
                     "joining the sandbox cgroup");
  return Ok{};
}

bool ProcessLimit::was_hit() const {
  if (dir_.empty()) return false;
  Result<std::string> events = read_file(dir_ + "/pids.events");
  if (!events.ok()) return false;
  size_t at = events->find("max ");
  return at != std::string::npos && std::atoll(events->c_str() + at + 4) > 0;
}

}  // namespace strata::sandbox::internal
