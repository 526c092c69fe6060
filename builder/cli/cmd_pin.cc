// `strata pin SPEC [--source NAME]... [--check]`: fetch every url source, hash every local
// one, open every local image, and write the digests they have into the spec in place
// (specs/pins.h), touching nothing else in the file. --check writes nothing and exits 1 when
// a pin is stale or missing, for CI, and reports a stale strata.lock (cli/lock_state.h).
#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "builder/base/fs.h"
#include "builder/base/path.h"
#include "builder/cli/commands.h"
#include "builder/cli/lock_state.h"
#include "builder/cli/package_options.h"
#include "builder/cli/platform.h"
#include "builder/cli/registry_flags.h"
#include "builder/oci/pinned_image.h"
#include "builder/sources/curl_fetcher.h"
#include "builder/sources/path_source.h"
#include "builder/sources/store.h"
#include "specs/inputs.h"
#include "specs/parse.h"
#include "specs/pins.h"
#include "specs/plan.h"

namespace strata::builder::cli {
namespace {

struct PinArgs {
  std::string spec;
  std::string context;
  std::string cache;
  std::vector<std::string> only;  // --source NAME
  bool check = false;
  RegistryFlags registry;
};

// The digest a registry image's tag names now: its index or manifest, hashed by strata (the
// Docker-Content-Digest header is not trusted). The client is made on first use.
Result<Digest> registry_digest(const specs::ImageRef& ref, const std::string& site,
                               const RegistryFlags& flags,
                               std::unique_ptr<RegistrySession>& session) {
  const specs::RegistryRef& r = *ref.registry;
  if (r.tag.empty()) {
    return Error(ErrorCode::kUsage,
                 fmt::format("{} docker://{}: no tag to resolve (write docker://{}:TAG@…; the "
                             "tag is what strata pin follows)",
                             site, r.str(), r.name()));
  }
  if (!session) session = std::make_unique<RegistrySession>(flags);
  STRATA_TRY_ASSIGN(registry::FetchedManifest m,
                    registry::fetch_manifest(session->client(), r, r.tag));
  return m.digest;
}

std::string where(const Loc& loc) {
  return fmt::format("{}:{}:{}", loc.file, loc.line, loc.column);
}

// The digest a site's input has now; `source` is the site's source (null for an image).
Result<Digest> current_digest(const specs::PinSite& site, const specs::Source* source,
                              const specs::Spec& spec, const sources::SourceStore& store,
                              sources::Fetcher& fetcher, const PinArgs& args,
                              std::unique_ptr<RegistrySession>& session) {
  if (site.kind == specs::PinSite::Kind::kImage) {
    const specs::ImageRef& ref =
        site.name == "image.base" ? *spec.image.base : *spec.environment.image;
    if (ref.registry) return registry_digest(ref, site.name, args.registry, session);
    std::string path = oci::resolve_image_path(ref, spec.dir);
    STRATA_TRY_ASSIGN_CONTEXT(oci::ImageView view, oci::open_image(path),
                              fmt::format("{} {}", site.name, ref.path));
    return view.manifest_descriptor.digest;
  }
  STRATA_CHECK(source != nullptr);
  if (!source->url.empty()) return store.fetch_unpinned(*source, fetcher);
  std::string host = source->path;
  if (!host.starts_with('/')) {
    STRATA_TRY_ASSIGN_CONTEXT(host, specs::resolve_local_input(spec, source->path),
                              fmt::format("source '{}'", source->name));
  }
  STRATA_TRY_ASSIGN_CONTEXT(Digest digest, sources::path_digest(host),
                            fmt::format("source '{}' (path {})", source->name, source->path));
  return digest;
}

std::string describe(const specs::PinSite& site) {
  return site.kind == specs::PinSite::Kind::kSource ? fmt::format("source '{}'", site.name)
                                                    : site.name;
}

// Writes `text` over the spec (its target, when the spec path is a symlink) with its mode.
Result<void> rewrite_spec(const std::string& path, const std::string& text) {
  char* real = ::realpath(path.c_str(), nullptr);
  if (real == nullptr) return Error::sys("resolve " + path, errno);
  std::string target(real);
  std::free(real);
  struct stat st;
  if (::stat(target.c_str(), &st) != 0) return Error::sys("stat " + target, errno);
  return write_file_atomic(target, text, static_cast<int>(st.st_mode & 07777));
}

Result<int> run_pin(const PinArgs& args) {
  STRATA_TRY_ASSIGN(std::string text, specs::read_spec_text(args.spec));
  STRATA_TRY_ASSIGN(specs::Spec spec,
                    specs::parse_spec(text, args.spec, dirname_of(args.spec),
                                      {.context = args.context, .allow_unpinned = true}));
  STRATA_TRY_ASSIGN(std::vector<specs::PinSite> sites, specs::find_pin_sites(text, args.spec));

  std::set<std::string> known;
  for (const specs::PinSite& site : sites) known.insert(site.name);
  for (const std::string& name : args.only) {
    if (!known.contains(name)) {
      std::vector<std::string> names(known.begin(), known.end());
      return Error(ErrorCode::kUsage,
                   fmt::format("--source {}: {} has no such pin (it has: {})", name, args.spec,
                               names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", "))));
    }
  }
  auto selected = [&](const specs::PinSite& site) {
    return args.only.empty() ||
           std::find(args.only.begin(), args.only.end(), site.name) != args.only.end();
  };

