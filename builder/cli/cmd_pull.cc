// `strata pull REF -o DIR`: a registry image, verified, into the cache and out as an OCI
// layout a spec (or skopeo, umoci, podman) can use, with its referrers as artifacts.
#include <fmt/format.h>
#include <sys/stat.h>

#include "builder/base/fs.h"
#include "builder/cli/commands.h"
#include "builder/cli/package_options.h"
#include "builder/cli/platform.h"
#include "builder/cli/registry_flags.h"
#include "builder/oci/artifact.h"
#include "builder/oci/layout_writer.h"
#include "builder/registry/pull.h"
#include "builder/registry/referrers.h"

namespace strata::builder::cli {
namespace {

struct PullArgs {
  std::string reference;
  std::string output;
  std::string platform;  // OS/ARCH[/VARIANT]; "" = this host's
  std::string cache;
  bool no_referrers = false;
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

// The image's artifacts (provenance, SBOM, signatures) into the layout, listed in index.json
// after the image with their artifactType, as strata build --attach lists its own.
Result<void> add_artifacts(const std::string& dir,
                           const std::vector<registry::ArtifactBlob>& artifacts) {
  if (artifacts.empty()) return Ok{};
  std::vector<oci::Artifact> listed;
  for (const registry::ArtifactBlob& a : artifacts) {
    STRATA_TRY(oci::write_blob(dir, a.config_bytes, a.config.media_type));
    STRATA_TRY(oci::write_blob(dir, a.bytes, a.layer.media_type));
    STRATA_TRY_ASSIGN(oci::Descriptor d,
                      oci::write_blob(dir, a.manifest_bytes, a.manifest_descriptor.media_type));
    listed.push_back({.manifest = std::move(d), .artifact_type = a.artifact_type});
  }
  STRATA_TRY(oci::add_to_index(dir, listed));
  fmt::print(stderr, "{} artifact{} of the image (its referrers) written to {}\n", artifacts.size(),
             artifacts.size() == 1 ? "" : "s", dir);
  return Ok{};
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
  STRATA_TRY(resolve_tag(session.client(), ref));
  registry::PullOptions o{.cache_dir = cache_dir, .verify_diff_ids = true};
  o.log = [](const std::string& line) { fmt::print(stderr, "strata: {}\n", line); };
  STRATA_TRY_ASSIGN(registry::PulledImage image,
                    registry::pull_image(&session.client(), ref, platform, o));
  std::vector<registry::ArtifactBlob> artifacts;
  if (!args.no_referrers) {
    auto warn = [](const std::string& line) { fmt::print(stderr, "warning: {}\n", line); };
    STRATA_TRY_ASSIGN(artifacts,
                      registry::fetch_artifacts(session.client(), ref, image.manifest, warn));
  }
  STRATA_TRY(registry::export_layout(image, o, args.output, ref));
  if (Result<void> added = add_artifacts(args.output, artifacts); !added.ok()) {
    // No half-written layout: the pull is all or nothing.
    (void)remove_tree(args.output);
    return std::move(added).error();
  }
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
      "pull",
      "Pull a registry image (verified, into the cache) and write it as an OCI layout, with "
      "its referrers (provenance, SBOM, signatures) as artifacts");
  cmd->add_option("REF", args->reference, "docker://HOST/REPO[:TAG][@sha256:…]")->required();
  cmd->add_option("-o,--output", args->output, "The OCI layout to write (must not exist)")
      ->required();
  cmd->add_option("--platform", args->platform,
                  "OS/ARCH[/VARIANT] to pick from a multi-platform image (default: this host's)");
  cmd->add_option("--cache", args->cache,
                  "Cache holding pulled blobs (default $XDG_CACHE_HOME/strata, else "
                  "~/.cache/strata)");
  cmd->add_flag("--no-referrers", args->no_referrers,
                "Do not pull the image's artifacts (provenance, SBOM, signatures) into the layout");
  add_registry_flags(cmd, args->registry);
  cmd->callback([&run, args] { run = [args] { return run_pull(*args); }; });
}

}  // namespace strata::builder::cli
