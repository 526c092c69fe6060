// Running the check's second build: a program in its own process, with a given
// environment, working directory, umask and output files.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "builder/base/result.h"

namespace strata::builder {

// Runs a program to completion. The fork+exec implementation is the real one; tests may
// pass a fake.
struct ProcessSpec {
  std::vector<std::string> argv;  // argv[0] is the program's path
  std::map<std::string, std::string> env;
  std::string cwd;
  uint32_t umask = 022;
  std::string stdout_path;  // created (truncated), mode 0600
  std::string stderr_path;
};
class ProcessLauncher {
 public:
  virtual ~ProcessLauncher() = default;
  // The exit status, or 128 + the signal that killed it. Errors: the program could not be
  // started (fork, exec, chdir, opening the output files).
  virtual Result<int> run(const ProcessSpec& spec) = 0;
};
class ForkExecLauncher : public ProcessLauncher {
 public:
  Result<int> run(const ProcessSpec& spec) override;
};

}  // namespace strata::builder
