#include "sandbox/internal/supervisor.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>

#include "builder/base/interrupt.h"

namespace strata::sandbox::internal {

Result<void> Output::open(const Config& config, ChildPlan& plan) {
  out_dest_ = config.stdout_fd;
  err_dest_ = config.stderr_fd;
  plan.stdout_fd = config.stdout_fd;
  plan.stderr_fd = config.stderr_fd;
  if (config.log_path.empty()) return Ok{};
  STRATA_TRY_ASSIGN(log_, open_fd(config.log_path, O_WRONLY | O_CREAT | O_TRUNC));
  STRATA_TRY_ASSIGN(auto out, make_pipe());
  STRATA_TRY_ASSIGN(auto err, make_pipe());
  out_read_ = std::move(out.read);
  out_write_ = std::move(out.write);
  err_read_ = std::move(err.read);
  err_write_ = std::move(err.write);
  plan.stdout_fd = out_write_.get();
  plan.stderr_fd = err_write_.get();
  return Ok{};
}

void Output::close_child_ends() {
  out_write_ = UniqueFd();
  err_write_ = UniqueFd();
}

Result<bool> Output::pump(int fd) {
  char buf[16384];
  STRATA_TRY_ASSIGN(int64_t n, read_some(fd, buf, sizeof buf, "sandbox output"));
  if (n == 0) return false;
  std::string_view chunk(buf, static_cast<size_t>(n));
  // The caller's stream may be gone (a closed pipe); the log must still be complete.
  (void)write_all(fd == out_read_.get() ? out_dest_ : err_dest_, chunk, "output");
  STRATA_TRY(write_all(log_.get(), chunk, "sandbox log"));
  return true;
}

void Output::close_stream(int fd) {
  if (fd == out_read_.get()) out_read_ = UniqueFd();
  if (fd == err_read_.get()) err_read_ = UniqueFd();
}

Result<void> Output::finish() {
  if (!log_.valid()) return Ok{};
  return log_.close("sandbox log");
}

Result<void> Supervisor::reap(Outcome& outcome) {
  int status = 0;
  while (::waitpid(pid_, &status, __WALL) < 0) {
    if (errno != EINTR) return Error::sys("wait for the sandbox", errno);
  }
  outcome.init_status = status;
  return Ok{};
}

Result<Outcome> Supervisor::wait(Output& output) {
  Outcome outcome;
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
  if (!pidfd.valid()) return Error::sys("pidfd_open", errno);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms_);
  bool exited = false, errors_open = true;
  while (!exited || errors_open || output.has_pipes()) {
    pollfd fds[4];
    int count = 0;
    if (!exited) fds[count++] = {pidfd.get(), POLLIN, 0};
    if (errors_open) fds[count++] = {error_fd_, POLLIN, 0};
    if (output.out_fd() >= 0) fds[count++] = {output.out_fd(), POLLIN, 0};
    if (output.err_fd() >= 0) fds[count++] = {output.err_fd(), POLLIN, 0};
    bool killed = outcome.timed_out || outcome.cancelled;
    // The caller's flag, or SIGINT/SIGTERM to strata (base/interrupt.h): either way the run
    // ends as cancelled and the caller's error path cleans up.
    bool cancel = (cancel_ != nullptr && cancel_->load()) || is_interrupted();
    if (!exited && !killed && cancel) {
      // Killing pid 1 kills every process in its pid namespace.
      ::kill(pid_, SIGKILL);
      outcome.cancelled = true;
      continue;
    }
    int wait_ms = -1;
    bool deadline_wait = false;
    if (timeout_ms_ > 0 && !exited && !killed) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      wait_ms = static_cast<int>(std::max<int64_t>(left.count(), 0));
      deadline_wait = true;
    }
    if (!exited && !killed && (wait_ms < 0 || wait_ms > kCancelPollMs)) {
      wait_ms = kCancelPollMs;
      deadline_wait = false;
    }
    int ready = ::poll(fds, static_cast<nfds_t>(count), wait_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return Error::sys("poll", errno);
    if (ready == 0) {
      if (deadline_wait) {
        ::kill(pid_, SIGKILL);
        outcome.timed_out = true;
      }
      continue;  // else: time to look at `cancel` again
    }
    for (int i = 0; i < count; ++i) {
      if (fds[i].revents == 0) continue;
      int fd = fds[i].fd;
      if (fd == pidfd.get()) {
        STRATA_TRY(reap(outcome));
        exited = true;
      } else if (fd == error_fd_) {
        ChildRecord record;
        ssize_t n = ::read(error_fd_, &record, sizeof record);
        if (n < 0 && errno == EINTR) continue;
        if (n == sizeof record && !outcome.record) outcome.record = record;
        if (n <= 0) errors_open = false;
      } else {
        STRATA_TRY_ASSIGN(bool more, output.pump(fd));
        if (!more) output.close_stream(fd);
      }
    }
  }
  return outcome;
}

}  // namespace strata::sandbox::internal
