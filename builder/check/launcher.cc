#include "builder/check/launcher.h"

#include <fcntl.h>

#include "builder/base/check.h"
#include "builder/base/fd.h"
#include "builder/base/process.h"

namespace strata::builder {

Result<int> ForkExecLauncher::run(const ProcessSpec& spec) {
  STRATA_CHECK(!spec.argv.empty());
  STRATA_TRY_ASSIGN(UniqueFd in, open_fd("/dev/null", O_RDONLY));
  STRATA_TRY_ASSIGN(UniqueFd out, open_fd(spec.stdout_path, O_WRONLY | O_CREAT | O_TRUNC, 0600));
  STRATA_TRY_ASSIGN(UniqueFd err, open_fd(spec.stderr_path, O_WRONLY | O_CREAT | O_TRUNC, 0600));
  SpawnOptions options{.argv = spec.argv,
                       .cwd = spec.cwd,
                       .umask = spec.umask,
                       .stdin_fd = in.get(),
                       .stdout_fd = out.get(),
                       .stderr_fd = err.get()};
  for (const auto& [k, v] : spec.env) options.env.push_back(k + "=" + v);
  STRATA_TRY_ASSIGN(ChildProcess child, spawn(options));
  STRATA_TRY_ASSIGN(ExitStatus status, child.wait());
  return status.shell_code();
}

}  // namespace strata::builder
