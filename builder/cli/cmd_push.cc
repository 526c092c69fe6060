// `strata push IMAGE[:TAG] docker://HOST/REPO[:TAG]`: an image (layout or archive) and its
// attestations to a registry (builder/registry/push.h, docs/registries.md "Push").
#include <fmt/format.h>

#include "builder/cli/commands.h"
#include "builder/cli/format.h"
#include "builder/cli/registry_flags.h"
#include "builder/oci/image_reader.h"
#include "builder/registry/push.h"
#include "builder/sources/progress.h"

namespace strata::builder::cli {
namespace {

struct PushArgs {
  std::string image;
  std::string destination;
  bool no_attestations = false;
  int64_t chunk_size = 0;
  RegistryFlags registry;
};

Result<int> run_push(const PushArgs& args) {
  STRATA_TRY_ASSIGN(specs::RegistryRef dest, specs::parse_registry_ref(args.destination));
  if (dest.digest) {
    return Error(ErrorCode::kUsage,
                 fmt::format("{}: a push destination names a repository and a tag, not a digest "
                             "(the digest is what the push prints)",
                             args.destination));
  }
  auto [path, tag] = split_tag(args.image);
  STRATA_TRY_ASSIGN(oci::ImageView image, oci::open_image(path, tag));
  registry::PushOptions o{.tag = !dest.tag.empty() ? dest.tag : image.ref_name,
                          .chunk_bytes = args.chunk_size};
  auto warn = [](const std::string& line) { fmt::print(stderr, "warning: {}\n", line); };
  o.log = [](const std::string& line) { fmt::print(stderr, "strata: {}\n", line); };
  o.warn = warn;
  if (!args.no_attestations) {
    STRATA_TRY_ASSIGN(o.attestations,
                      registry::attestations_beside(path, image.manifest_descriptor.digest, warn));
  } else {
    o.layout_artifacts = false;
  }
  RegistrySession session(args.registry);
  STRATA_TRY_ASSIGN(registry::PushReport report,
                    registry::push_image(session.client(), image, dest, o));
  std::string referrers;
  if (!report.referrers.empty()) {
    referrers = fmt::format(
        "; {} attestation{} ({})", report.referrers.size(), report.referrers.size() == 1 ? "" : "s",
        report.referrers_api
            ? "referrers API"
            : fmt::format("tag {}", registry::referrers_tag(image.manifest_descriptor.digest)));
  }
  fmt::print(stderr, "pushed {}: {} blob{} uploaded ({}), {} already there, {} mounted{}\n",
             report.pushed.digest.str(), report.uploaded, report.uploaded == 1 ? "" : "s",
             sources::human_size(report.bytes_uploaded), report.skipped, report.mounted, referrers);
  fmt::print("docker://{}@{}\n", dest.name() + (o.tag.empty() ? "" : ":" + o.tag),
             report.pushed.digest.str());
  return 0;
}

}  // namespace

void register_push(CLI::App& app, Command& run) {
  auto args = std::make_shared<PushArgs>();
  auto* cmd = app.add_subcommand(
      "push",
      "Push an image and its attestations (provenance, signature, SBOM as OCI 1.1 referrers) "
      "to a registry; prints docker://HOST/REPO:TAG@DIGEST");
  cmd->add_option("IMAGE", args->image, "The OCI layout or archive (IMAGE[:TAG] picks an image)")
      ->required();
  cmd->add_option("DESTINATION", args->destination,
                  "docker://HOST/REPO[:TAG] (the tag defaults to the image's own)")
      ->required();
  cmd->add_flag("--no-attestations", args->no_attestations,
                "Push the image only, not the provenance and SBOM beside it or in its layout");
  cmd->add_option("--chunk-size", args->chunk_size,
                  "Upload blobs in PATCH chunks of this many bytes (default: one request per "
                  "blob, in chunks only when the registry refuses that)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  add_registry_flags(cmd, args->registry);
  cmd->callback([&run, args] { run = [args] { return run_push(*args); }; });
}

}  // namespace strata::builder::cli
