#include "sandbox/sandbox.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/capability.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <optional>

#include "builder/base/fd.h"
#include "builder/base/fs.h"
#include "builder/base/process.h"
#include "sandbox/internal/child_plan.h"
#include "sandbox/internal/process_limit.h"
#include "sandbox/internal/supervisor.h"
#include "sandbox/internal/userns.h"
#include "sandbox/seccomp.h"

namespace strata::sandbox {

namespace {

using internal::ChildPlan;
using internal::ChildRecord;

constexpr int kCloneFlags =
    CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC;

Result<void> write_proc_file(pid_t pid, const char* name, const std::string& text) {
  std::string path = fmt::format("/proc/{}/{}", pid, name);
  STRATA_TRY_ASSIGN(UniqueFd fd, open_fd(path, O_WRONLY));
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    return internal::userns_unavailable(fmt::format("write {}", path), errno);
  return fd.close(path);
}

std::string map_text(const std::vector<IdMap>& maps, uint32_t self) {
  if (maps.empty()) return fmt::format("0 {} 1\n", self);
  std::string text;
  for (const IdMap& m : maps) text += fmt::format("{} {} {}\n", m.inside, m.outside, m.count);
  return text;
}

uid_t outside_root_uid(const Config& config) {
  for (const IdMap& m : config.uid_maps) {
    if (m.inside == 0) return m.outside;
  }
  return config.uid_maps.empty() ? ::geteuid() : 65534;
}

Result<void> fill_plan(const Config& config, int64_t rlimit_nproc, ChildPlan& plan) {
  STRATA_TRY(internal::build_child_plan(config, plan));
  internal::find_own_argv(plan);
  // The policy is compiled after the clone, while pid 1 sets up the mounts (send_seccomp).
  plan.seccomp_program.reserve(internal::kMaxSeccompInstructions);
  std::vector<int> caps =
      config.capabilities.empty() ? default_capabilities() : config.capabilities;
  for (int cap : caps) plan.capabilities |= uint64_t{1} << cap;
  Result<std::string> last = read_file("/proc/sys/kernel/cap_last_cap");
  plan.last_capability = last.ok() ? std::atoi(last->c_str()) : CAP_LAST_CAP;
  plan.uid = config.uid;
  plan.gid = config.gid;
  plan.rlimit_nproc = rlimit_nproc;
  plan.rlimit_fsize = config.limits.max_file_size_bytes;
  plan.stdin_fd = config.stdin_fd;
  return Ok{};
}

// Clones pid 1 and lets it go once its id maps and cgroup are in place.
Result<void> start_child(const Config& config, ChildPlan& plan, const internal::ProcessLimit& limit,
                         std::optional<ChildProcess>& child, Pipe& sync) {
  // A raw clone without a new stack behaves like fork: the child continues here on a
  // copy-on-write copy of this stack, and needs nothing from glibc's fork handlers.
  long pid = ::syscall(SYS_clone, kCloneFlags | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  if (pid < 0) {
    if (errno == EPERM || errno == EINVAL || errno == ENOSPC || errno == EUSERS)
      return internal::userns_unavailable("clone", errno);
    return Error::sys("clone the sandbox", errno);
  }
  if (pid == 0) internal::run_child(plan);
  child.emplace(static_cast<pid_t>(pid));
  STRATA_TRY(sync.read.close("sync pipe"));
  // setgroups must be denied before an unprivileged process may write gid_map.
  STRATA_TRY(write_proc_file(child->pid(), "setgroups", "deny"));
  STRATA_TRY(write_proc_file(child->pid(), "uid_map", map_text(config.uid_maps, ::geteuid())));
  STRATA_TRY(write_proc_file(child->pid(), "gid_map", map_text(config.gid_maps, ::getegid())));
  STRATA_TRY(limit.add(child->pid()));
  if (::write(sync.write.get(), "g", 1) != 1) return Error::sys("release the sandbox", errno);
  return Ok{};
}

// Compiles the policy while pid 1 sets up its mounts (libseccomp takes about 0.2 ms in a
// fresh process, docs/startup.md) and sends it down the sync pipe; pid 1 reads it before it
// starts the command. On failure the pipe is closed unwritten and pid 1 ends.
Result<void> send_seccomp(const Config& config, Pipe& sync) {
  STRATA_TRY_ASSIGN(std::vector<sock_filter> program, compile_policy(config.seccomp));
  if (program.size() > internal::kMaxSeccompInstructions) {
    return Error(ErrorCode::kSandbox,
                 fmt::format("the seccomp filter has {} instructions, more than the kernel's {}",
                             program.size(), internal::kMaxSeccompInstructions));
  }
  auto count = static_cast<uint32_t>(program.size());
  std::string message(reinterpret_cast<const char*>(&count), sizeof count);
  message.append(reinterpret_cast<const char*>(program.data()),
                 program.size() * sizeof(sock_filter));
  // pid 1 may already have ended (a setup step failed right after "go"): then the write
  // fails with EPIPE, and the supervisor reports pid 1's own error. SIGPIPE is blocked for
  // the write and a pending one taken, so it cannot end strata.
  sigset_t pipe_signal;
  sigset_t old_mask;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_signal, &old_mask);
  Result<void> written = write_all(sync.write.get(), message, "the sandbox's sync pipe");
  bool gone = !written.ok() && written.error().sys_errno() == EPIPE;
  if (gone) {
    struct timespec now = {0, 0};
    while (sigtimedwait(&pipe_signal, nullptr, &now) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  if (!gone) STRATA_TRY(written);
  return sync.write.close("sync pipe");
}

Error setup_error(const ChildPlan& plan, const ChildRecord& record) {
  std::string message = internal::describe_record(plan, record);
  auto step = static_cast<internal::Step>(record.step);
  // With AppArmor's userns restriction the clone works but the first mount is refused.
  if (record.errnum == EPERM && step <= internal::Step::kDetachOldRoot)
    return internal::userns_unavailable(message, record.errnum);
  return Error(ErrorCode::kSandbox, "sandbox setup: " + message);
}

}  // namespace

Result<RunResult> NamespaceRunner::run(const Config& config) {
  STRATA_TRY(validate_config(config));
  auto start = std::chrono::steady_clock::now();
  internal::ProcessLimit limit;
  if (config.limits.max_processes > 0) {
    STRATA_TRY_ASSIGN(limit, internal::ProcessLimit::create(config.limits.max_processes,
                                                            outside_root_uid(config)));
  }
  ChildPlan plan;
  STRATA_TRY(fill_plan(config, limit.rlimit_nproc(), plan));

  STRATA_TRY_ASSIGN(Pipe sync, make_pipe());
  STRATA_TRY_ASSIGN(Pipe errors, make_pipe());
  STRATA_TRY_ASSIGN(Pipe result, make_pipe());
  internal::Output output;
  STRATA_TRY(output.open(config, plan));
  plan.sync_fd = sync.read.get();
  plan.error_fd = errors.write.get();
  plan.result_fd = result.write.get();
  plan.keep_fds = {plan.sync_fd,  plan.error_fd,  plan.result_fd,
                   plan.stdin_fd, plan.stdout_fd, plan.stderr_fd};
  for (const ChildPlan::LowerDir& lower : plan.lower_dirs) plan.keep_fds.push_back(lower.fd);
  std::sort(plan.keep_fds.begin(), plan.keep_fds.end());

  // The kill guard on pid 1: killing it kills the whole pid namespace. Released only after
  // the supervisor reaped it.
  std::optional<ChildProcess> child;
  STRATA_TRY(start_child(config, plan, limit, child, sync));
  STRATA_TRY(send_seccomp(config, sync));
  STRATA_TRY(errors.write.close("error pipe"));
  STRATA_TRY(result.write.close("result pipe"));
  output.close_child_ends();

  internal::Supervisor supervisor(child->pid(), errors.read.get(), config.limits.timeout_ms,
                                  config.cancel);
  STRATA_TRY_ASSIGN(internal::Outcome outcome, supervisor.wait(output));
  child->release();

  if (outcome.record) return setup_error(plan, *outcome.record);
  RunResult run_result;
  run_result.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::steady_clock::now() - start)
                               .count();
  int status = 0;
  if (outcome.timed_out) {
    run_result.status = RunResult::Status::kTimedOut;
  } else if (outcome.cancelled) {
    run_result.status = RunResult::Status::kCancelled;
  } else if (::read(result.read.get(), &status, sizeof status) == sizeof status) {
    if (WIFSIGNALED(status)) {
      run_result.status = RunResult::Status::kSignaled;
      run_result.signal = WTERMSIG(status);
    } else {
      run_result.exit_code = WEXITSTATUS(status);
    }
  } else {
    return Error(ErrorCode::kSandbox,
                 fmt::format("sandbox init (pid 1) ended without a result: wait status {:#x}",
                             outcome.init_status));
  }
  run_result.process_limit_hit = limit.was_hit();
  STRATA_TRY(output.finish());
  return run_result;
}

Result<RunResult> run_sandboxed(const Config& config) { return NamespaceRunner().run(config); }

Result<void> check_user_namespaces() { return internal::probe_user_namespaces(); }

}  // namespace strata::sandbox
