#include "sandbox/seccomp.h"

#include <gtest/gtest.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

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

TEST(SandboxSeccomp, DefaultPolicyAllowsOnlyFlatpaksSocketFamilies) {
  EXPECT_EQ(default_policy().allowed_socket_families,
            (std::vector<int>{AF_UNIX, AF_INET, AF_INET6, AF_NETLINK}));
}

// Installs `program` in a forked child and returns the child's exit status: bit i set means
// check i below failed. Only the child is filtered.
int run_socket_checks(const std::vector<sock_filter>& program) {
  pid_t pid = ::fork();
  if (pid == 0) {
    sock_fprog prog{.len = static_cast<unsigned short>(program.size()),
                    .filter = const_cast<sock_filter*>(program.data())};
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
      ::_exit(255);
    auto refused = [](long rc) { return rc < 0 && errno == EAFNOSUPPORT; };
    int sv[2];
    int failed = 0;
    if (!refused(::socket(AF_VSOCK, SOCK_STREAM, 0))) failed |= 1;
    if (!refused(::socket(AF_PACKET, SOCK_RAW, 0))) failed |= 2;
    if (!refused(::socketpair(AF_VSOCK, SOCK_STREAM, 0, sv))) failed |= 4;
    // AF_UNIX with junk in the upper half, which the kernel would truncate away.
    if (!refused(::syscall(SYS_socket, 0x100000000L | AF_UNIX, SOCK_STREAM, 0))) failed |= 8;
    if (!refused(::socket(AF_UNSPEC, SOCK_STREAM, 0))) failed |= 16;
    if (::socket(AF_UNIX, SOCK_STREAM, 0) < 0) failed |= 32;
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) failed |= 64;
    if (::socket(AF_NETLINK, SOCK_RAW, 0) < 0) failed |= 128;
    ::_exit(failed);
  }
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

TEST(SandboxSeccomp, SocketFamiliesOutsideTheAllowlistFailWithEafnosupport) {
  SeccompPolicy policy;
  policy.allowed_socket_families = {AF_NETLINK, AF_UNIX, AF_UNIX};  // order and repeats ignored
  Result<std::vector<sock_filter>> program = compile_policy(policy);
  ASSERT_TRUE(program.ok()) << program.error().message();
  EXPECT_EQ(run_socket_checks(*program), 0)
      << "bits: 1 vsock, 2 packet, 4 socketpair vsock, 8 upper bits, 16 AF_UNSPEC, "
         "32 unix refused, 64 socketpair unix refused, 128 netlink refused, 255 install failed";
}

TEST(SandboxSeccomp, NegativeSocketFamilyNamesIt) {
  SeccompPolicy policy;
  policy.allowed_socket_families = {AF_UNIX, -3};
  Result<std::vector<sock_filter>> program = compile_policy(policy);
  ASSERT_FALSE(program.ok());
  EXPECT_EQ(program.error().message(), "seccomp: socket family -3 is negative");
}

}  // namespace
}  // namespace strata::sandbox
