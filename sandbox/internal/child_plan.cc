#include "sandbox/internal/child_plan.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>

#include "builder/base/beneath.h"
#include "builder/base/fs.h"

namespace strata::sandbox::internal {

namespace {

constexpr uint64_t kReadOnly = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
// The host mode's root and /etc entries: kHostRootEntries and kHostEtcEntries (config.h).
// Entries of an image's root that the sandbox provides itself (/etc: merged, see add_root).
bool is_skipped_root_entry(std::string_view name) {
  return name == "etc" || std::find(std::begin(kSandboxOwnedDirs), std::end(kSandboxOwnedDirs),
                                    name) != std::end(kSandboxOwnedDirs);
}
constexpr const char* kGeneratedEtcEntries[] = {"passwd", "group", "hosts", "hostname"};
constexpr const char* kDevNodes[] = {"null", "zero", "full", "random", "urandom", "tty"};

class PlanBuilder {
 public:
  explicit PlanBuilder(ChildPlan& plan) : plan_(plan) {}

  // Adds `host_path` (of any type) at `target`: a symlink is recreated, a directory or a
  // regular file is bind-mounted read-only, anything else is left out.
  Result<void> add_host_entry(const std::string& host_path, const std::string& target,
                              uint64_t attr = kReadOnly) {
    struct stat st {};
    if (::lstat(host_path.c_str(), &st) != 0) {
      if (errno == ENOENT) return Ok{};
      return Error::sys(fmt::format("lstat {}", host_path), errno);
    }
    if (S_ISLNK(st.st_mode)) {
      std::string link(static_cast<size_t>(st.st_size) + 1, '\0');
      ssize_t n = ::readlink(host_path.c_str(), link.data(), link.size());
      if (n < 0) return Error::sys(fmt::format("readlink {}", host_path), errno);
      link.resize(static_cast<size_t>(n));
      symlink(target, link);
    } else if (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)) {
      bind(host_path, target, attr, S_ISREG(st.st_mode));
    }
    return Ok{};
  }

  void mkdir_parents(const std::string& target) {
    for (size_t slash = target.find('/', 1); slash != std::string::npos;
         slash = target.find('/', slash + 1)) {
      std::string dir = target.substr(0, slash);
      if (dirs_.insert(dir).second) add({.kind = MountOp::Kind::kMkdir, .target = keep(dir)});
    }
  }
  void bind(const std::string& source, const std::string& target, uint64_t attr, bool file) {
    mkdir_parents(target);
    if (!file) dirs_.insert(target);
    add({.kind = MountOp::Kind::kBind,
         .target = keep(target),
         .source = keep(source),
         .mount_attr = attr,
         .file_target = file});
  }
  // A read-only overlayfs of `lowers` (the first on top) at `target`. The lower directories
  // are given to overlayfs as /proc/self/fd/N: it shows the option string it was given in
  // mountinfo, and the host paths of the cache are no business of the build.
  Result<void> overlay(const std::vector<std::string>& lowers, const std::string& target,
                       const std::string& upper = "", const std::string& work = "") {
    mkdir_parents(target);
    dirs_.insert(target);
    std::string list, label;
    for (const std::string& l : lowers) {
      STRATA_TRY_ASSIGN(UniqueFd fd, open_fd(l, O_PATH | O_DIRECTORY | O_CLOEXEC));
      list += fmt::format("{}/proc/self/fd/{}", list.empty() ? "" : ":", fd.get());
      label += (label.empty() ? "" : ":") + l;
      plan_.lower_dirs.push_back(
          {.path = keep(l), .fd = fd.get(), .op_index = static_cast<int>(plan_.ops.size())});
      plan_.lower_fds.push_back(std::move(fd));
    }
    add({.kind = MountOp::Kind::kOverlay,
         .target = keep(target),
         .source = keep(list),
         .label = keep(label),
         .upper = upper.empty() ? nullptr : keep(upper),
         .work = work.empty() ? nullptr : keep(work)});
    return Ok{};
  }
  void tmpfs(const std::string& target, const std::string& options, uint64_t ms_flags) {
    mkdir_parents(target);
    dirs_.insert(target);
    add({.kind = MountOp::Kind::kTmpfs,
         .target = keep(target),
         .source = keep(options),
         .mount_attr = ms_flags});
  }
  void symlink(const std::string& target, const std::string& link) {
    mkdir_parents(target);
    add({.kind = MountOp::Kind::kSymlink, .target = keep(target), .source = keep(link)});
  }
  void file(const std::string& target, std::string contents) {
    mkdir_parents(target);
    size_t size = contents.size();
    add({.kind = MountOp::Kind::kFile,
         .target = keep(target),
         .source = keep(std::move(contents)),
         .source_size = size});
  }

