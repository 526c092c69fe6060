// sandbox::Config: everything one sandboxed run needs (root, mounts, argv, env, id maps,
// limits, seccomp policy), as a plain value, plus its validation and the result of a run.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "builder/base/path.h"
#include "builder/base/result.h"

namespace strata::sandbox {

// A bind mount of a host path (file or directory) into the sandbox.
struct BindMount {
  std::string source;  // absolute host path; must exist
  std::string target;  // absolute path inside the sandbox, normalized, not "/"
  bool read_only = true;
};

// One line of /proc/PID/uid_map or gid_map: ids [inside, inside+count) map to
// [outside, outside+count).
struct IdMap {
  uint32_t inside = 0;
  uint32_t outside = 0;
  uint32_t count = 1;
};

// One argument comparison of a seccomp rule: the rule matches when it holds.
struct ArgMatch {
  enum class Op { kEq, kNe, kMaskedEq, kGe };  // kGe: unsigned, all 64 bits
  int index = 0;                               // 0..5
  Op op = Op::kEq;
  uint64_t value = 0;
  uint64_t mask = 0;  // only for kMaskedEq: matches when (arg & mask) == value
};

// The syscall `name` fails with `errno_value` (when every `args` comparison holds).
struct SyscallRule {
  std::string name;
  int errno_value = 0;
  std::vector<ArgMatch> args;
};

// What the seccomp filter does; everything not listed is allowed. The caller chooses the
// policy (default_policy() in seccomp.h is docs/design.md's list); sandbox/ only carries it out.
struct SeccompPolicy {
  std::vector<SyscallRule> deny;
  // Kill the process on syscalls from a non-native ABI (i386 int 0x80, x32).
  bool kill_foreign_abi = true;
  // The address families (AF_* numbers) socket() and socketpair() may create; any other
  // family fails with EAFNOSUPPORT, as if the kernel lacked it (so programs fall back the way
  // they do on such a kernel). Empty: every family is allowed.
  std::vector<int> allowed_socket_families;
};

// The top-level directories the sandbox makes itself (fresh /dev, /proc, /sys and a tmpfs
// /tmp): an overlay or the rootfs cannot put anything there.
inline constexpr const char* kSandboxOwnedDirs[] = {"dev", "proc", "sys", "tmp"};

// What the host mode (an empty `rootfs`) exposes of the host, read-only: these top-level
// entries (symlinks in merged-/usr hosts are recreated as symlinks), and from the host's
// /etc what a toolchain needs: the loader cache and Debian's alternatives (cc, c++, ...),
// never passwd, shadow, hosts or resolv.conf. Host cache keys are computed from what owns
// files under them (builder/cache/host_toolchain.h).
inline constexpr const char* kHostRootEntries[] = {"usr",   "bin",   "sbin",  "lib",
                                                   "lib32", "lib64", "libx32"};
inline constexpr const char* kHostEtcEntries[] = {"ld.so.cache", "ld.so.conf", "ld.so.conf.d",
                                                  "alternatives"};

// docs/design.md's list (defined in seccomp.cc, where it is documented).
SeccompPolicy default_policy();

// The size of each of the sandbox's writable tmpfs mounts, /tmp and HOME, unless the caller
// chooses another: a tmpfs holds its files in the host's memory, and the kernel's default (half
// of RAM, for each mount) lets one step pin most of it. 1 GiB fits the temporary files of
// large compilers and test suites; a package that needs more says so (`tmpfs_size`).
inline constexpr int64_t kDefaultTmpfsSizeBytes = int64_t{1} << 30;

struct Limits {
  int64_t timeout_ms = 0;           // wall clock; 0 = none. Kills the whole pid namespace.
  int64_t max_processes = 0;        // 0 = none. See docs/sandbox.md for the mechanism.
  int64_t max_file_size_bytes = 0;  // RLIMIT_FSIZE; 0 = none
  // The size limit of /tmp and of HOME (each): writes past it fail with ENOSPC. Must be > 0.
  int64_t tmpfs_size_bytes = kDefaultTmpfsSizeBytes;
};

struct Config {
  // The root filesystem: a directory (e.g. an unpacked image), or empty for the host's
  // system directories (/usr, /bin, /lib*, /sbin and a few /etc entries), read-only.
  std::string rootfs;
  // Directories layered over the root, read-only, the first on top: what they hold appears
  // at the same path inside (e.g. a package output's usr/lib over the host's /usr/lib). Each
  // top-level directory they share with the root becomes an overlayfs of them all; their
  // /etc entries are added to the sandbox's /etc. No ':' or ',' in these paths.
  std::vector<std::string> overlays;
  // The rootfs directory is the command's to change (strata's run layers): its top-level
  // entries are bound read-write, /etc as a whole, as the tree has it (no generated passwd,
  // group, hosts or hostname), and HOME gets no tmpfs. /dev, /proc, /sys and /tmp are still
  // the sandbox's, and the root directory itself stays read-only (no new top-level entries).
  // Needs a rootfs and no overlays.
  bool rootfs_writable = false;
  // With rootfs_writable: the rootfs is only read, and the changes go to this directory
  // instead, through one overlayfs per top-level directory (lowerdir ROOTFS/NAME, upperdir
  // rootfs_upper/NAME, workdir rootfs_work/NAME, `userxattr`, which a user namespace needs).
  // Both exist, empty, on the rootfs's filesystem. Empty: the rootfs itself is changed.
  std::string rootfs_upper;
  std::string rootfs_work;
  std::vector<BindMount> binds;
  std::vector<std::string> argv;  // argv[0] is the program: a path, or a name found via PATH
  std::vector<std::string> env;   // exactly the environment, as "KEY=VALUE"
  std::string cwd = "/";
  std::string home = "/root";  // a tmpfs is mounted here; /etc/passwd names it
  std::string hostname = "strata";
  uint32_t uid = 0;  // inside the sandbox; must be mapped
  uint32_t gid = 0;
  // Empty: root inside is the invoking user outside (0 -> geteuid(), 0 -> getegid()).
  std::vector<IdMap> uid_maps;
  std::vector<IdMap> gid_maps;
  // Capabilities (CAP_* numbers) kept inside; empty means default_capabilities().
  std::vector<int> capabilities;
  SeccompPolicy seccomp = default_policy();
  Limits limits;
  // Where the command's output goes (the caller's descriptors; not closed), and an optional
  // log file that receives a copy of both streams. stdin_fd < 0 means /dev/null.
  int stdin_fd = -1;
  int stdout_fd = 1;
  int stderr_fd = 2;
  std::string log_path;
  // Set by another thread to stop the run: the whole pid namespace is killed within about
  // kCancelPollMs and the run ends as kCancelled. Null: never cancelled.
  const std::atomic<bool>* cancel = nullptr;
};

inline constexpr int kCancelPollMs = 50;

// How a run ended. Exactly one of: exited (exit_code), killed by a signal (signal), killed
// because it ran past its timeout (timed_out), or killed because the caller cancelled it.
struct RunResult {
  enum class Status { kExited, kSignaled, kTimedOut, kCancelled };
  Status status = Status::kExited;
  int exit_code = 0;
  int signal = 0;
  int64_t duration_ms = 0;
  // The pids cgroup refused a fork (known only when the limit is a cgroup).
  bool process_limit_hit = false;

  bool ok() const { return status == Status::kExited && exit_code == 0; }
  // "exited with status 1", "killed by signal 9 (Killed)", "timed out after 2000 ms".
  std::string describe() const;
};

// The capabilities a build needs inside: chown, dac_override, fowner, fsetid, kill, setgid,
// setuid, net_bind_service, setfcap, sys_chroot, audit_write.
std::vector<int> default_capabilities();

// Checks `config` before anything is created or mounted (bubblewrap-style): absolute,
// normalized paths, existing bind sources and rootfs, a non-empty argv, KEY=VALUE
// environment entries, mapped uid/gid. Reports every problem, one per line.
Result<void> validate_config(const Config& config);

// normalize_absolute ("/a//b/" -> "/a/b"; nullopt for relative paths and "." or "..") is
// strata::normalize_absolute in builder/base/path.h.

}  // namespace strata::sandbox
