#include "sandbox/seccomp.h"

#include <fmt/format.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "builder/base/fd.h"

namespace strata::sandbox {

namespace {

Error seccomp_error(std::string what, int rc) {
  // libseccomp returns a negative errno.
  return Error(ErrorCode::kSandbox, fmt::format("seccomp: {}: {}", what, std::strerror(-rc)));
}

scmp_arg_cmp to_cmp(const ArgMatch& m) {
  unsigned arg = static_cast<unsigned>(m.index);
  switch (m.op) {
    case ArgMatch::Op::kEq:
      return scmp_arg_cmp{arg, SCMP_CMP_EQ, m.value, 0};
    case ArgMatch::Op::kNe:
      return scmp_arg_cmp{arg, SCMP_CMP_NE, m.value, 0};
    case ArgMatch::Op::kMaskedEq:
      return scmp_arg_cmp{arg, SCMP_CMP_MASKED_EQ, m.mask, m.value};
    case ArgMatch::Op::kGe:
      return scmp_arg_cmp{arg, SCMP_CMP_GE, m.value, 0};
  }
  return scmp_arg_cmp{arg, SCMP_CMP_EQ, m.value, 0};
}

// The rules that make socket() and socketpair() fail with EAFNOSUPPORT for every family
// outside `allowed`. The rules of a syscall are OR-ed; libseccomp 2.5 refuses two comparisons
// on the same argument in one rule (EINVAL), so a gap [low, high] between allowed families
// cannot be one GE+LE rule. Instead it is split into aligned power-of-two blocks, each one
// masked comparison ((arg0 & ~(size-1)) == start), and everything above the highest allowed
// family is one GE rule. The comparisons cover all 64 bits of arg0, so a family with junk in
// its upper half (the kernel would truncate it to an int) falls in a gap and is refused too.
//
// On x86_64 (and aarch64) socket and socketpair are direct syscalls with the family in arg0.
// i386 multiplexes them through socketcall, whose arguments are in memory seccomp cannot read;
// that ABI never gets that far, since the filter kills (or fails with ENOSYS) every foreign ABI.
Result<std::vector<SyscallRule>> socket_family_rules(std::vector<int> allowed) {
  std::sort(allowed.begin(), allowed.end());
  allowed.erase(std::unique(allowed.begin(), allowed.end()), allowed.end());
  if (!allowed.empty() && allowed.front() < 0)
    return Error(ErrorCode::kSandbox,
                 fmt::format("seccomp: socket family {} is negative", allowed.front()));
  std::vector<ArgMatch> matches;
  uint64_t low = 0;  // the first refused family not yet covered
  for (int family : allowed) {
    auto end = static_cast<uint64_t>(family);  // one past the gap [low, end)
    while (low < end) {
      uint64_t size = 1;
      while (low % (size * 2) == 0 && low + size * 2 <= end) size *= 2;
      matches.push_back(
          {.index = 0, .op = ArgMatch::Op::kMaskedEq, .value = low, .mask = ~(size - 1)});
      low += size;
    }
    low = end + 1;
  }
  matches.push_back({.index = 0, .op = ArgMatch::Op::kGe, .value = low});
  std::vector<SyscallRule> rules;
  for (const char* name : {"socket", "socketpair"}) {
    for (const ArgMatch& match : matches)
      rules.push_back({.name = name, .errno_value = EAFNOSUPPORT, .args = {match}});
  }
  return rules;
}

}  // namespace

SeccompPolicy default_policy() {
  SeccompPolicy policy;
  for (const char* name : {"mount",
                           "umount",
                           "umount2",
                           "pivot_root",
                           "move_mount",
                           "open_tree",
                           "fsopen",
                           "fsconfig",
                           "fsmount",
                           "fspick",
                           "mount_setattr",
                           "unshare",
                           "setns",
                           "ptrace",
                           "process_vm_readv",
                           "process_vm_writev",
                           "bpf",
                           "perf_event_open",
                           "keyctl",
                           "add_key",
                           "request_key",
                           "kexec_load",
                           "kexec_file_load",
                           "init_module",
                           "finit_module",
                           "delete_module",
                           "reboot",
                           "swapon",
                           "swapoff",
                           "clock_settime",
                           "clock_adjtime",
                           "settimeofday",
                           "adjtimex",
                           "io_uring_setup",
                           "io_uring_enter",
                           "io_uring_register",
                           "userfaultfd",
                           "open_by_handle_at",
                           "acct",
                           "quotactl",
                           "quotactl_fd",
                           "syslog",
                           "lookup_dcookie",
                           "vhangup",
                           "iopl",
                           "ioperm"}) {
    policy.deny.push_back({.name = name, .errno_value = EPERM});
  }
  // clone: one rule per namespace flag, since the rules of a syscall are OR-ed and the
  // comparisons inside one rule are AND-ed.
  for (uint64_t flag : {CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID,
                        CLONE_NEWNET, CLONE_NEWCGROUP}) {
    policy.deny.push_back(
        {.name = "clone",
         .errno_value = EPERM,
         .args = {{.index = 0, .op = ArgMatch::Op::kMaskedEq, .value = flag, .mask = flag}}});
  }
  policy.deny.push_back({.name = "clone3", .errno_value = ENOSYS});
  // personality: queries (0xffffffff) stay allowed; every change is refused.
  policy.deny.push_back({.name = "personality",
                         .errno_value = EPERM,
                         .args = {{.index = 0, .op = ArgMatch::Op::kNe, .value = 0xffffffffu}}});
  // Typing into the caller's terminal (TIOCSTI, TIOCLINUX) would escape the sandbox.
  for (uint64_t request : {uint64_t{TIOCSTI}, uint64_t{TIOCLINUX}}) {
    policy.deny.push_back(
        {.name = "ioctl",
         .errno_value = EPERM,
         .args = {
             {.index = 1, .op = ArgMatch::Op::kMaskedEq, .value = request, .mask = 0xffffffffu}}});
  }
  // Flatpak's allowlist. Loopback-only AF_INET/AF_INET6 and AF_NETLINK live in the sandbox's
  // network namespace and AF_UNIX paths in its mount namespace; other families are not
  // isolated by them: AF_VSOCK reaches the host VM's hypervisor and its ports (issue 11), and
  // AF_PACKET, AF_BLUETOOTH, AF_KEY, AF_ALG and the rest are kernel surface no build needs.
  policy.allowed_socket_families = {AF_UNIX, AF_INET, AF_INET6, AF_NETLINK};
  policy.kill_foreign_abi = true;
  return policy;
}

Result<SeccompFilter> SeccompFilter::create() {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == nullptr) return Error(ErrorCode::kSandbox, "seccomp: seccomp_init failed");
  return SeccompFilter(ctx);
}