 private:
  void add(MountOp op) { plan_.ops.push_back(op); }
  const char* keep(std::string s) { return plan_.keep(std::move(s)); }

  ChildPlan& plan_;
  std::set<std::string> dirs_{"/"};
};

bool contains(const auto& list, std::string_view name) {
  return std::find(std::begin(list), std::end(list), name) != std::end(list);
}

bool is_dir(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// The overlays' top-level directories by name (each list in overlay order) and their /etc
// entries, first overlay first.
struct OverlayEntries {
  std::map<std::string, std::vector<std::string>> dirs;
  std::vector<std::pair<std::string, std::string>> etc;  // {name, host path}
};

Result<OverlayEntries> list_overlays(const Config& config) {
  OverlayEntries out;
  for (const std::string& overlay : config.overlays) {
    STRATA_TRY_ASSIGN(std::vector<std::string> names, list_dir(overlay));
    for (const std::string& name : names) {
      std::string path = overlay + "/" + name;
      if (name == "etc" && is_dir(path)) {
        STRATA_TRY_ASSIGN(std::vector<std::string> etc_names, list_dir(path));
        for (const std::string& e : etc_names) out.etc.emplace_back(e, path + "/" + e);
      } else if (is_skipped_root_entry(name) || !is_dir(path)) {
        return Error(ErrorCode::kUsage,
                     fmt::format("overlay {}: /{} cannot be layered over the root", overlay, name));
      } else {
        out.dirs[name].push_back(path);
      }
    }
  }
  return out;
}

// Adds the root's entry `name` (at `root_path`), layered under the overlays that have it.
Result<void> add_root_entry(PlanBuilder& b, OverlayEntries& overlays, const std::string& name,
                            const std::string& root_path) {
  auto it = overlays.dirs.find(name);
  if (it == overlays.dirs.end()) return b.add_host_entry(root_path, "/" + name);
  std::vector<std::string> lowers = std::move(it->second);
  overlays.dirs.erase(it);
  if (!is_dir(root_path)) {
    struct stat st {};
    if (::lstat(root_path.c_str(), &st) == 0) {
      return Error(ErrorCode::kUsage,
                   fmt::format("overlay {}: /{} is not a directory in the root (install into "
                               "what it points to)",
                               lowers.front(), name));
    }
  } else {
    lowers.push_back(root_path);
  }
  if (lowers.size() == 1) return b.add_host_entry(lowers.front(), "/" + name);
  return b.overlay(lowers, "/" + name);
}

// Config::rootfs_writable: every top-level entry of the tree but the sandbox's own, read-write.
Result<void> add_writable_root(const Config& config, PlanBuilder& b) {
  STRATA_TRY_ASSIGN(std::vector<std::string> names, list_dir(config.rootfs));
  for (const std::string& name : names) {
    if (contains(kSandboxOwnedDirs, name)) continue;
    std::string path = config.rootfs + "/" + name;
    if (!config.rootfs_upper.empty() && is_dir(path)) {
      std::string upper = config.rootfs_upper + "/" + name, work = config.rootfs_work + "/" + name;
      for (const std::string& d : {upper, work}) {
        if (::mkdir(d.c_str(), 0755) != 0 && errno != EEXIST)
          return Error::sys("mkdir " + d, errno);
      }
      STRATA_TRY(b.overlay({path}, "/" + name, upper, work));
    } else {
      STRATA_TRY(b.add_host_entry(
          path, "/" + name,
          config.rootfs_upper.empty() ? MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV : kReadOnly));
    }
  }
  return Ok{};
}

Result<void> add_root(const Config& config, PlanBuilder& b) {
  if (config.rootfs_writable) return add_writable_root(config, b);
  STRATA_TRY_ASSIGN(OverlayEntries overlays, list_overlays(config));
  std::vector<std::pair<std::string, std::string>> etc;  // {name, host path}, first wins
  if (config.rootfs.empty()) {
    for (const char* name : kHostRootEntries)
      STRATA_TRY(add_root_entry(b, overlays, name, fmt::format("/{}", name)));
    for (const char* name : kHostEtcEntries) etc.emplace_back(name, fmt::format("/etc/{}", name));
  } else {
    // list_dir sorts: the mount order, and so any error, is the same every run.
    STRATA_TRY_ASSIGN(std::vector<std::string> names, list_dir(config.rootfs));
    for (const std::string& name : names) {
      if (is_skipped_root_entry(name)) continue;
      STRATA_TRY(add_root_entry(b, overlays, name, config.rootfs + "/" + name));
    }
    std::string root_etc = config.rootfs + "/etc";
    if (is_dir(root_etc)) {
      STRATA_TRY_ASSIGN(std::vector<std::string> etc_names, list_dir(root_etc));
      for (const std::string& name : etc_names) etc.emplace_back(name, root_etc + "/" + name);
    }
  }
  // What only the overlays have (e.g. /opt/app).
  for (auto& [name, lowers] : overlays.dirs) {
    if (lowers.size() == 1) {
      STRATA_TRY(b.add_host_entry(lowers.front(), "/" + name));
    } else {
      STRATA_TRY(b.overlay(lowers, "/" + name));
    }
  }
  b.mkdir_parents("/etc/x");
  std::set<std::string> etc_seen;
  etc.insert(etc.begin(), overlays.etc.begin(), overlays.etc.end());
  for (const auto& [name, path] : etc) {
    if (contains(kGeneratedEtcEntries, name) || !etc_seen.insert(name).second) continue;
    STRATA_TRY(b.add_host_entry(path, "/etc/" + name));
  }
  return Ok{};
}

void add_etc_files(const Config& config, PlanBuilder& b) {
  std::string passwd = fmt::format("root:x:0:0:root:{}:/bin/sh\n", config.home);
  std::string group = "root:x:0:\n";
  if (config.uid != 0 && config.uid != 65534)
    passwd += fmt::format("build:x:{}:{}:build:{}:/bin/sh\n", config.uid, config.gid, config.home);
  if (config.gid != 0 && config.gid != 65534) group += fmt::format("build:x:{}:\n", config.gid);
  passwd += "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
  group += "nogroup:x:65534:\n";
  b.file("/etc/passwd", std::move(passwd));
  b.file("/etc/group", std::move(group));
  b.file("/etc/hosts",
         fmt::format("127.0.0.1\tlocalhost {0}\n::1\tlocalhost {0}\n", config.hostname));
  b.file("/etc/hostname", config.hostname + "\n");
}

void add_dev(PlanBuilder& b) {
  b.tmpfs("/dev", "mode=0755,size=64k", MS_NOSUID | MS_NOEXEC);
  for (const char* node : kDevNodes)
    b.bind(fmt::format("/dev/{}", node), fmt::format("/dev/{}", node),
           MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, /*file=*/true);
  b.symlink("/dev/fd", "/proc/self/fd");
  b.symlink("/dev/stdin", "/proc/self/fd/0");
  b.symlink("/dev/stdout", "/proc/self/fd/1");
  b.symlink("/dev/stderr", "/proc/self/fd/2");
  b.tmpfs("/dev/shm", "mode=1777,size=64m", MS_NOSUID | MS_NODEV | MS_NOEXEC);
}

void add_exec(const Config& config, ChildPlan& plan) {
  const std::string& program = config.argv[0];
  if (program.find('/') != std::string::npos) {
    plan.exec_candidates.push_back(plan.keep(program));
  } else {
    std::string path = "/usr/local/bin:/usr/bin:/bin";
    for (const std::string& entry : config.env) {
      if (entry.starts_with("PATH=")) path = entry.substr(5);
    }
    size_t start = 0;
    while (start <= path.size()) {
      size_t end = std::min(path.find(':', start), path.size());
      std::string dir = path.substr(start, end - start);
      plan.exec_candidates.push_back(plan.keep((dir.empty() ? "." : dir) + "/" + program));
      start = end + 1;
    }
  }
  for (const std::string& arg : config.argv) plan.argv.push_back(plan.keep_mutable(arg));
  plan.argv.push_back(nullptr);
  for (const std::string& entry : config.env) plan.envp.push_back(plan.keep_mutable(entry));
  plan.envp.push_back(nullptr);
}

}  // namespace

void find_own_argv(ChildPlan& plan) {
  Result<std::string> stat = read_file("/proc/self/stat");
  if (!stat.ok()) return;
  // Fields after the command name, which is in parentheses and may hold anything: field 3
  // (state) is the first after the last ')'. arg_start is field 48 (proc_pid_stat(5)).
  size_t paren = stat->rfind(')');
  if (paren == std::string::npos) return;
  std::vector<uint64_t> fields;
  size_t pos = paren + 2;
  while (pos < stat->size()) {
    size_t end = std::min(stat->find(' ', pos), stat->size());
    fields.push_back(std::strtoull(stat->c_str() + pos, nullptr, 10));
    pos = end + 1;
  }
  constexpr size_t kArgStart = 48 - 3;  // index in `fields`, which starts at field 3
  if (fields.size() < kArgStart + 4) return;
  uint64_t arg_start = fields[kArgStart], arg_end = fields[kArgStart + 1];
  uint64_t env_start = fields[kArgStart + 2], env_end = fields[kArgStart + 3];
  if (arg_start != 0 && arg_end > arg_start) {
    plan.arg_start = reinterpret_cast<char*>(arg_start);
    plan.arg_size = arg_end - arg_start;
  }
  if (env_start != 0 && env_end > env_start) {
    plan.env_start = reinterpret_cast<char*>(env_start);
    plan.env_size = env_end - env_start;
  }
}

Result<void> build_child_plan(const Config& config, ChildPlan& plan) {
  PlanBuilder b(plan);
  STRATA_TRY_CONTEXT(add_root(config, b), "preparing the sandbox root");
  if (!config.rootfs_writable) add_etc_files(config, b);
  add_dev(b);
  // Both bounded (config.h, kDefaultTmpfsSizeBytes): a tmpfs is the host's memory.
  const int64_t size = config.limits.tmpfs_size_bytes;
  b.tmpfs("/tmp", fmt::format("mode=1777,size={}", size), MS_NOSUID | MS_NODEV);
  if (!config.rootfs_writable) {
    b.tmpfs(*normalize_absolute(config.home),
            fmt::format("mode=0755,uid={},gid={},size={}", config.uid, config.gid, size),
            MS_NOSUID | MS_NODEV);
  }
  // Parents before children, so a bind inside another bind lands on top of it.
  std::vector<BindMount> binds = config.binds;
  for (BindMount& bind : binds) bind.target = *normalize_absolute(bind.target);
  std::stable_sort(binds.begin(), binds.end(), [](const BindMount& x, const BindMount& y) {
    return std::count(x.target.begin(), x.target.end(), '/') <
           std::count(y.target.begin(), y.target.end(), '/');
  });
  for (const BindMount& bind : binds) {
    struct stat st {};
    if (::stat(bind.source.c_str(), &st) != 0)
      return Error::sys(fmt::format("bind source {}", bind.source), errno);
    uint64_t attr = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (bind.read_only ? MOUNT_ATTR_RDONLY : 0);
    b.bind(bind.source, bind.target, attr, !S_ISDIR(st.st_mode));
  }
  plan.hostname = plan.keep(config.hostname);
  plan.cwd = plan.keep(*normalize_absolute(config.cwd));
  add_exec(config, plan);
  return Ok{};
}

namespace {

const char* step_name(Step step) {
  switch (step) {
    case Step::kWaitParent:
      return "wait for the parent";
    case Step::kParentDeathSignal:
      return "prctl PR_SET_PDEATHSIG";
    case Step::kUnshareCgroup:
      return "unshare cgroup namespace";
    case Step::kMakeRootPrivate:
      return "make / rprivate";
    case Step::kOpenTree:
      return "open_tree";
    case Step::kSetMountAttr:
      return "mount_setattr";
    case Step::kMountStaging:
      return "mount tmpfs for the new root";
    case Step::kEnterStaging:
      return "chdir to the new root";
    case Step::kMountProc:
      return "mount proc on the new root's /proc";
    case Step::kCoverProc:
      return "cover /proc entries read-only";
    case Step::kPivotRoot:
      return "pivot_root";
    case Step::kDetachOldRoot:
      return "detach the old root";
    case Step::kMkdir:
      return "mkdir";
    case Step::kMountTmpfs:
      return "mount tmpfs on";
    case Step::kAttachBind:
      return "bind mount";
    case Step::kMountOverlay:
      return "mount overlay";
    case Step::kCreateMountPoint:
      return "create mount point for";
    case Step::kSymlink:
      return "symlink";
    case Step::kWriteFile:
      return "write";
    case Step::kRemountRootReadOnly:
      return "remount / read-only";
    case Step::kSetHostname:
      return "sethostname";
    case Step::kSetDomainname:
      return "setdomainname";
    case Step::kLoopbackUp:
      return "bring up lo";
    case Step::kCloseFds:
      return "close inherited descriptors";
    case Step::kSetNotDumpable:
      return "prctl PR_SET_DUMPABLE";
    case Step::kForkCommand:
      return "fork the command";
    case Step::kSetsid:
      return "setsid";
    case Step::kStdio:
      return "set up stdin/stdout/stderr";
    case Step::kChdir:
      return "chdir";
    case Step::kSetRlimit:
      return "setrlimit";
    case Step::kSetIds:
      return "setresuid/setresgid";
    case Step::kDropCapabilities:
      return "drop capabilities";
    case Step::kNoNewPrivs:
      return "prctl PR_SET_NO_NEW_PRIVS";
    case Step::kSeccomp:
      return "install seccomp filter";
    case Step::kExec:
      return "execve";
    case Step::kReceiveSeccomp:
      return "receive the seccomp filter from the parent";
  }
  return "unknown step";
}

}  // namespace

std::string describe_record(const ChildPlan& plan, const ChildRecord& record) {
  auto step = static_cast<Step>(record.step);
  std::string what = step_name(step);
  size_t index = static_cast<size_t>(record.index);
  if (step == Step::kExec && record.errnum == ENOENT && plan.exec_candidates.size() > 1) {
    return fmt::format("execve {}: not found in PATH", plan.argv[0]);
  } else if (record.index >= 0 && step == Step::kExec && index < plan.exec_candidates.size()) {
    what += fmt::format(" {}", plan.exec_candidates[index]);
  } else if (record.index >= 0 && index < plan.ops.size()) {
    const MountOp& op = plan.ops[index];
    if (op.kind == MountOp::Kind::kOverlay && step != Step::kCreateMountPoint)
      what = fmt::format("mount overlay of {} on {}", op.label ? op.label : op.source, op.target);
    else if (op.kind == MountOp::Kind::kBind && step != Step::kCreateMountPoint)
      what = fmt::format("{} {} on {}", step == Step::kAttachBind ? "bind mount" : what, op.source,
                         op.target);
    else if (op.kind == MountOp::Kind::kSymlink)
      what = fmt::format("{} {} -> {}", what, op.target, op.source);
    else
      what += fmt::format(" {}", op.target);
  } else if (step == Step::kChdir) {
    what += fmt::format(" {}", plan.cwd);
  }
  return fmt::format("{}: {}", what, std::strerror(record.errnum));
}

}  // namespace strata::sandbox::internal
