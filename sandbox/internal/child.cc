// The child after clone (docs/style.md §5): only syscalls on memory the parent prepared. No
// allocation, no locks, no fmt, no exceptions, and raw syscalls where glibc would try to
// coordinate threads that do not exist in this process (setresuid, fork).
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>

#include "sandbox/internal/child_plan.h"

namespace strata::sandbox::internal {

namespace {

[[noreturn]] void fail(const ChildPlan& plan, Step step, int index = -1) noexcept {
  ChildRecord record{static_cast<int32_t>(step), errno, index, 0};
  ssize_t n;
  do {
    n = ::write(plan.error_fd, &record, sizeof record);
  } while (n < 0 && errno == EINTR);
  ::_exit(127);
}

int set_mount_attr(int dirfd, const char* path, unsigned flags, uint64_t attr) noexcept {
  mount_attr attrs{};
  attrs.attr_set = attr;
  return static_cast<int>(::syscall(SYS_mount_setattr, dirfd, path, flags, &attrs, sizeof attrs));
}

int mkdir_exist_ok(const char* path, mode_t mode) noexcept {
  if (::mkdir(path, mode) == 0 || errno == EEXIST) return 0;
  return -1;
}

// Closes every descriptor except the sorted `keep` list: the host's leaked descriptors must
// not reach pid 1, where a process inside could find them through /proc/1/fd.
int close_all_except(const std::vector<int>& keep) noexcept {
  unsigned next = 0;
  for (int fd : keep) {
    if (fd < 0) continue;
    unsigned ufd = static_cast<unsigned>(fd);
    if (ufd > next && ::syscall(SYS_close_range, next, ufd - 1, 0) != 0) return -1;
    if (ufd + 1 > next) next = ufd + 1;
  }
  return static_cast<int>(::syscall(SYS_close_range, next, ~0U, 0));
}

void wait_for_parent(const ChildPlan& plan) noexcept {
  char go = 0;
  ssize_t n;
  do {
    n = ::read(plan.sync_fd, &go, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1) {
    if (n == 0) errno = ECANCELED;  // the parent gave up before writing the id maps
    fail(plan, Step::kWaitParent);
  }
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) fail(plan, Step::kParentDeathSignal);
  // A cgroup namespace rooted at the cgroup the parent just put us in.
  if (::unshare(CLONE_NEWCGROUP) != 0) fail(plan, Step::kUnshareCgroup);
}

// An overlayfs of op.source's lower directories, read-only, as a detached mount: host paths
// are resolved now, before pivot_root hides them.
void open_overlay(ChildPlan& plan, MountOp& op, int index) noexcept {
  int fs = static_cast<int>(::syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC));
  if (fs < 0) fail(plan, Step::kMountOverlay, index);
  if (::syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "lowerdir", op.source, 0) != 0)
    fail(plan, Step::kMountOverlay, index);
  // A writable one (Config::rootfs_upper) keeps its markers in user.* xattrs: trusted.* are
  // not the user namespace's to set.
  if (op.upper != nullptr &&
      (::syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "upperdir", op.upper, 0) != 0 ||
       ::syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "workdir", op.work, 0) != 0 ||
       ::syscall(SYS_fsconfig, fs, FSCONFIG_SET_FLAG, "userxattr", nullptr, 0) != 0))
    fail(plan, Step::kMountOverlay, index);
  if (::syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0)
    fail(plan, Step::kMountOverlay, index);
  uint64_t attr = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (op.upper ? 0 : MOUNT_ATTR_RDONLY);
  int mnt = static_cast<int>(::syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, attr));
  if (mnt < 0) fail(plan, Step::kMountOverlay, index);
  ::close(fs);
  op.tree_fd = mnt;
}

// Opens each overlay's lower directories in this mount namespace, at the descriptor numbers
// their /proc/self/fd/N names use: the parent's descriptors are in the host's namespace.
void reopen_lower_dirs(const ChildPlan& plan) noexcept {
  for (const ChildPlan::LowerDir& lower : plan.lower_dirs) {
    int fd = ::open(lower.path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || ::dup3(fd, lower.fd, O_CLOEXEC) < 0)
      fail(plan, Step::kMountOverlay, lower.op_index);
    ::close(fd);
  }
}

