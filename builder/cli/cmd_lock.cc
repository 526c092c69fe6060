// `strata lock SPEC [--update [NAME]...]`: resolve the spec's `debs:` layers (and a `rootfs:
// debs` environment's packages) against its verified Debian repositories and write
// strata.lock beside the spec
// (docs/debian-packages.md). Without --update the versions an existing lock holds are kept
// where the repositories still have them; --update alone re-resolves every package, with
// names only those.
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "builder/base/fs.h"
#include "builder/cli/commands.h"
#include "builder/cli/lock_state.h"
#include "builder/cli/package_options.h"
#include "builder/cli/platform.h"
#include "builder/debian/lock.h"
#include "builder/sources/curl_fetcher.h"
#include "specs/parse.h"
#include "specs/plan.h"

namespace strata::builder::cli {
namespace {

struct LockArgs {
  std::string spec;
  std::string cache;
  std::vector<std::string> update;
  bool update_given = false;
  bool check = false;
};

Result<int> run_lock(const LockArgs& args) {
  STRATA_TRY_ASSIGN(specs::Spec spec, specs::load_spec(args.spec));
  STRATA_TRY_ASSIGN(specs::Plan plan, specs::make_plan(std::move(spec), host_architecture()));
  const specs::Spec& s = plan.spec;
  if (s.debian.repositories.empty()) {
    return Error(
        ErrorCode::kUsage,
        fmt::format("{}: the spec has no 'debian:' section; there is nothing to lock", args.spec));
  }
  STRATA_TRY_ASSIGN(std::string cache_dir, resolve_cache_dir(args.cache));
  sources::CurlFetcher fetcher;
  STRATA_TRY_ASSIGN(LockState state, relock(s, cache_dir, fetcher, args.update,
                                            args.update_given && args.update.empty()));
  const std::string& path = state.path;
  if (state.current()) {
    fmt::print("{}: up to date ({} packages)\n", path, state.packages);
    return 0;
  }
  if (args.check) {
    fmt::print("{}: stale; run `strata lock {}`\n", path, args.spec);
    return 1;
  }
  STRATA_TRY(write_file_atomic(path, state.text));
  fmt::print("{}: {} packages locked\n", path, state.packages);
  return 0;
}

}  // namespace

void register_lock(CLI::App& app, Command& run) {
  auto* cmd = app.add_subcommand(
      "lock", "Resolve the spec's debs from its verified Debian repositories into strata.lock");
  auto args = std::make_shared<LockArgs>();
  cmd->add_option("SPEC", args->spec, "The spec file (strata/v1 YAML)")->required();
  auto* update = cmd->add_option("--update", args->update,
                                 "Re-resolve these locked packages to the newest versions the "
                                 "repositories have; with no NAME, every package")
                     ->type_name("NAME")
                     ->expected(0, -1);
  cmd->add_flag("--check", args->check,
                "Write nothing; exit 1 when the lock would change (for CI)");
  cmd->add_option("--cache", args->cache,
                  "Cache directory for scratch files (default: $XDG_CACHE_HOME/strata, else "
                  "~/.cache/strata)");
  cmd->footer(
      "Each repository's InRelease (or Release and Release.gpg) is verified with gpgv against "
      "its keyring, each Packages index against the signed Release file, and the debs of every "
      "layer are resolved with their Pre-Depends and Depends; so are environment.debs, with "
      "the repositories' Essential packages, into the lock's environment section (rootfs: "
      "debs). The lock is written beside the spec; `strata build` uses only it. Write SPEC "
      "before --update NAME....\n"
      "Exit status: 0 when the lock is written or current, 1 with --check when it would "
      "change (or a repository fails verification), 2 on a spec or usage error.");
  cmd->callback([&run, args, update] {
    args->update_given = update->count() > 0;
    // CLI11 gives a bare --update one empty value.
    std::erase(args->update, std::string());
    run = [args]() { return run_lock(*args); };
  });
}

}  // namespace strata::builder::cli
