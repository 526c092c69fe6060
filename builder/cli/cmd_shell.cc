// `strata shell SPEC PACKAGE`: an interactive shell in PACKAGE's build sandbox, with its
// sources unpacked in /build/src and its dependencies built and in place, to debug a build.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <set>

#include "builder/cli/commands.h"
#include "builder/cli/package_options.h"
#include "builder/cli/platform.h"
#include "builder/cli/spec_input.h"
#include "builder/sources/curl_fetcher.h"
#include "specs/parse.h"

namespace strata::builder::cli {
namespace {

struct ShellArgs {
  std::string spec_path;
  std::string context;
  std::string package;
  PackageFlags packages;
  RegistryFlags registry;
};

// The plan restricted to what `target` depends on, transitively, in build order.
specs::Plan dependencies_plan(const specs::Plan& plan, const specs::Package& target) {
  std::set<std::string> needed = build::transitive_dependencies(plan.spec, target);
  specs::Plan out = plan;
  out.package_order.clear();
  for (size_t i : plan.package_order) {
    if (needed.count(plan.spec.packages[i].name)) out.package_order.push_back(i);
  }
  return out;
}

Result<int> run_shell(const ShellArgs& args) {
  STRATA_TRY_ASSIGN(specs::Spec spec,
                    load_build_spec(args.spec_path, args.context, args.packages, args.registry));
  STRATA_TRY_ASSIGN(specs::Plan plan, specs::make_plan(std::move(spec), host_architecture()));
  auto target = std::find_if(plan.spec.packages.begin(), plan.spec.packages.end(),
                             [&](const specs::Package& p) { return p.name == args.package; });
  if (target == plan.spec.packages.end()) {
    std::vector<std::string> names;
    for (const specs::Package& p : plan.spec.packages) names.push_back(p.name);
    return Error(ErrorCode::kUsage,
                 fmt::format("{} has no package '{}' (packages: {})", args.spec_path, args.package,
                             names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", "))));
  }
  STRATA_TRY_ASSIGN(PackageStageOptions options, package_stage_options(args.packages, "/dev/null"));
  STRATA_TRY_ASSIGN(TempDir logs, TempDir::create("/tmp", "strata-shell-logs-"));
  options.log_root = logs.path();
  sources::CurlFetcher fetcher;
  sandbox::NamespaceRunner runner;
  specs::Plan deps = dependencies_plan(plan, *target);
  STRATA_TRY_ASSIGN(PackageStageResult stage,
                    build_spec_packages(deps, options, fetcher, runner,
                                        progress_observer(deps.package_order.size())));
  if (stage.environment.digest.hex.empty()) {
    STRATA_TRY_ASSIGN(stage.environment, prepare_environment(plan.spec, options, &fetcher));
  }
  build::PackageBuildRequest request{.package = &*target,
                                     .epoch = plan.spec.epoch,
                                     .jobs = options.jobs,
                                     .rootfs = stage.environment.rootfs,
                                     .log_dir = logs.path() + "/" + target->name};
  request.env = plan.spec.environment.env;
  for (const auto& [k, v] : target->env) request.env[k] = v;
  auto prepared = prepare_sources(stage.sources);
  for (const specs::Ref& s : target->sources) request.sources.push_back(prepared.at(s.name));
  for (const auto& [name, output] : stage.outputs) request.dependencies.push_back(output);
  STRATA_TRY_ASSIGN(build::OutputStore store, build::OutputStore::open(options.cache_dir));
  STRATA_TRY_ASSIGN(TempDir work, build::prepare_package_work(request, store));
  sandbox::Config config = build::package_sandbox_config(request, work.path(), {"/bin/sh", "-i"});
  config.stdin_fd = STDIN_FILENO;
  // Steps get no TERM (they have no terminal); the shell has the caller's, so editors, less
  // and clear work. Unset or empty means no terminal we know of: "dumb" (docs/package-builds.md).
  const char* term = std::getenv("TERM");
  std::erase_if(config.env, [](const std::string& e) { return e.starts_with("TERM="); });
  config.env.push_back(std::string("TERM=") + (term != nullptr && *term != '\0' ? term : "dumb"));
  fmt::print(stderr,
             "strata shell: package {}: sources in /build/src, DESTDIR=/build/out; the steps:\n",
             target->name);
  for (size_t i = 0; i < target->steps.size(); ++i) {
    fmt::print(stderr, "  {}. {}\n", i + 1, target->steps[i]);
  }
  fmt::print(stderr, "exit to leave (the work directory is discarded)\n");
  STRATA_TRY_ASSIGN(sandbox::RunResult result, runner.run(config));
  return result.status == sandbox::RunResult::Status::kExited ? result.exit_code
                                                              : 128 + result.signal;
}

}  // namespace

void register_shell(CLI::App& app, Command& run) {
  auto args = std::make_shared<ShellArgs>();
  auto* cmd = app.add_subcommand(
      "shell", "Open a shell in a package's build sandbox, sources unpacked, dependencies built");
  cmd->add_option("SPEC", args->spec_path, "The spec file")->required();
  add_context_option(cmd, args->context);
  cmd->add_option("PACKAGE", args->package, "The package whose sandbox to enter")->required();
  add_package_flags(cmd, args->packages, "Cache directory (default $XDG_CACHE_HOME/strata)");
  add_registry_flags(cmd, args->registry);
  cmd->callback([&run, args] { run = [args] { return run_shell(*args); }; });
}

}  // namespace strata::builder::cli
