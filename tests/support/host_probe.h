// Probes for the host features the sandbox tests need; each gives the one-line reason a test
// skips with. docs/testing.md ("Host features the tests probe") lists them all.
#pragma once

#include <linux/seccomp.h>
#include <sys/prctl.h>

#include <cerrno>
#include <string>

#include "sandbox/sandbox.h"

namespace strata::testing {

// Why strata's sandbox cannot run here, or "" when it can: user namespaces for this user
// (unprivileged ones when not root; AppArmor's userns restriction and a seccomp-confined
// container fail the same probe) and seccomp filters, which the sandbox installs last.
inline std::string sandbox_unavailable() {
  if (Result<void> userns = sandbox::check_user_namespaces(); !userns.ok())
    return userns.error().message();
  // A null filter: EFAULT where the kernel has seccomp filters, EINVAL where it has none.
  if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, nullptr, 0, 0) != 0 && errno == EINVAL)
    return "the kernel has no seccomp filters (CONFIG_SECCOMP_FILTER)";
  return "";
}

}  // namespace strata::testing

namespace strata::builder::testing {
using strata::testing::sandbox_unavailable;
}  // namespace strata::builder::testing
