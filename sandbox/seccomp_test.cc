#include "sandbox/seccomp.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace strata::sandbox {
namespace {

TEST(SandboxSeccomp, DefaultPolicyCoversDesignList) {
  SeccompPolicy policy = default_policy();
  for (const char* name : {"mount",
                           "umount2",
                           "pivot_root",
                           "unshare",
                           "setns",
                           "clone",
                           "ptrace",
                           "process_vm_readv",
                           "process_vm_writev",
                           "bpf",
                           "perf_event_open",
                           "keyctl",
                           "add_key",
                           "request_key",
                           "kexec_load",
                           "init_module",
                           "finit_module",
                           "delete_module",
                           "reboot",
                           "swapon",
                           "swapoff",
                           "clock_settime",
                           "settimeofday",
                           "adjtimex",
                           "io_uring_setup",
                           "userfaultfd",
                           "open_by_handle_at",
                           "acct",
                           "quotactl",
                           "syslog",
                           "personality"}) {
    bool found = std::any_of(policy.deny.begin(), policy.deny.end(),
                             [&](const SyscallRule& r) { return r.name == name; });
    EXPECT_TRUE(found) << name;
  }
  EXPECT_TRUE(policy.kill_foreign_abi);
}

TEST(SandboxSeccomp, DefaultPolicyCompilesToBpf) {
  Result<std::vector<sock_filter>> program = compile_policy(default_policy());
  ASSERT_TRUE(program.ok()) << program.error().message();
  EXPECT_GT(program->size(), 40u);
  EXPECT_LT(program->size(), 4096u);  // BPF_MAXINSNS
}

TEST(SandboxSeccomp, UnknownSyscallNamesTheRule) {
  SeccompPolicy policy;
  policy.deny.push_back({.name = "no_such_syscall", .errno_value = 1});
  Result<std::vector<sock_filter>> program = compile_policy(policy);
  ASSERT_FALSE(program.ok());
  EXPECT_EQ(program.error().message(), "seccomp: unknown syscall no_such_syscall");
}

}  // namespace
}  // namespace strata::sandbox
