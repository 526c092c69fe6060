// `strata referrers docker://REF[@sha256:…] [--artifact-type T] [--json]`: the artifacts
// (provenance, signatures, SBOMs) a registry holds for an image: the referrers API, else the
// sha256-<hex> tag schema (builder/registry/referrers.h).
#include <fmt/format.h>

#include "builder/cli/commands.h"
#include "builder/cli/format.h"
#include "builder/cli/registry_flags.h"
#include "builder/oci/media_types.h"
#include "builder/registry/pull.h"
#include "builder/registry/referrers.h"
#include "builder/sources/progress.h"

namespace strata::builder::cli {
namespace {

struct ReferrersArgs {
  std::string reference;
  std::string artifact_type;
  bool json = false;
  RegistryFlags registry;
};

Result<int> run_referrers(const ReferrersArgs& args) {
  STRATA_TRY_ASSIGN(specs::RegistryRef ref, specs::parse_registry_ref(args.reference));
  RegistrySession session(args.registry);
  STRATA_TRY(resolve_tag(session.client(), ref));
  STRATA_TRY_ASSIGN(
      registry::ReferrersList list,
      registry::list_referrers(session.client(), ref, *ref.digest, args.artifact_type));
  if (args.json) {
    Json manifests = Json::array();
    for (const registry::Referrer& r : list.referrers) manifests.push_back(r.to_json());
    print_json({{"schemaVersion", 2},
                {"mediaType", oci::kIndexMediaType},
                {"manifests", std::move(manifests)}});
    return 0;
  }
  fmt::print(stderr, "{} referrer{} of docker://{}@{} ({})\n", list.referrers.size(),
             list.referrers.size() == 1 ? "" : "s", ref.name(), ref.digest->str(),
             list.from_api ? "referrers API" : "tag " + registry::referrers_tag(*ref.digest));
  for (const registry::Referrer& r : list.referrers) {
    std::string created = string_member(r.annotations, oci::kCreatedAnnotation);
    fmt::print("{}  {}  {}{}\n", r.manifest.digest.str(),
               r.artifact_type.empty() ? "-" : r.artifact_type,
               sources::human_size(r.manifest.size), created.empty() ? "" : "  " + created);
  }
  return 0;
}

}  // namespace

void register_referrers(CLI::App& app, Command& run) {
  auto args = std::make_shared<ReferrersArgs>();
  auto* cmd = app.add_subcommand(
      "referrers",
      "List the artifacts (provenance, signatures, SBOMs) a registry holds for an image");
  cmd->add_option("REF", args->reference, "docker://HOST/REPO[:TAG][@sha256:…]")->required();
  cmd->add_option("--artifact-type", args->artifact_type,
                  "Only artifacts of this type (e.g. application/spdx+json)");
  cmd->add_flag("--json", args->json, "Print the list as an OCI image index");
  add_registry_flags(cmd, args->registry);
  cmd->callback([&run, args] { run = [args] { return run_referrers(*args); }; });
}

}  // namespace strata::builder::cli
