// `strata lock SPEC [--update [NAME]...]`: resolve the spec's `debs:` layers against its
// verified Debian repositories and write strata.lock beside the spec
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
  std::string path = debian::lock_path(s);
  std::optional<std::string> old_text;
  debian::LockOptions options{.cache_dir = cache_dir};
  if (Result<std::string> text = read_file_limited(path, 64 << 20); text.ok()) {
    old_text = *text;
    if (Result<debian::Lock> old = debian::parse_lock(*text, path); old.ok()) {
      options.previous = *std::move(old);
    }
  }
  for (const std::string& name : args.update) {
    bool locked = options.previous &&
                  std::any_of(options.previous->packages.begin(), options.previous->packages.end(),
                              [&](const debian::LockedPackage& p) { return p.name == name; });
    if (!locked) {
      return Error(ErrorCode::kUsage,
                   fmt::format("--update {}: {} holds no package '{}'", name, path, name));
    }
  }
  options.update_all = args.update_given && args.update.empty();
  options.update.insert(args.update.begin(), args.update.end());
  sources::CurlFetcher fetcher;
  options.fetcher = &fetcher;
  STRATA_TRY_ASSIGN(debian::Lock lock, debian::make_lock(s, options));
  std::string text = debian::render_lock(lock);
  if (old_text && *old_text == text) {
    fmt::print("{}: up to date ({} packages)\n", path, lock.packages.size());
    return 0;
  }
  if (args.check) {
    fmt::print("{}: stale; run `strata lock {}`\n", path, args.spec);
    return 1;
  }
  STRATA_TRY(write_file_atomic(path, text));
  fmt::print("{}: {} packages locked\n", path, lock.packages.size());
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
      "layer are resolved with their Pre-Depends and Depends. The lock is written beside the "
      "spec; `strata build` uses only it. Write SPEC before --update NAME....\n"
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
