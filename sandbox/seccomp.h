// sandbox/seccomp.h: the one wrapper around libseccomp. Turns a SeccompPolicy into a BPF
// program in the parent, before clone, so the child only has to install it.
#pragma once

#include <linux/filter.h>
#include <seccomp.h>

#include <memory>
#include <vector>

#include "builder/base/result.h"
#include "sandbox/config.h"

namespace strata::sandbox {

// default_policy() (declared in config.h) is docs/design.md's list: EPERM for mount and the new
// mount API, namespace creation (unshare, setns, clone with CLONE_NEW*), ptrace and process_vm_*,
// bpf, perf_event_open, key management, kexec and modules, reboot, swap, clock and time setting,
// io_uring, userfaultfd, open_by_handle_at, acct, quotactl, syslog, personality changes and
// TIOCSTI; ENOSYS for clone3 (its flags live in memory seccomp cannot read, so libc falls back to
// clone); EAFNOSUPPORT for socket() and socketpair() outside the allowed socket families
// (AF_UNIX, AF_INET, AF_INET6, AF_NETLINK: Flatpak's list; AF_VSOCK would reach the host VM);
// foreign ABIs (i386, x32) kill the process.

// The owner of a libseccomp filter context.
class SeccompFilter {
 public:
  // An empty filter whose default action is "allow".
  static Result<SeccompFilter> create();
  // Adds the rules of `policy`, including one socket/socketpair rule per gap between its
  // allowed_socket_families; the error names the rule (or a negative family).
  Result<void> add_policy(const SeccompPolicy& policy);
  // The compiled classic-BPF program (seccomp_export_bpf).
  Result<std::vector<sock_filter>> export_bpf() const;

 private:
  struct Release {
    void operator()(void* ctx) const { seccomp_release(ctx); }
  };
  explicit SeccompFilter(scmp_filter_ctx ctx) : ctx_(ctx) {}
  std::unique_ptr<void, Release> ctx_;
};

// create() + add_policy() + export_bpf().
Result<std::vector<sock_filter>> compile_policy(const SeccompPolicy& policy);

}  // namespace strata::sandbox
