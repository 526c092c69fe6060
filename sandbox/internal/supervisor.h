// The parent's side of a run after clone: copies the command's output to the caller and the
// log, collects the child's setup record, enforces the timeout and reaps pid 1.
// Private to sandbox/.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>

#include "builder/base/fd.h"
#include "builder/base/result.h"
#include "sandbox/config.h"
#include "sandbox/internal/child_plan.h"

namespace strata::sandbox::internal {

// Where the command's stdout and stderr go. Without a log, the child writes straight to the
// caller's descriptors; with one, through pipes the parent copies to both.
class Output {
 public:
  // Opens the log (truncating it) and the pipes, and points plan.stdout_fd/stderr_fd at
  // what the child should use.
  Result<void> open(const Config& config, ChildPlan& plan);
  // Closes the parent's copies of the child's ends, after clone.
  void close_child_ends();
  bool has_pipes() const { return out_read_.valid() || err_read_.valid(); }
  // Reads one chunk from the stream whose pipe is `fd` and copies it; false at EOF.
  Result<bool> pump(int fd);
  int out_fd() const { return out_read_.get(); }
  int err_fd() const { return err_read_.get(); }
  void close_stream(int fd);
  // Closes the log, checking for write errors.
  Result<void> finish();

 private:
  UniqueFd log_;
  UniqueFd out_read_, out_write_, err_read_, err_write_;
  int out_dest_ = 1;
  int err_dest_ = 2;
};

struct Outcome {
  std::optional<ChildRecord> record;  // the first setup failure, if any
  bool timed_out = false;
  bool cancelled = false;
  int init_status = 0;  // pid 1's own wait status
};

class Supervisor {
 public:
  Supervisor(pid_t pid, int error_fd, int64_t timeout_ms, const std::atomic<bool>* cancel)
      : pid_(pid), error_fd_(error_fd), timeout_ms_(timeout_ms), cancel_(cancel) {}
  // Runs until pid 1 is reaped and every stream reached EOF. Kills pid 1 (and so the pid
  // namespace) when the timeout passes, `cancel` is set or strata got SIGINT/SIGTERM
  // (is_interrupted(), base/interrupt.h). On return pid 1 has been reaped.
  Result<Outcome> wait(Output& output);

 private:
  Result<void> reap(Outcome& outcome);

  pid_t pid_;
  int error_fd_;
  int64_t timeout_ms_;
  const std::atomic<bool>* cancel_;
};

}  // namespace strata::sandbox::internal
