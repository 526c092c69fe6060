// Child processes: a kill-and-reap guard on the pid (ChildProcess), spawning a program with
// argv/envp/cwd/umask/stdio prepared before fork, and running a function in a forked child.
// Both report a failure in the child as a fixed-size typed {step, errno} record (docs/style.md §5).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "builder/base/result.h"

namespace strata {

// How a child ended.
struct ExitStatus {
  bool signaled = false;
  int code = 0;    // the exit code, when !signaled
  int signal = 0;  // the terminating signal, when signaled
  // The shell's convention: the exit code, or 128 + the signal.
  int shell_code() const { return signaled ? 128 + signal : code; }
  static ExitStatus from_wait_status(int wait_status);
};

// Owns a child's pid, as crun does: unless it was waited for or released, the destructor
// kills the child with SIGKILL and reaps it, so a failure anywhere leaves no stray process.
class ChildProcess {
 public:
  ChildProcess() = default;
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  ChildProcess(ChildProcess&& other) noexcept : pid_(other.release()) {}
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  bool valid() const { return pid_ > 0; }
  // Waits for the child to end (retrying on EINTR) and disarms the guard. Errors: waitpid.
  Result<ExitStatus> wait();
  // Disarms the guard without waiting: the caller reaps the child (or already did).
  pid_t release() {
    pid_t pid = pid_;
    pid_ = -1;
    return pid;
  }

 private:
  void kill_and_reap() noexcept;
  pid_t pid_ = -1;
};

// What a child writes to its parent when a step fails before it could finish: one write of
// a fixed size, so the parent reads all of it or nothing. `Step` is an enum over int32_t.
template <typename Step>
struct ChildFailure {
  static_assert(std::is_enum_v<Step> && sizeof(Step) == sizeof(int32_t));
  Step step{};
  int32_t errnum = 0;
};

// The steps spawn()'s child can fail at, in order.
enum class SpawnStep : int32_t {
  kStdio = 1,  // dup2 onto 0, 1, 2
  kCloseFds,   // mark every other descriptor close-on-exec
  kChdir,
  kExec,
};

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0] is the path given to execve (no PATH search)
  std::vector<std::string> env;   // "NAME=value": the child's whole environment
  std::string cwd;                // empty: the parent's
  std::optional<uint32_t> umask;  // unset: the parent's
  // The child's 0, 1 and 2; -1 inherits the parent's. They should not be 0-2 in another
  // role (stdout_fd = 0, say): each is dup2'd in turn.
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
};

// Starts options.argv[0] and returns once execve has succeeded. Only 0-2 reach the program:
// every other descriptor is made close-on-exec in the child. Errors (kIo, with errno):
// the step that failed, naming its object, e.g. "execve /bin/nope: No such file or
// directory", "chdir /gone: No such file or directory"; or the fork itself.
Result<ChildProcess> spawn(const SpawnOptions& options);

// How a run_in_child() child ended: the failure it reported, if any, and its exit status.
template <typename Step>
struct ChildResult {
  std::optional<ChildFailure<Step>> failure;
  ExitStatus status;
};

namespace process_internal {
struct RawFailure {
  int32_t step = 0;
  int32_t errnum = 0;
};
// Returns true on success, or fills `failure` and returns false. Runs in the child.
using ChildFn = bool (*)(void* context, RawFailure& failure) noexcept;
struct RawResult {
  std::optional<RawFailure> failure;
  ExitStatus status;
};
Result<RawResult> run_in_child(ChildFn fn, void* context);
}  // namespace process_internal

// Forks, calls fn() in the child and waits for the child to end. fn runs between fork and
// _exit in a copy of a multithreaded process: it may only make syscalls on memory prepared
// before the call (no allocation, locks, fmt or exceptions). It returns std::nullopt on
// success (the child exits 0) or the step it failed at with errno (the child exits 127).
// Errors: fork, or waiting for the child.
template <typename Step, typename Fn>
Result<ChildResult<Step>> run_in_child(Fn& fn) {
  static_assert(std::is_nothrow_invocable_r_v<std::optional<ChildFailure<Step>>, Fn&>,
                "fn must be noexcept and return std::optional<ChildFailure<Step>>");
  auto thunk = [](void* context, process_internal::RawFailure& out) noexcept {
    std::optional<ChildFailure<Step>> failure = (*static_cast<Fn*>(context))();
    if (!failure) return true;
    out = {static_cast<int32_t>(failure->step), failure->errnum};
    return false;
  };
  STRATA_TRY_ASSIGN(process_internal::RawResult raw, process_internal::run_in_child(thunk, &fn));
  ChildResult<Step> result{.status = raw.status};
  if (raw.failure)
    result.failure = ChildFailure<Step>{static_cast<Step>(raw.failure->step), raw.failure->errnum};
  return result;
}

}  // namespace strata