// Clones every bind source into a detached mount tree while the host is still visible, with
// its final attributes set before it is attached anywhere.
void open_bind_sources(ChildPlan& plan) noexcept {
  reopen_lower_dirs(plan);
  for (size_t i = 0; i < plan.ops.size(); ++i) {
    MountOp& op = plan.ops[i];
    if (op.kind == MountOp::Kind::kOverlay) open_overlay(plan, op, static_cast<int>(i));
    if (op.kind != MountOp::Kind::kBind) continue;
    int fd = static_cast<int>(::syscall(SYS_open_tree, AT_FDCWD, op.source,
                                        OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE));
    if (fd < 0) fail(plan, Step::kOpenTree, static_cast<int>(i));
    if (set_mount_attr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, op.mount_attr) != 0)
      fail(plan, Step::kSetMountAttr, static_cast<int>(i));
    op.tree_fd = fd;
  }
  for (const ChildPlan::LowerDir& lower : plan.lower_dirs) ::close(lower.fd);  // in the overlays
}

// A fresh /proc for the new pid namespace, mounted before pivot_root because the kernel only
// allows it while another proc mount is fully visible in this mount namespace.
void mount_proc(const ChildPlan& plan) noexcept {
  if (mkdir_exist_ok("proc", 0555) != 0 ||
      ::mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
    fail(plan, Step::kMountProc);
  if (!plan.proc_covers) return;
  // Like bubblewrap: sysctls, sysrq and irq/bus settings stay read-only even for a root that
  // is host root outside.
  for (const char* path : {"proc/sys", "proc/sysrq-trigger", "proc/irq", "proc/bus"}) {
    if (::mount(path, path, nullptr, MS_BIND | MS_REC, nullptr) != 0) {
      if (errno == ENOENT) continue;
      fail(plan, Step::kCoverProc);
    }
    if (set_mount_attr(
            AT_FDCWD, path, AT_RECURSIVE,
            MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC) != 0)
      fail(plan, Step::kCoverProc);
  }
}

void enter_new_root(ChildPlan& plan) noexcept {
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    fail(plan, Step::kMakeRootPrivate);
  open_bind_sources(plan);
  if (::mount("tmpfs", plan.staging_dir, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=16m") != 0)
    fail(plan, Step::kMountStaging);
  if (::chdir(plan.staging_dir) != 0) fail(plan, Step::kEnterStaging);
  mount_proc(plan);
  // pivot_root(".", ".") stacks the old root on the new one; detaching it leaves the host
  // unreachable (pivot_root(2), "NOTES").
  if (::syscall(SYS_pivot_root, ".", ".") != 0) fail(plan, Step::kPivotRoot);
  if (::umount2(".", MNT_DETACH) != 0 || ::chdir("/") != 0) fail(plan, Step::kDetachOldRoot);
}

int write_file(const MountOp& op) noexcept {
  int fd = ::open(op.target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return -1;
  size_t done = 0;
  while (done < op.source_size) {
    ssize_t n = ::write(fd, op.source + done, op.source_size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int saved = errno;
      ::close(fd);
      errno = saved;
      return -1;
    }
    done += static_cast<size_t>(n);
  }
  return ::close(fd);
}

void attach_bind(const ChildPlan& plan, const MountOp& op, int index) noexcept {
  if (op.file_target) {
    int fd = ::open(op.target, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) fail(plan, Step::kCreateMountPoint, index);
    ::close(fd);
  } else if (mkdir_exist_ok(op.target, 0755) != 0) {
    fail(plan, Step::kCreateMountPoint, index);
  }
  if (::syscall(SYS_move_mount, op.tree_fd, "", AT_FDCWD, op.target, MOVE_MOUNT_F_EMPTY_PATH) != 0)
    fail(plan, Step::kAttachBind, index);
  ::close(op.tree_fd);
}

void run_mount_ops(const ChildPlan& plan) noexcept {
  for (size_t i = 0; i < plan.ops.size(); ++i) {
    const MountOp& op = plan.ops[i];
    int index = static_cast<int>(i);
    switch (op.kind) {
      case MountOp::Kind::kMkdir:
        if (mkdir_exist_ok(op.target, 0755) != 0) fail(plan, Step::kMkdir, index);
        break;
      case MountOp::Kind::kTmpfs:
        if (mkdir_exist_ok(op.target, 0755) != 0) fail(plan, Step::kMkdir, index);
        if (::mount("tmpfs", op.target, "tmpfs", op.mount_attr, op.source) != 0)
          fail(plan, Step::kMountTmpfs, index);
        break;
      case MountOp::Kind::kSymlink:
        if (::symlink(op.source, op.target) != 0) fail(plan, Step::kSymlink, index);
        break;
      case MountOp::Kind::kFile:
        if (write_file(op) != 0) fail(plan, Step::kWriteFile, index);
        break;
      case MountOp::Kind::kBind:
      case MountOp::Kind::kOverlay:
        attach_bind(plan, op, index);
        break;
    }
  }
  // The skeleton (mount points, /etc files) is complete: the root itself becomes read-only.
  if (set_mount_attr(AT_FDCWD, "/", 0, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV) !=
      0)
    fail(plan, Step::kRemountRootReadOnly);
}

void set_identity_and_network(const ChildPlan& plan) noexcept {
  if (::sethostname(plan.hostname, std::strlen(plan.hostname)) != 0) fail(plan, Step::kSetHostname);
  if (::setdomainname(plan.domainname, std::strlen(plan.domainname)) != 0)
    fail(plan, Step::kSetDomainname);
  // The new network namespace has only "lo", and it starts down.
  int sock = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) fail(plan, Step::kLoopbackUp);
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, "lo", 3);
  if (::ioctl(sock, SIOCGIFFLAGS, &ifr) != 0) fail(plan, Step::kLoopbackUp);
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
  if (::ioctl(sock, SIOCSIFFLAGS, &ifr) != 0) fail(plan, Step::kLoopbackUp);
  ::close(sock);
}

int move_high(int fd) noexcept { return ::fcntl(fd, F_DUPFD_CLOEXEC, 10); }

// /dev/null, above the standard descriptors. close_all_except left 0-2 free, so a plain
// open returns 0, and dup2(0, 0) would keep the O_CLOEXEC flag: execve would then close
// stdin, and `exec 7<&0` (every autoconf configure, libtool) fails with EBADF.
int open_null_high() noexcept {
  int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  int high = move_high(fd);
  ::close(fd);
  return high;
}

void setup_stdio(const ChildPlan& plan) noexcept {
  int in = plan.stdin_fd >= 0 ? move_high(plan.stdin_fd) : open_null_high();
  int out = move_high(plan.stdout_fd);
  int err = move_high(plan.stderr_fd);
  if (in < 0 || out < 0 || err < 0) fail(plan, Step::kStdio);
  // dup2 clears FD_CLOEXEC on the copy; close_range then marks everything else CLOEXEC.
  if (::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0) fail(plan, Step::kStdio);
  if (::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) fail(plan, Step::kCloseFds);
}

void set_limits(const ChildPlan& plan) noexcept {
  rlimit none{0, 0};
  if (::setrlimit(RLIMIT_CORE, &none) != 0) fail(plan, Step::kSetRlimit);
  if (plan.rlimit_fsize > 0) {
    rlimit fsize{static_cast<rlim_t>(plan.rlimit_fsize), static_cast<rlim_t>(plan.rlimit_fsize)};
    if (::setrlimit(RLIMIT_FSIZE, &fsize) != 0) fail(plan, Step::kSetRlimit);
  }
  if (plan.rlimit_nproc > 0) {
    rlimit nproc{static_cast<rlim_t>(plan.rlimit_nproc), static_cast<rlim_t>(plan.rlimit_nproc)};
    if (::setrlimit(RLIMIT_NPROC, &nproc) != 0) fail(plan, Step::kSetRlimit);
  }
}

void drop_privileges(const ChildPlan& plan) noexcept {
  // The bounding set first: dropping from it needs CAP_SETPCAP, which setresuid may take.
  for (int cap = 0; cap <= plan.last_capability; ++cap) {
    if ((plan.capabilities >> cap) & 1) continue;
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
      fail(plan, Step::kDropCapabilities);
  }
  if (::syscall(SYS_setresgid, plan.gid, plan.gid, plan.gid) != 0 ||
      ::syscall(SYS_setresuid, plan.uid, plan.uid, plan.uid) != 0)
    fail(plan, Step::kSetIds);
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (plan.uid == 0) {
    for (int i = 0; i < 2; ++i) {
      auto word = static_cast<uint32_t>(plan.capabilities >> (32 * i));
      data[i] = {word, word, word};
    }
  }
  if (::syscall(SYS_capset, &header, data) != 0 ||
      ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0)
    fail(plan, Step::kDropCapabilities);
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail(plan, Step::kNoNewPrivs);
}

[[noreturn]] void exec_command(const ChildPlan& plan) noexcept {
  if (::setsid() < 0) fail(plan, Step::kSetsid);
  setup_stdio(plan);
  ::umask(022);
  if (::chdir(plan.cwd) != 0) fail(plan, Step::kChdir);
  set_limits(plan);
  drop_privileges(plan);
  // The filter goes in last: everything above needs syscalls it denies.
  sock_fprog program{static_cast<unsigned short>(plan.seccomp_program.size()),
                     const_cast<sock_filter*>(plan.seccomp_program.data())};
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) != 0) fail(plan, Step::kSeccomp);
  // execvp's rules: try each PATH candidate, keep going past ENOENT/ENOTDIR, prefer EACCES.
  int reported = -1;
  int reported_errno = ENOENT;
  for (size_t i = 0; i < plan.exec_candidates.size(); ++i) {
    ::execve(plan.exec_candidates[i], plan.argv.data(), plan.envp.data());
    if (reported < 0 || (errno != ENOENT && errno != ENOTDIR && reported_errno != EACCES)) {
      reported = static_cast<int>(i);
      reported_errno = errno;
    }
  }
  errno = reported_errno;
  fail(plan, Step::kExec, reported);
}

