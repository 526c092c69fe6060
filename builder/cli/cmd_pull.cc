// `strata pull REF -o DIR`: a registry image, verified, into the cache and out as an OCI
// layout a spec (or skopeo, umoci, podman) can use.
#include <fmt/format.h>
#include <sys/stat.h>

#include "builder/cli/commands.h"
#include "builder/cli/package_options.h"
#include "builder/cli/platform.h"
#include "builder/cli/registry_flags.h"
#include "builder/registry/pull.h"

namespace strata::builder::cli {
namespace {

struct PullArgs {
  std::string reference;
  std::string output;
  std::string platform;  // OS/ARCH[/VARIANT]; "" = this host's
  std::string cache;
  RegistryFlags registry;
};

Result<registry::Platform> parse_platform(const std::string& text) {
  registry::Platform p{.architecture = host_architecture()};
  if (text.empty()) return p;
  size_t a = text.find('/');
  if (a == std::string::npos || a == 0 || a + 1 == text.size()) {
    return Error(ErrorCode::kUsage,
                 fmt::format("--platform '{}' is not OS/ARCH[/VARIANT] like linux/arm64", text));
  }
  p.os = text.substr(0, a);
  std::string rest = text.substr(a + 1);
  size_t v = rest.find('/');
  p.architecture = rest.substr(0, v);
  if (v != std::string::npos) p.variant = rest.substr(v + 1);
  return p;
}

Result<int> run_pull(const PullArgs& args) {
  STRATA_TRY_ASSIGN(specs::RegistryRef ref, specs::parse_registry_ref(args.reference));
  STRATA_TRY_ASSIGN(registry::Platform platform, parse_platform(args.platform));
  struct stat st;
  if (::lstat(args.output.c_str(), &st) == 0) {
    return Error(ErrorCode::kUsage, fmt::format("-o {}: already exists", args.output));
  }
  STRATA_TRY_ASSIGN(std::string cache_dir, resolve_cache_dir(args.cache));
  RegistrySession session(args.registry);
  if (!ref.digest) {
    // A tag (podman's default: latest) is resolved once, by the bytes strata hashes itself.
    if (ref.tag.empty()) ref.tag = "latest";
    STRATA_TRY_ASSIGN(registry::FetchedManifest m,
                      registry::fetch_manifest(session.client(), ref, ref.tag));
    ref.digest = m.digest;
    fmt::print(stderr, "resolved docker://{}:{} to {}\n", ref.name(), ref.tag, m.digest.str());
  }
  registry::PullOptions o{.cache_dir = cache_dir};
  o.log = [](const std::string& line) { fmt::print(stderr, "strata: {}\n", line); };
  STRATA_TRY_ASSIGN(registry::PulledImage image,
                    registry::pull_image(&session.client(), ref, platform, o));
  STRATA_TRY(registry::export_layout(image, o, args.output, ref));
  fmt::print(stderr, "image {} ({}) written to {}\n", image.manifest.str(), platform.str(),
             args.output);
  // What a spec pins: the index when there is one, so each platform picks its own image.
  fmt::print("docker://{}@{}\n", ref.name() + (ref.tag.empty() ? "" : ":" + ref.tag),
             ref.digest->str());
  return 0;
}

}  // namespace

void register_pull(CLI::App& app, Command& run) {
  auto args = std::make_shared<PullArgs>();
  auto* cmd = app.add_subcommand(
      "pull", "Pull a registry image (verified, into the cache) and write it as an OCI layout");
  cmd->add_option("REF", args->reference, "docker://HOST/REPO[:TAG][@sha256:…]")->required();
  cmd->add_option("-o,--output", args->output, "The OCI layout to write (must not exist)")
      ->required();
  cmd->add_option("--platform", args->platform,
                  "OS/ARCH[/VARIANT] to pick from a multi-platform image (default: this host's)");
  cmd->add_option("--cache", args->cache,
                  "Cache holding pulled blobs (default $XDG_CACHE_HOME/strata, else "
                  "~/.cache/strata)");
  add_registry_flags(cmd, args->registry);
  cmd->callback([&run, args] { run = [args] { return run_pull(*args); }; });
}

}  // namespace strata::builder::cli
