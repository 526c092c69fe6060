// strata's entry point: parses the command line, runs one subcommand, prints its error if
// any and picks the exit code. The only place that prints errors or exits (docs/style.md §3).
#include <fmt/format.h>

#include <cstdio>
#include <string_view>

#include "builder/base/fs.h"
#include "builder/base/interrupt.h"
#include "builder/cli/commands.h"
#include "builder/cli/progress.h"
#include "specs/diagnostics.h"

int main(int argc, char** argv) {
  using namespace strata::builder::cli;
  CLI::App app{"strata: hermetic, reproducible OCI image builder", "strata"};
  app.require_subcommand(1);
  app.set_version_flag("--version", STRATA_VERSION);
  Command run;
  // Registering a subcommand builds all its CLI11 options and validators; for the 17 of them
  // that was a fifth of `strata sandbox`'s start-up (docs/startup.md). Only the subcommand
  // named first on the command line is registered; with none or an unknown one (--help,
  // --version, a typo) all are, so help and errors are as before.
  struct Subcommand {
    std::string_view name;
    void (*add)(CLI::App&, Command&);
  };
  static constexpr Subcommand kSubcommands[] = {
      {"build", register_build},     {"validate", register_validate},
      {"inspect", register_inspect}, {"sandbox", register_sandbox},
      {"shell", register_shell},     {"hash", register_hash},
      {"pin", register_pin},         {"lock", register_lock},
      {"attest", register_attest},   {"keygen", register_keygen},
      {"diff", register_diff},       {"verify", register_verify},
      {"cache", register_cache},     {"pull", register_pull},
      {"push", register_push},       {"referrers", register_referrers},
      {"policy", register_policy},
  };
  const Subcommand* named = nullptr;
  for (int i = 1; i < argc && named == nullptr; ++i) {
    std::string_view arg = argv[i];
    if (arg.starts_with('-')) continue;  // strata's own options take no values
    for (const Subcommand& s : kSubcommands) {
      if (s.name == arg) named = &s;
    }
    break;
  }
  if (named != nullptr) {
    named->add(app, run);
  } else {
    for (const Subcommand& s : kSubcommands) s.add(app, run);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    // CLI11 exits 0 for --help/--version; every other usage error is exit code 2.
    return code == 0 ? 0 : 2;
  }
  strata::Result<int> result = run();
  // A progress frame still on the terminal (a failed build's running packages) is erased
  // first, so the error starts on a clean line.
  clear_progress();
  if (!result.ok() && strata::is_interrupted()) {
    // SIGINT/SIGTERM during a build (cmd_build.cc installs the handlers): the error path has
    // removed the temporaries by now. End as the signal would have, so callers see it.
    std::fflush(stdout);
    fmt::print(stderr, "strata: error: {}; the build was stopped and its temporaries removed\n",
               strata::check_interrupted().error().message());
    strata::reraise_interrupt();
  }
  if (!result.ok()) {
    const strata::Error& error = result.error();
    std::fflush(stdout);
    if (error.loc()) {
      // Errors found after parsing (e.g. by the layer stage) are shown like the parser's:
      // location, the spec line and a caret.
      auto source = strata::read_file(error.loc()->file);
      fmt::print(stderr, "{}\n",
                 strata::specs::format_diagnostic({*error.loc(), error.message()},
                                                  source.ok() ? *source : std::string()));
    } else if (error.code() == strata::ErrorCode::kSpec) {
      // Spec reports are already "file:line:col: error: ..." lines, one per problem. Usage
      // errors (kUsage) are not, and take the prefix below.
      fmt::print(stderr, "{}\n", error.to_string());
    } else {
      fmt::print(stderr, "strata: error: {}\n", error.to_string());
    }
    return strata::exit_code_for(error.code());
  }
  return *result;
}
