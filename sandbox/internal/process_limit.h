// The sandbox's process limit: a pids cgroup (v2, or v1's pids hierarchy) when this process
// may create one, else RLIMIT_NPROC, which since Linux 5.14 counts per user namespace, so
// per sandbox. docs/sandbox.md explains the choice. Private to sandbox/.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "builder/base/result.h"

namespace strata::sandbox::internal {

class ProcessLimit {
 public:
  // No limit at all.
  ProcessLimit() = default;
  // Picks the mechanism for `max_processes` (> 0). The cgroup is
  // PARENT/strata-sandbox-@PID.START-N (base/owner.h); the first call in a process also
  // removes the strata-sandbox-* cgroups of processes that are gone. `outside_uid` is the host uid
  // that root inside maps to: RLIMIT_NPROC never applies to host uid 0, so without a cgroup that
  // case is an error (kUnsupported) naming the fix.
  static Result<ProcessLimit> create(int64_t max_processes, uid_t outside_uid);

  ProcessLimit(ProcessLimit&& other) noexcept;
  ProcessLimit& operator=(ProcessLimit&& other) noexcept;
  ProcessLimit(const ProcessLimit&) = delete;
  ProcessLimit& operator=(const ProcessLimit&) = delete;
  // Removes the cgroup, killing what is left in it (remove_cgroup).
  ~ProcessLimit();

  // Moves `pid` into the cgroup, if there is one.
  Result<void> add(pid_t pid) const;
  // The RLIMIT_NPROC the command gets, or 0 for none.
  int64_t rlimit_nproc() const { return rlimit_nproc_; }
  // Whether the cgroup refused a fork (pids.events "max" > 0).
  bool was_hit() const;
  const std::string& cgroup_dir() const { return dir_; }

 private:
  std::string dir_;  // the cgroup we made, or empty
  int64_t rlimit_nproc_ = 0;
};

// rmdir of a cgroup directory, killing the processes still in it and retrying while the
// kernel reports it busy (about a second at most). False when it could not be removed.
bool remove_cgroup(const std::string& dir);

// Removes the strata-sandbox-* cgroups under `parent` whose owning strata process is gone.
void remove_stale_cgroups(const std::string& parent);

}  // namespace strata::sandbox::internal