Result<void> SeccompFilter::add_policy(const SeccompPolicy& policy) {
  void* ctx = ctx_.get();
  // The filter holds only the native ABI; a syscall from any other (i386 via int 0x80, x32
  // via __X32_SYSCALL_BIT) takes the bad-arch action.
  uint32_t bad_arch = policy.kill_foreign_abi ? SCMP_ACT_KILL_PROCESS : SCMP_ACT_ERRNO(ENOSYS);
  if (int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, bad_arch); rc < 0)
    return seccomp_error("set bad-arch action", rc);
  // The NO_NEW_PRIVS bit is set by the child itself, in its documented place.
  if (int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0); rc < 0)
    return seccomp_error("clear no_new_privs attribute", rc);
  // may_be_absent: a syscall the native ABI lacks (e.g. umount on x86_64) has nothing to filter.
  auto add_rule = [ctx](const SyscallRule& rule, bool may_be_absent) -> Result<void> {
    int nr = seccomp_syscall_resolve_name(rule.name.c_str());
    if (nr == __NR_SCMP_ERROR)
      return Error(ErrorCode::kSandbox, fmt::format("seccomp: unknown syscall {}", rule.name));
    std::vector<scmp_arg_cmp> cmps;
    for (const ArgMatch& m : rule.args) cmps.push_back(to_cmp(m));
    int rc = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(static_cast<uint16_t>(rule.errno_value)),
                                    nr, static_cast<unsigned>(cmps.size()), cmps.data());
    if (may_be_absent && (rc == -EDOM || (rc == -EINVAL && nr < 0))) return Ok{};
    if (rc < 0) return seccomp_error(fmt::format("add rule for {}", rule.name), rc);
    return Ok{};
  };
  for (const SyscallRule& rule : policy.deny) STRATA_TRY(add_rule(rule, true));
  if (!policy.allowed_socket_families.empty()) {
    // Never skipped: an allowlist that silently did not apply would be worse than none.
    STRATA_TRY_ASSIGN(std::vector<SyscallRule> rules,
                      socket_family_rules(policy.allowed_socket_families));
    for (const SyscallRule& rule : rules) STRATA_TRY(add_rule(rule, false));
  }
  return Ok{};
}

Result<std::vector<sock_filter>> SeccompFilter::export_bpf() const {
  // libseccomp 2.5 exports only to a file descriptor; a memfd keeps it in memory.
  UniqueFd fd(::memfd_create("strata-seccomp", MFD_CLOEXEC));
  if (!fd.valid()) return Error::sys("seccomp: memfd_create", errno);
  if (int rc = seccomp_export_bpf(ctx_.get(), fd.get()); rc < 0)
    return seccomp_error("export bpf", rc);
  off_t size = ::lseek(fd.get(), 0, SEEK_END);
  if (size < 0 || size % sizeof(sock_filter) != 0)
    return Error(ErrorCode::kSandbox, "seccomp: exported program has a bad size");
  std::vector<sock_filter> program(static_cast<size_t>(size) / sizeof(sock_filter));
  if (::pread(fd.get(), program.data(), static_cast<size_t>(size), 0) != size)
    return Error::sys("seccomp: read exported program", errno);
  return program;
}

Result<std::vector<sock_filter>> compile_policy(const SeccompPolicy& policy) {
  STRATA_TRY_ASSIGN(SeccompFilter filter, SeccompFilter::create());
  STRATA_TRY(filter.add_policy(policy));
  return filter.export_bpf();
}

}  // namespace strata::sandbox
