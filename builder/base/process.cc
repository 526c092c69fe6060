#include "builder/base/process.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/close_range.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

#include "builder/base/check.h"
#include "builder/base/fd.h"

namespace strata {

namespace process_internal {
namespace {

// A raw clone without a new stack behaves like fork: the child continues on a copy-on-write
// copy of this stack and needs nothing from glibc's fork handlers (it only makes syscalls).
pid_t fork_raw() { return static_cast<pid_t>(::syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0)); }

// One write: the record is far below PIPE_BUF, so the parent reads all of it or nothing.
[[noreturn]] void report_and_exit(int fd, RawFailure failure) noexcept {
  ssize_t n;
  do {
    n = ::write(fd, &failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  ::_exit(127);
}

// The failure the child reported, or nullopt at EOF: every copy of the write end closed,
// by execve (close-on-exec) or by the child's exit.
Result<std::optional<RawFailure>> read_failure(int fd) {
  RawFailure failure;
  STRATA_TRY_ASSIGN(int64_t n, read_some(fd, reinterpret_cast<char*>(&failure), sizeof failure,
                                         "the child's report pipe"));
  if (n == 0) return std::optional<RawFailure>();
  STRATA_CHECK(n == static_cast<int64_t>(sizeof failure));
  return std::optional<RawFailure>(failure);
}

}  // namespace

Result<RawResult> run_in_child(ChildFn fn, void* context) {
  STRATA_TRY_ASSIGN(Pipe report, make_pipe());
  pid_t pid = fork_raw();
  if (pid < 0) return Error::sys("fork", errno);
  if (pid == 0) {
    RawFailure failure;
    if (fn(context, failure)) ::_exit(0);
    report_and_exit(report.write.get(), failure);
  }
  ChildProcess child(pid);
  report.write = UniqueFd();
  STRATA_TRY_ASSIGN(std::optional<RawFailure> failure, read_failure(report.read.get()));
  STRATA_TRY_ASSIGN(ExitStatus status, child.wait());
  return RawResult{.failure = failure, .status = status};
}

}  // namespace process_internal

namespace {

using process_internal::RawFailure;

// Everything the spawned child reads, built before fork.
struct Prepared {
  std::vector<char*> argv;
  std::vector<char*> envp;
  const char* cwd = nullptr;
};

[[noreturn]] void fail(int report_fd, SpawnStep step) noexcept {
  process_internal::report_and_exit(report_fd, {static_cast<int32_t>(step), errno});
}

// dup2 onto itself would keep FD_CLOEXEC, and the descriptor would close on exec.
int install(int fd, int target) noexcept {
  if (fd < 0) return 0;
  if (fd == target) return ::fcntl(fd, F_SETFD, 0);
  return ::dup2(fd, target) < 0 ? -1 : 0;
}

[[noreturn]] void exec_child(const SpawnOptions& options, const Prepared& prepared,
                             int report_fd) noexcept {
  if (install(options.stdin_fd, 0) != 0 || install(options.stdout_fd, 1) != 0 ||
      install(options.stderr_fd, 2) != 0)
    fail(report_fd, SpawnStep::kStdio);
  // Descriptors another thread opened without O_CLOEXEC must not reach the program.
  if (::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0)
    fail(report_fd, SpawnStep::kCloseFds);
  if (options.umask) ::umask(static_cast<mode_t>(*options.umask));
  if (prepared.cwd != nullptr && ::chdir(prepared.cwd) != 0) fail(report_fd, SpawnStep::kChdir);
  ::execve(prepared.argv[0], prepared.argv.data(), prepared.envp.data());
  fail(report_fd, SpawnStep::kExec);
}

std::string describe(const SpawnOptions& options, SpawnStep step) {
  switch (step) {
    case SpawnStep::kStdio:
      return "dup2 the child's stdin/stdout/stderr";
    case SpawnStep::kCloseFds:
      return "close_range in the child";
    case SpawnStep::kChdir:
      return "chdir " + options.cwd;
    case SpawnStep::kExec:
      return "execve " + options.argv[0];
  }
  return fmt::format("child step {}", static_cast<int32_t>(step));
}

}  // namespace

ExitStatus ExitStatus::from_wait_status(int wait_status) {
  if (WIFSIGNALED(wait_status)) return {.signaled = true, .signal = WTERMSIG(wait_status)};
  return {.code = WEXITSTATUS(wait_status)};
}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    kill_and_reap();
    pid_ = other.release();
  }
  return *this;
}

ChildProcess::~ChildProcess() { kill_and_reap(); }

void ChildProcess::kill_and_reap() noexcept {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  while (::waitpid(pid_, nullptr, __WALL) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

Result<ExitStatus> ChildProcess::wait() {
  STRATA_CHECK(valid());
  int status = 0;
  pid_t pid = release();
  // Disarmed even on failure: after ECHILD the pid may no longer be ours to kill.
  while (::waitpid(pid, &status, __WALL) < 0) {
    if (errno != EINTR) return Error::sys(fmt::format("waitpid {}", pid), errno);
  }
  return ExitStatus::from_wait_status(status);
}

Result<ChildProcess> spawn(const SpawnOptions& options) {
  STRATA_CHECK(!options.argv.empty());
  // Everything the child touches is prepared before fork: it may only make syscalls.
  Prepared prepared;
  for (const std::string& a : options.argv) prepared.argv.push_back(const_cast<char*>(a.c_str()));
  prepared.argv.push_back(nullptr);
  for (const std::string& e : options.env) prepared.envp.push_back(const_cast<char*>(e.c_str()));
  prepared.envp.push_back(nullptr);
  if (!options.cwd.empty()) prepared.cwd = options.cwd.c_str();

  STRATA_TRY_ASSIGN(Pipe report, make_pipe());
  pid_t pid = process_internal::fork_raw();
  if (pid < 0) return Error::sys("fork", errno);
  if (pid == 0) exec_child(options, prepared, report.write.get());
  ChildProcess child(pid);
  report.write = UniqueFd();
  STRATA_TRY_ASSIGN(std::optional<RawFailure> failure,
                    process_internal::read_failure(report.read.get()));
  if (!failure) return child;
  STRATA_TRY(child.wait());
  return Error::sys(describe(options, static_cast<SpawnStep>(failure->step)), failure->errnum);
}

}  // namespace strata
