// The child's side of a sandboxed run, prepared entirely by the parent before clone: every
// path, argv, envp, mount operation and the seccomp program, as plain memory the child can
// use without allocating (docs/style.md §5). Private to sandbox/.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "builder/base/fd.h"
#include "builder/base/result.h"
#include "sandbox/config.h"

namespace strata::sandbox::internal {

// The kernel's limit on a classic BPF program (BPF_MAXINSNS).
inline constexpr size_t kMaxSeccompInstructions = 4096;

// Each setup step the child can fail at; the parent turns {step, errno, index} into text.
enum class Step : int32_t {
  kWaitParent = 1,
  kParentDeathSignal,
  kUnshareCgroup,
  kMakeRootPrivate,
  kOpenTree,
  kSetMountAttr,
  kMountStaging,
  kEnterStaging,
  kMountProc,
  kCoverProc,
  kPivotRoot,
  kDetachOldRoot,
  kMkdir,
  kMountTmpfs,
  kAttachBind,
  kMountOverlay,
  kCreateMountPoint,
  kSymlink,
  kWriteFile,
  kRemountRootReadOnly,
  kSetHostname,
  kSetDomainname,
  kLoopbackUp,
  kCloseFds,
  kSetNotDumpable,
  kForkCommand,
  kSetsid,
  kStdio,
  kChdir,
  kSetRlimit,
  kSetIds,
  kDropCapabilities,
  kNoNewPrivs,
  kSeccomp,
  kExec,
  kReceiveSeccomp,
};

// What the child writes to the error channel when a step fails: fixed size, one write.
struct ChildRecord {
  int32_t step = 0;
  int32_t errnum = 0;
  int32_t index = -1;  // the MountOp or exec candidate the step was working on, or -1
  int32_t reserved = 0;
};

// One step of building the new root, run after pivot_root with absolute paths.
struct MountOp {
  enum class Kind { kMkdir, kBind, kTmpfs, kSymlink, kFile, kOverlay };
  Kind kind = Kind::kMkdir;
  const char* target = nullptr;  // inside the new root
  // kBind: the host path (opened before pivot_root); kTmpfs: mount options; kSymlink: the
  // link text; kFile: the contents; kOverlay: the lowerdir list (mounted before pivot_root).
  const char* source = nullptr;
  size_t source_size = 0;    // kFile
  uint64_t mount_attr = 0;   // kBind: MOUNT_ATTR_*; kTmpfs: MS_* flags
  bool file_target = false;  // kBind: the target is a file, not a directory
  int tree_fd = -1;          // kBind, kOverlay: the detached tree, filled in by the child
  // kOverlay: the lower directories by host path, for messages only. `source` names them as
  // /proc/self/fd/N of ChildPlan::lower_fds, so the overlay's options in
  // /proc/self/mountinfo show no host path.
  const char* label = nullptr;
  // kOverlay: a writable overlayfs (Config::rootfs_upper): its upperdir and workdir.
  const char* upper = nullptr;
  const char* work = nullptr;
};

// Everything the child reads. Owns its strings; the pointers point into `strings_`.
struct ChildPlan {
  std::vector<MountOp> ops;
  const char* staging_dir = "/tmp";
  const char* hostname = nullptr;
  const char* domainname = "(none)";
  const char* cwd = nullptr;
  std::vector<const char*> exec_candidates;  // paths to try with execve, in order
  std::vector<char*> argv;                   // null-terminated
  std::vector<char*> envp;                   // null-terminated
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t capabilities = 0;  // bit n = keep capability n
  int last_capability = 0;
  int64_t rlimit_nproc = 0;  // 0 = leave alone
  int64_t rlimit_fsize = 0;
  // Received from the parent after the clone (it compiles the policy while this process sets
  // up the mounts): the parent reserves kMaxSeccompInstructions, the reaper fills it in
  // place, without allocating.
  std::vector<sock_filter> seccomp_program;
  bool proc_covers = true;
  // Descriptors, as numbered in the child (inherited through clone).
  // Read end: one byte means the id maps are written; then the seccomp program follows, as
  // a uint32_t instruction count and the instructions.
  int sync_fd = -1;
  int error_fd = -1;   // ChildRecord on failure; EOF means execve succeeded
  int result_fd = -1;  // the reaper writes the command's wait status here
  int stdin_fd = -1;   // < 0: /dev/null
  int stdout_fd = 1;
  int stderr_fd = 2;
  std::vector<int> keep_fds;  // sorted; every other descriptor is closed in the reaper
  // Every overlay's lower directories, as the /proc/self/fd/N their MountOp names. The
  // parent holds descriptor N (an O_PATH of the directory, close-on-exec) to reserve the
  // number; the child opens `path` again in its own mount namespace (overlayfs refuses a
  // layer from another one) over N, and closes them all once the overlays exist.
  struct LowerDir {
    const char* path = nullptr;
    int fd = -1;
    int op_index = -1;
  };
  std::vector<LowerDir> lower_dirs;
  std::vector<UniqueFd> lower_fds;  // the parent's reservations, one per lower_dirs entry
  // This process's argv and environment strings (/proc/self/stat's arg_start..arg_end,
  // env_start..env_end): the child is a copy of the parent, and pid 1's /proc/1/cmdline would
  // show strata's command line (host paths, key files) to everything inside. The child
  // overwrites its copy first thing. Null when unknown.
  char* arg_start = nullptr;
  size_t arg_size = 0;
  char* env_start = nullptr;
  size_t env_size = 0;

  const char* keep(std::string s) { return strings_.emplace_back(std::move(s)).c_str(); }
  char* keep_mutable(std::string s) { return strings_.emplace_back(std::move(s)).data(); }

 private:
  std::deque<std::string> strings_;  // deque: stable addresses as it grows
};

// pid 1's command line inside, in place of strata's.
inline constexpr char kInitName[] = "strata-init";

// Fills plan.arg_start/arg_size and env_start/env_size from /proc/self/stat; leaves them
// empty when it cannot be read.
void find_own_argv(ChildPlan& plan);

// Builds the mount operations, /etc files and exec data for `config` (already validated).
// Reads the rootfs directory listing; the error names the path.
Result<void> build_child_plan(const Config& config, ChildPlan& plan);

// The message for a failed step: "bind mount /src on /dst: No such file or directory".
std::string describe_record(const ChildPlan& plan, const ChildRecord& record);

// The child after clone: builds the sandbox, forks the command and reaps as pid 1. Never
// returns; makes no allocation (docs/style.md §5).
[[noreturn]] void run_child(ChildPlan& plan) noexcept;

}  // namespace strata::sandbox::internal
