// strata::sandbox: runs one command in an isolated, reproducible environment (docs/design.md
// "The sandbox contract"). The input is a plain sandbox::Config, never a spec.
#pragma once

#include "builder/base/result.h"
#include "sandbox/config.h"

namespace strata::sandbox {

// Runs commands; the builder takes a Runner so tests can pass a fake.
class Runner {
 public:
  virtual ~Runner() = default;
  // Runs config.argv in the sandbox and waits for it (and for every process it started).
  // Returns how the command ended: its exit status, the signal that killed it, or a timeout.
  // Errors: kUsage for an invalid config (every problem listed), kUnsupported when user
  // namespaces are unavailable (the message names the sysctl or AppArmor setting), and
  // kSandbox for a setup failure, naming the step, the path and the errno. A failure leaves
  // no process behind.
  virtual Result<RunResult> run(const Config& config) = 0;
};

// The real thing: namespaces, pivot_root, seccomp (docs/sandbox.md).
class NamespaceRunner final : public Runner {
 public:
  Result<RunResult> run(const Config& config) override;
};

// NamespaceRunner().run(config).
Result<RunResult> run_sandboxed(const Config& config);

// Ok when this process can create a user namespace, map itself and mount in it; else the
// kUnsupported error run() would give, naming the fix. Forks a short-lived probe.
Result<void> check_user_namespaces();

}  // namespace strata::sandbox
