// `strata sandbox [--rootfs DIR] [--bind SRC:DST[:ro]] [--bind-ro SRC:DST] [--timeout S]
// [--env K=V] [--cwd DIR] [--log FILE] [--tmpfs-size SIZE] -- CMD...`: run one command in the
// build sandbox (debugging, and the sandbox's own tests). The command's exit status is passed
// through.
#include <fmt/format.h>

#include <cmath>
#include <memory>

#include "builder/cli/commands.h"
#include "sandbox/sandbox.h"

namespace strata::builder::cli {

namespace {

struct SandboxOptions {
  std::string rootfs;
  std::vector<std::string> binds;
  std::vector<std::string> binds_ro;
  double timeout_s = 0;
  int64_t max_processes = 0;
  std::vector<std::string> env;
  std::string cwd = "/";
  std::string log;
  int64_t tmpfs_size_bytes = sandbox::kDefaultTmpfsSizeBytes;
  std::vector<std::string> argv;
};

// "SRC:DST" or "SRC:DST:ro" / "SRC:DST:rw".
Result<sandbox::BindMount> parse_bind(const std::string& text, bool read_only) {
  sandbox::BindMount bind{.read_only = read_only};
  size_t colon = text.find(':');
  if (colon == std::string::npos || colon == 0)
    return Error(ErrorCode::kUsage, fmt::format("--bind {}: expected SRC:DST[:ro]", text));
  bind.source = text.substr(0, colon);
  bind.target = text.substr(colon + 1);
  if (bind.target.ends_with(":ro") || bind.target.ends_with(":rw")) {
    bind.read_only = read_only || bind.target.ends_with(":ro");
    bind.target.resize(bind.target.size() - 3);
  }
  if (bind.target.empty())
    return Error(ErrorCode::kUsage, fmt::format("--bind {}: expected SRC:DST[:ro]", text));
  return bind;
}

Result<sandbox::Config> make_config(const SandboxOptions& options) {
  sandbox::Config config;
  config.rootfs = options.rootfs;
  for (const std::string& text : options.binds) {
    STRATA_TRY_ASSIGN(sandbox::BindMount bind, parse_bind(text, false));
    config.binds.push_back(std::move(bind));
  }
  for (const std::string& text : options.binds_ro) {
    STRATA_TRY_ASSIGN(sandbox::BindMount bind, parse_bind(text, true));
    config.binds.push_back(std::move(bind));
  }
  // A fixed base environment; --env adds to it or replaces an entry. Nothing comes from the
  // caller's environment.
  config.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root",
                "TZ=UTC", "LANG=C.UTF-8", "LC_ALL=C.UTF-8"};
  for (const std::string& entry : options.env) {
    std::string key = entry.substr(0, entry.find('=') + 1);
    std::erase_if(config.env, [&](const std::string& e) { return e.starts_with(key); });
    config.env.push_back(entry);
  }
  config.cwd = options.cwd;
  config.argv = options.argv;
  config.log_path = options.log;
  config.stdin_fd = 0;
  config.limits.timeout_ms = static_cast<int64_t>(std::llround(options.timeout_s * 1000));
  config.limits.max_processes = options.max_processes;
  config.limits.tmpfs_size_bytes = options.tmpfs_size_bytes;
  return config;
}

Result<int> run_sandbox(const SandboxOptions& options) {
  STRATA_TRY_ASSIGN(sandbox::Config config, make_config(options));
  STRATA_TRY_ASSIGN(sandbox::RunResult result, sandbox::run_sandboxed(config));
  switch (result.status) {
    case sandbox::RunResult::Status::kExited:
      return result.exit_code;
    case sandbox::RunResult::Status::kSignaled:
      return 128 + result.signal;  // the shell's convention
    case sandbox::RunResult::Status::kTimedOut:
    case sandbox::RunResult::Status::kCancelled:
      break;
  }
  return Error(ErrorCode::kBuild, fmt::format("{}: {}", options.argv[0], result.describe()));
}

}  // namespace

void register_sandbox(CLI::App& app, Command& run) {
  auto* cmd = app.add_subcommand("sandbox", "Run one command in the build sandbox");
  auto options = std::make_shared<SandboxOptions>();
  // Each repeatable option takes one value per occurrence: CLI11 lets a vector option swallow
  // the words after it, and then `--` only ends that option, so `--env A=1 -- sh -c x` took
  // `-c` for an option of strata's. With one value each, `--` starts the command.
  cmd->add_option("--rootfs", options->rootfs,
                  "Root directory (default: the host's /usr, /bin, /lib*, /sbin read-only)");
  cmd->add_option("--bind", options->binds, "Bind mount SRC:DST[:ro] (read-write unless :ro)")
      ->allow_extra_args(false);
  cmd->add_option("--bind-ro", options->binds_ro, "Read-only bind mount SRC:DST")
      ->allow_extra_args(false);
  cmd->add_option("--timeout", options->timeout_s, "Kill everything after S seconds")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-procs", options->max_processes, "Limit the number of processes")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--env", options->env, "Set K=V in the environment (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--cwd", options->cwd, "Working directory inside (default /)");
  cmd->add_option("--log", options->log, "Also copy stdout and stderr to FILE");
  cmd->add_option("--tmpfs-size", options->tmpfs_size_bytes,
                  "Size limit of /tmp and of HOME, each: bytes or 512M, 2G (default 1G)")
      ->transform(CLI::AsSizeValue(/*kb_is_1000=*/false))
      ->check(CLI::PositiveNumber);
  cmd->add_option("CMD", options->argv, "The command and its arguments, after --")->required();
  cmd->callback([&run, options] { run = [options]() { return run_sandbox(*options); }; });
}

}  // namespace strata::builder::cli