  PackageFlags flags{.cache = args.cache};
  STRATA_TRY_ASSIGN(PackageStageOptions options, package_stage_options(flags, ""));
  sources::SourceStore store({.cache_dir = options.cache_dir, .fetch = options.fetch});
  sources::CurlFetcher fetcher;
  std::unique_ptr<RegistrySession> session;

  std::vector<specs::PinEdit> edits;
  for (const specs::PinSite& site : sites) {
    if (!selected(site)) continue;
    const specs::Source* source = nullptr;
    if (site.kind == specs::PinSite::Kind::kSource) {
      auto it = std::find_if(spec.sources.begin(), spec.sources.end(),
                             [&](const specs::Source& s) { return s.name == site.name; });
      if (it != spec.sources.end()) source = &*it;
    }
    bool content_pinned = source != nullptr && site.pinned.hex.empty() && !source->path.empty();
    if (content_pinned && args.only.empty()) {
      // A path beside the spec may stay unpinned (docs/spec.md): name it to write its pin.
      fmt::print(
          "{}: {}: no sha256, pinned by its contents at build time (left so; pin it "
          "with --source {})\n",
          where(site.loc), describe(site), site.name);
      continue;
    }
    STRATA_TRY_ASSIGN(Digest now,
                      current_digest(site, source, spec, store, fetcher, args, session));
    if (site.pinned == now) {
      fmt::print("{}: {}: {} ok\n", where(site.loc), describe(site), now.str());
      continue;
    }
    if (site.pinned.hex.empty()) {
      fmt::print("{}: {}: unpinned, now {}\n", where(site.loc), describe(site), now.str());
    } else {
      fmt::print("{}: {}: stale: pinned {}, now {}\n", where(site.loc), describe(site),
                 site.pinned.str(), now.str());
    }
    edits.push_back({&site, now});
  }

  // The lock is a pin too: of every .deb the spec's debs resolve to. pin reports it and
  // leaves writing it to `strata lock`, which resolves.
  bool lock_stale = false;
  if (!spec.debian.repositories.empty() && args.only.empty()) {
    STRATA_TRY_ASSIGN(specs::Plan plan, specs::make_plan(specs::Spec(spec), host_architecture()));
    STRATA_TRY_ASSIGN(LockState lock, relock(plan.spec, options.cache_dir, fetcher, {}, false));
    lock_stale = !lock.current();
    if (!lock_stale) {
      fmt::print("{}: {} packages ok\n", lock.path, lock.packages);
    } else {
      fmt::print("{}: {}; run `strata lock {}`\n", lock.path,
                 lock.old_text ? "stale: the spec's debs or its repositories changed" : "missing",
                 args.spec);
    }
  }

  if (edits.empty() && !lock_stale) {
    fmt::print("{}: every pin is current\n", args.spec);
    return 0;
  }
  if (args.check) {
    if (!edits.empty()) {
      fmt::print("{}: {} pin{} to update; run `strata pin {}`\n", args.spec, edits.size(),
                 edits.size() == 1 ? "" : "s", args.spec);
    }
    return 1;
  }
  if (edits.empty()) return 0;
  std::string updated = specs::apply_pin_edits(text, edits);
  // The rewritten text must say what pin found, and otherwise what it said: parse it again
  // (without allow_unpinned: every selected pin is written now) before replacing the file.
  STRATA_TRY_ASSIGN_CONTEXT(
      specs::Spec check,
      specs::parse_spec(updated, args.spec, dirname_of(args.spec),
                        {.context = args.context, .allow_unpinned = !args.only.empty()}),
      "the rewritten spec does not parse (a bug in strata pin; the file is unchanged)");
  (void)check;
  STRATA_TRY(rewrite_spec(args.spec, updated));
  fmt::print("{}: {} pin{} written\n", args.spec, edits.size(), edits.size() == 1 ? "" : "s");
  return 0;
}

}  // namespace

void register_pin(CLI::App& app, Command& run) {
  auto* cmd = app.add_subcommand(
      "pin", "Write the digests a spec's sources and local images have now into the spec");
  auto args = std::make_shared<PinArgs>();
  cmd->add_option("SPEC", args->spec, "The spec file (strata/v1 YAML)")->required();
  cmd->add_option("--source", args->only,
                  "Pin only NAME (a source, image.base or environment.image); repeatable. A "
                  "path source beside the spec gets a sha256 only when named")
      ->type_name("NAME");
  cmd->add_flag("--check", args->check,
                "Write nothing; exit 1 when a pin is stale or missing (for CI)");
  cmd->add_option("--cache", args->cache,
                  "Cache directory fetched sources are stored in (default: "
                  "$XDG_CACHE_HOME/strata, else ~/.cache/strata)");
  add_context_option(cmd, args->context);
  add_registry_flags(cmd, args->registry);
  cmd->footer(
      "Every url source is fetched (whatever it pins: what the URL serves now is the "
      "question), every path source with a sha256 is hashed, every local image is opened "
      "(its layout must hold one image), every docker:// image's tag is resolved (to its "
      "index for a multi-platform image). Only the digests change in the file: comments, "
      "quoting and layout stay byte for byte; a missing sha256 is added after the url/path.\n"
      "With a 'debian:' section (and no --source), strata.lock is checked too: it is stale "
      "when `strata lock` would write another one (the spec's debs changed, or a locked "
      "version left its repository); pin reports it and `strata lock` rewrites it.\n"
      "Exit status: 0 when every pin is current or has been written, 1 with --check when a "
      "pin or the lock is stale or missing (or a fetch failed), 2 on a spec or usage error.");
  cmd->callback([&run, args] { run = [args]() { return run_pin(*args); }; });
}

}  // namespace strata::builder::cli