// What a process inside reads in /proc/1/cmdline: kInitName, not strata's command line. The
// copy of strata's argv and environment strings in this process is overwritten in place
// (prctl(PR_SET_MM) would need CAP_SYS_RESOURCE outside). The last byte of the argv area is
// left non-zero, which makes the kernel read the command line up to the first NUL, like a
// setproctitle(3) title: "strata-init", without the old argv's length in trailing NULs.
void hide_own_argv(const ChildPlan& plan) noexcept {
  if (plan.env_start != nullptr) std::memset(plan.env_start, 0, plan.env_size);
  if (plan.arg_start == nullptr) return;
  std::memset(plan.arg_start, 0, plan.arg_size);
  size_t name = std::min(sizeof kInitName - 1, plan.arg_size - 1);
  std::memcpy(plan.arg_start, kInitName, name);
  if (plan.arg_size >= name + 2) plan.arg_start[plan.arg_size - 1] = ' ';
  ::prctl(PR_SET_NAME, kInitName, 0, 0, 0);
}

// pid 1 inside: reaps everything and reports the command's wait status. When it exits the
// kernel kills whatever is left in the pid namespace.
[[noreturn]] void reap(const ChildPlan& plan, pid_t command) noexcept {
  ::close(plan.error_fd);  // the command's copy is the last one: EOF means execve succeeded
  for (int fd : {plan.stdin_fd, plan.stdout_fd, plan.stderr_fd}) {
    if (fd > 2 && fd != plan.result_fd) ::close(fd);
  }
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, __WALL);
    if (pid < 0 && errno == EINTR) continue;
    if (pid < 0) ::_exit(126);  // ECHILD: cannot happen while the command is unreaped
    if (pid != command) continue;
    ssize_t n;
    do {
      n = ::write(plan.result_fd, &status, sizeof status);
    } while (n < 0 && errno == EINTR);
    ::_exit(0);
  }
}

