// `strata policy check IMAGE --policy POLICY.yaml [--key PUB…] [--json]`: judges an image by
// a supply-chain policy over its config, layers, provenance, SBOM and VEX (docs/policy.md).
// Exit 0 every rule passed, 1 a rule failed, 2 a bad policy file or usage.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "builder/cli/commands.h"
#include "builder/cli/format.h"
#include "builder/cli/package_options.h"
#include "builder/cli/platform.h"
#include "builder/cli/policy_output.h"
#include "builder/cli/registry_flags.h"
#include "builder/oci/image_reader.h"
#include "builder/registry/pull.h"

namespace strata::builder::cli {
namespace {

struct PolicyCheckArgs {
  std::string image;
  std::string policy;
  std::vector<std::string> keys;
  std::string cache;
  bool offline = false;
  bool json = false;
  RegistryFlags registry;
};

// A registry image: pulled (verified, into the cache), its referrers fetched as evidence.
Result<policy::ImageEvidence> remote_evidence(const PolicyCheckArgs& args) {
  STRATA_TRY_ASSIGN(specs::RegistryRef ref, specs::parse_registry_ref(args.image));
  STRATA_TRY_ASSIGN(std::string cache_dir, resolve_cache_dir(args.cache));
  RegistrySession session(args.registry);
  STRATA_TRY(resolve_tag(session.client(), ref));
  registry::PullOptions o{.cache_dir = cache_dir, .offline = args.offline};
  o.log = [](const std::string& line) { fmt::print(stderr, "strata: {}\n", line); };
  STRATA_TRY_ASSIGN(
      registry::PulledImage pulled,
      registry::pull_image(&session.client(), ref, {.architecture = host_architecture()}, o));
  STRATA_TRY_ASSIGN(oci::ImageView image,
                    oci::open_image_by_digest(pulled.layout_dir, pulled.manifest));
  image.source = args.image;
  STRATA_TRY_ASSIGN(policy::ImageEvidence evidence, policy::gather_evidence(image, ""));
  evidence.name = ref.repository.substr(ref.repository.rfind('/') + 1);
  STRATA_TRY(add_referrers(session.client(), ref, pulled.manifest, evidence));
  return evidence;
}

Result<policy::ImageEvidence> local_evidence(const std::string& arg) {
  auto [path, tag] = split_tag(arg);
  auto image = oci::open_image(path, tag);
  if (!image.ok()) return Error(ErrorCode::kUsage, image.error().message());
  return policy::gather_evidence(*image, policy::attestation_base(path));
}

Result<int> run_policy_check(const PolicyCheckArgs& args) {
  // The policy and the keys first: a bad file is a usage error found before any work.
  STRATA_TRY_ASSIGN(policy::Policy p, policy::load_policy(args.policy));
  STRATA_TRY_ASSIGN(std::vector<policy::TrustedKey> keys, load_trusted_keys(args.keys));
  policy::ImageEvidence evidence;
  if (specs::has_docker_transport(args.image)) {
    STRATA_TRY_ASSIGN(evidence, remote_evidence(args));
  } else {
    STRATA_TRY_ASSIGN(evidence, local_evidence(args.image));
  }
  STRATA_TRY_ASSIGN(policy::PolicyReport report, policy::evaluate_policy(p, evidence, keys));
  if (args.json) {
    print_json(policy::report_to_json(p, evidence, report));
  } else {
    print_policy_rules(stdout, report);
    print_policy_summary(args.policy, report, evidence.manifest);
  }
  return report.passed() ? 0 : 1;
}

}  // namespace

void register_policy(CLI::App& app, Command& run) {
  auto* cmd = app.add_subcommand("policy", "Judge images by a supply-chain policy");
  cmd->require_subcommand(1);
  auto args = std::make_shared<PolicyCheckArgs>();
  auto* check = cmd->add_subcommand(
      "check",
      "Evaluate a policy (docs/policy.md) over an image's config, layers, provenance, SBOM and "
      "VEX: one line per rule with its evidence; exit 0 all pass, 1 a rule fails, 2 a bad "
      "policy");
  check
      ->add_option("IMAGE", args->image,
                   "An OCI layout or archive (IMAGE[:TAG]; its attestations are the "
                   "NAME.*.json files beside it and its attached artifacts), or "
                   "docker://HOST/REPO[:TAG][@sha256:…] (pulled, with its referrers)")
      ->required();
  check->add_option("--policy", args->policy, "The policy file (apiVersion: strata.dev/policy/v1)")
      ->required();
  check
      ->add_option("--key", args->keys,
                   "A trusted signer's public key (PEM), repeatable: for signedBy and the VEX "
                   "unless the policy names its own keys")
      // One file per --key, so `--key a.pub IMAGE` leaves IMAGE to the positional.
      ->allow_extra_args(false);
  check->add_option("--cache", args->cache,
                    "Cache for a pulled image (default $XDG_CACHE_HOME/strata, else "
                    "~/.cache/strata)");
  check->add_flag("--offline", args->offline, "A docker:// image must already be in the cache");
  check->add_flag("--json", args->json, "Print one JSON object with every rule's result");
  add_registry_flags(check, args->registry);
  check->callback([&run, args] { run = [args] { return run_policy_check(*args); }; });
}

}  // namespace strata::builder::cli
