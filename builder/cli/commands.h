// The strata subcommands. Each register_* adds one CLI11 subcommand whose callback stores
// the work to run in `run`; main() parses, then runs it and turns its Result into an exit code.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

#include "builder/base/result.h"

namespace strata::builder::cli {

// What a subcommand does once its options are parsed: an exit code (0 ok, 1 differs/failed),
// or an Error that main() prints and maps to an exit code.
using Command = std::function<Result<int>()>;

void register_build(CLI::App& app, Command& run);
void register_validate(CLI::App& app, Command& run);
void register_inspect(CLI::App& app, Command& run);
void register_sandbox(CLI::App& app, Command& run);
void register_shell(CLI::App& app, Command& run);
void register_hash(CLI::App& app, Command& run);
void register_pin(CLI::App& app, Command& run);
void register_lock(CLI::App& app, Command& run);
void register_attest(CLI::App& app, Command& run);
void register_keygen(CLI::App& app, Command& run);
void register_diff(CLI::App& app, Command& run);
void register_verify(CLI::App& app, Command& run);
void register_cache(CLI::App& app, Command& run);
void register_pull(CLI::App& app, Command& run);
void register_push(CLI::App& app, Command& run);
void register_referrers(CLI::App& app, Command& run);
void register_policy(CLI::App& app, Command& run);

}  // namespace strata::builder::cli