// Reads exactly `size` bytes from the sync pipe; false on EOF or an error.
bool read_exactly(int fd, void* data, size_t size) noexcept {
  auto* p = static_cast<char*>(data);
  while (size > 0) {
    ssize_t n = ::read(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = ECANCELED;  // the parent gave up (its compile failed)
      return false;
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// The seccomp program the parent compiled while this process set up the mounts, into the
// room the parent reserved (no allocation here).
void receive_seccomp(ChildPlan& plan) noexcept {
  uint32_t count = 0;
  if (!read_exactly(plan.sync_fd, &count, sizeof count)) fail(plan, Step::kReceiveSeccomp);
  if (count > plan.seccomp_program.capacity()) {
    errno = E2BIG;
    fail(plan, Step::kReceiveSeccomp);
  }
  plan.seccomp_program.resize(count);  // within the capacity: no allocation
  if (!read_exactly(plan.sync_fd, plan.seccomp_program.data(), count * sizeof(sock_filter)))
    fail(plan, Step::kReceiveSeccomp);
  ::close(plan.sync_fd);
}

}  // namespace

void run_child(ChildPlan& plan) noexcept {
  hide_own_argv(plan);
  if (close_all_except(plan.keep_fds) != 0) fail(plan, Step::kCloseFds);
  wait_for_parent(plan);
  enter_new_root(plan);
  run_mount_ops(plan);
  set_identity_and_network(plan);
  // Not dumpable: a process inside cannot open /proc/1/fd or /proc/1/mem of the reaper.
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) fail(plan, Step::kSetNotDumpable);
  receive_seccomp(plan);
  pid_t command = static_cast<pid_t>(::syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0));
  if (command < 0) fail(plan, Step::kForkCommand);
  if (command == 0) exec_command(plan);
  reap(plan, command);
}

}  // namespace strata::sandbox::internal
