// `strata verify IMAGE --provenance P [--key PUB] [--spec SPEC] [--vsa FILE] [--policy P]`:
// checks the signature, subject, spec and inputs, rebuilds from the recorded inputs and
// compares (see builder/verify/verify.h, docs/verify.md); with --policy also judges the image
// by a supply-chain policy, the rebuild's result included (docs/policy.md). Exit 0
// reproduced (and every rule passed), 1 a check or rule failed, 2 usage or a bad policy.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <limits.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>

#include "attest/dsse.h"
#include "attest/vsa.h"
#include "builder/base/fs.h"
#include "builder/cli/commands.h"
#include "builder/cli/format.h"
#include "builder/cli/keys.h"
#include "builder/cli/package_options.h"
#include "builder/cli/platform.h"
#include "builder/cli/policy_output.h"
#include "builder/cli/registry_flags.h"
#include "builder/cli/self_digest.h"
#include "builder/oci/artifact.h"
#include "builder/registry/referrers.h"
#include "builder/sources/curl_fetcher.h"
#include "builder/verify/verify.h"

namespace strata::builder::cli {
namespace {

struct VerifyArgs {
  std::string image;
  std::string provenance;
  std::string key;
  std::string spec;
  std::string context;
  std::string vsa;
  std::string sign_key;
  std::string resource_uri;
  std::string policy;
  PackageFlags packages;
  RegistryFlags registry;
  bool json = false;
};

std::string absolute_uri(const std::string& path) {
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) == nullptr) return "file:" + path;
  return std::string("file://") + resolved;
}

// The VSA as a plain statement, or signed as a DSSE envelope with --sign-key.
// With --policy the VSA names that policy (its file URI and digest) and passes only when the
// policy passed too.
struct PolicyOutcome {
  policy::Policy policy;
  policy::ImageEvidence evidence;
  policy::PolicyReport report;
};

Result<void> write_vsa(const VerifyArgs& args, const std::string& image,
                       const std::string& provenance, const std::string& resource_uri,
                       const VerifyReport& report, const std::optional<PolicyOutcome>& judged,
                       const std::optional<attest::PrivateKey>& sign_key) {
  const attest::ImageProvenance& p = *report.provenance;
  attest::VsaInputs in{.subject_name = p.subject_name,
                       .subject = p.subject,
                       .resource_uri = resource_uri.empty() ? absolute_uri(image) : resource_uri,
                       .strata_version = STRATA_VERSION,
                       .time_verified = static_cast<int64_t>(std::time(nullptr)),
                       .passed = report.passed() && (!judged || judged->report.passed()),
                       .input_attestations = {{provenance, report.provenance_sha256}}};
  if (judged) {
    in.policy_uri = absolute_uri(args.policy);
    in.policy_sha256 = judged->policy.sha256;
  }
  STRATA_TRY_ASSIGN(std::string statement, canonical_json(attest::make_vsa(in)));
  std::string text = statement;
  if (sign_key) {
    STRATA_TRY_ASSIGN(text,
                      attest::sign_envelope(attest::kInTotoPayloadType, statement, *sign_key));
  }
  return write_file_atomic(args.vsa, text);
}

Json report_json(const VerifyReport& report, const std::optional<PolicyOutcome>& judged) {
  Json checks = Json::array();
  for (const VerifyCheck& c : report.checks) {
    checks.push_back({{"name", c.name}, {"passed", c.passed}, {"detail", c.detail}});
  }
  Json out = {{"reproduced", report.passed()}, {"checks", std::move(checks)}};
  if (report.provenance) out["subject"] = report.provenance->subject.str();
  if (report.rebuilt) out["rebuilt"] = report.rebuilt->str();
  if (report.diff) out["diff"] = diff::diff_to_json(*report.diff);
  if (judged)
    out["policy"] = policy::report_to_json(judged->policy, judged->evidence, judged->report);
  return out;
}

void print_verify_check(const VerifyCheck& c) {
  fmt::print(stderr, "{} {}: {}\n", c.passed ? "ok  " : "FAIL", c.name, c.detail);
}

// The human result: the diff when the rebuild differs, then one line on stdout.
void print_result(const VerifyReport& report) {
  if (report.passed()) {
    fmt::print("reproduced {}\n", report.rebuilt->str());
    return;
  }
  if (report.diff && !report.diff->is_same()) fmt::print("{}", diff::format_diff(*report.diff));
  const VerifyCheck& failed = report.checks.back();
  if (report.different_builder && report.diff) {
    fmt::print(stderr, "note: the rebuild used {}\n", *report.different_builder);
  }
  fmt::print("not reproduced: {} check failed\n", failed.name);
}

// A registry image to verify (docker://REF@sha256:…): the image pulled (verified, into the
// cache) and its provenance fetched from its referrers into `scratch`, so the rest of
// verify sees a local layout and a provenance file as for a local image.
struct RemoteImage {
  std::string layout_dir;
  std::string provenance_path;
  std::string resource_uri;
};

Result<RemoteImage> fetch_remote(const VerifyArgs& args, const std::string& cache_dir,
                                 bool prefer_envelope, const std::string& scratch) {
  STRATA_TRY_ASSIGN(specs::RegistryRef ref, specs::parse_registry_ref(args.image));
  RegistrySession session(args.registry);
  STRATA_TRY(resolve_tag(session.client(), ref));
  registry::PullOptions o{.cache_dir = cache_dir, .offline = args.packages.offline};
  o.log = [](const std::string& line) { fmt::print(stderr, "strata: {}\n", line); };
  STRATA_TRY_ASSIGN(
      registry::PulledImage image,
      registry::pull_image(&session.client(), ref, {.architecture = host_architecture()}, o));
  RemoteImage out{.layout_dir = image.layout_dir,
                  .provenance_path = args.provenance,
                  .resource_uri = "docker://" + ref.str()};
  if (out.provenance_path.empty()) {
    STRATA_TRY_ASSIGN(
        registry::ArtifactBlob p,
        registry::fetch_provenance(session.client(), ref, image.manifest, prefer_envelope));
    bool envelope = p.artifact_type == oci::kProvenanceDsseType;
    out.provenance_path = scratch + (envelope ? "/provenance.dsse.json" : "/provenance.json");
    STRATA_TRY(write_file_atomic(out.provenance_path, p.bytes));
    fmt::print(stderr, "provenance: {} from the referrers of {}\n", p.artifact_type,
               image.manifest.str());
  }
  return out;
}

// The policy judged on the verified image: its evidence (the files beside a local layout,
// the referrers of a registry image, the provenance verify read) and the rebuild's outcome.
Result<PolicyOutcome> judge(const VerifyArgs& args, policy::Policy p, const std::string& image_path,
                            const std::string& provenance_path, const VerifyReport& report) {
  STRATA_TRY_ASSIGN(oci::ImageView image,
                    oci::open_image_by_digest(image_path, report.provenance->subject));
  image.source = args.image;
  bool remote = specs::has_docker_transport(args.image);
  STRATA_TRY_ASSIGN(
      policy::ImageEvidence evidence,
      policy::gather_evidence(image, remote ? "" : policy::attestation_base(image_path)));
  if (remote) {
    STRATA_TRY_ASSIGN(specs::RegistryRef ref, specs::parse_registry_ref(args.image));
    RegistrySession session(args.registry);
    STRATA_TRY(resolve_tag(session.client(), ref));
    STRATA_TRY(add_referrers(session.client(), ref, image.manifest_descriptor.digest, evidence));
  }
  STRATA_TRY_ASSIGN(std::string bytes, read_file(provenance_path));
  bool envelope = bytes.find("\"payloadType\"") != std::string::npos;
  policy::add_attestation(evidence, {policy::AttestationKind::kProvenance, envelope,
                                     provenance_path, std::move(bytes)});
  evidence.reproduced = report.passed();
  evidence.reproduced_detail =
      report.passed() ? fmt::format("reproduced {}", report.rebuilt->str())
                      : fmt::format("not reproduced: the {} check failed",
                                    report.checks.empty() ? "first" : report.checks.back().name);
  std::vector<std::string> key_paths;
  if (!args.key.empty()) key_paths.push_back(args.key);
  STRATA_TRY_ASSIGN(std::vector<policy::TrustedKey> keys, load_trusted_keys(key_paths));
  STRATA_TRY_ASSIGN(policy::PolicyReport judged, policy::evaluate_policy(p, evidence, keys));
  return PolicyOutcome{std::move(p), std::move(evidence), std::move(judged)};
}

Result<int> run_verify(const VerifyArgs& args) {
  // The policy and the keys first: a bad file is a usage error found before any work.
  std::optional<policy::Policy> policy_file;
  if (!args.policy.empty()) {
    STRATA_TRY_ASSIGN(policy_file, policy::load_policy(args.policy));
  }
  std::optional<attest::PublicKey> key;
  if (!args.key.empty()) {
    STRATA_TRY_ASSIGN(key, load_public_key("--key", args.key));
  }
  std::optional<attest::PrivateKey> sign_key;
  if (!args.sign_key.empty()) {
    STRATA_TRY_ASSIGN(sign_key, load_private_key("--sign-key", args.sign_key));
  }
  if (!args.sign_key.empty() && args.vsa.empty()) {
    return Error(ErrorCode::kUsage, "--sign-key signs the VSA: it needs --vsa FILE");
  }
  STRATA_TRY_ASSIGN(PackageStageOptions packages, package_stage_options(args.packages, ""));
  packages.log_root = packages.cache_dir + "/logs/verify";
  const char* tmpdir = std::getenv("TMPDIR");
  std::string scratch_root = tmpdir && *tmpdir ? tmpdir : "/tmp";
  std::string image_path = args.image;
  std::string provenance_path = args.provenance;
  std::string resource_uri = args.resource_uri;
  std::optional<TempDir> fetched;
  if (specs::has_docker_transport(args.image)) {
    STRATA_TRY_ASSIGN(fetched, TempDir::create(scratch_root, "strata-verify-"));
    STRATA_TRY_ASSIGN(RemoteImage remote,
                      fetch_remote(args, packages.cache_dir, key.has_value(), fetched->path()));
    image_path = remote.layout_dir;
    provenance_path = remote.provenance_path;
    if (resource_uri.empty()) resource_uri = remote.resource_uri;
  } else if (provenance_path.empty()) {
    return Error(ErrorCode::kUsage,
                 "--provenance is required for a local image (a docker:// image's provenance "
                 "is found among its referrers)");
  }
  sources::CurlFetcher fetcher;
  sandbox::NamespaceRunner runner;
  VerifyOptions options{.image = image_path,
                        .provenance_path = provenance_path,
                        .key = std::move(key),
                        .spec_path = args.spec,
                        .context = args.context,
                        .strata_version = STRATA_VERSION,
                        .host_architecture = host_architecture(),
                        .scratch_dir = scratch_root,
                        .packages = std::move(packages),
                        .fetcher = &fetcher,
                        .runner = &runner,
                        .make_observer = progress_observer};
  options.pull_images = [&args, cache = options.packages.cache_dir](specs::Spec& spec) {
    return pull_spec_images(spec, args.registry, cache, args.packages.offline);
  };
  STRATA_TRY_ASSIGN(options.strata_sha256, own_digest(options.packages.cache_dir));
  if (!args.json) options.on_check = print_verify_check;
  STRATA_TRY_ASSIGN(VerifyReport report, verify_image(options));
  std::optional<PolicyOutcome> judged;
  bool has_policy = policy_file.has_value();
  if (policy_file && report.provenance) {
    STRATA_TRY_ASSIGN(judged,
                      judge(args, *std::move(policy_file), image_path, provenance_path, report));
    if (!args.json) print_policy_rules(stderr, judged->report);
  } else if (has_policy) {
    fmt::print(stderr, "policy {} not evaluated: the provenance could not be read\n", args.policy);
  }
  bool passed = report.passed() && (!has_policy || (judged && judged->report.passed()));
  if (!args.vsa.empty()) {
    if (report.provenance) {
      STRATA_TRY(
          write_vsa(args, image_path, provenance_path, resource_uri, report, judged, sign_key));
      fmt::print(stderr, "verification summary written to {}\n", args.vsa);
    } else {
      fmt::print(stderr, "no verification summary written: the provenance could not be read\n");
    }
  }
  if (args.json) {
    print_json(report_json(report, judged));
  } else {
    print_result(report);
    if (judged) {
      print_policy_summary(args.policy, judged->report, judged->evidence.manifest);
    }
  }
  return passed ? 0 : 1;
}

}  // namespace

void register_verify(CLI::App& app, Command& run) {
  auto args = std::make_shared<VerifyArgs>();
  auto* cmd = app.add_subcommand(
      "verify",
      "Check an image's provenance and rebuild it from the recorded inputs: prints "
      "'reproduced DIGEST' or what differs");
  cmd->add_option("IMAGE", args->image,
                  "The OCI layout or archive to verify, or docker://HOST/REPO[:TAG]@sha256:… "
                  "(pulled, its provenance taken from its referrers)")
      ->required();
  cmd->add_option("--provenance", args->provenance,
                  "Its provenance: NAME.provenance.json or the signed NAME.provenance.dsse.json "
                  "(required for a local image)");
  cmd->add_option("--key", args->key,
                  "The signer's public key (PEM); required when the provenance is signed");
  add_context_option(cmd, args->context);
  cmd->add_option("--spec", args->spec,
                  "The spec to rebuild from (default: the path the provenance records, relative "
                  "to the current directory); its sha256 must match the recorded one");
  cmd->add_option("--vsa", args->vsa,
                  "Write a SLSA verification summary attestation (PASSED or FAILED) to FILE");
  cmd->add_option("--sign-key", args->sign_key,
                  "Sign the VSA with this Ed25519 or ECDSA P-256 private key (PEM)");
  cmd->add_option("--policy", args->policy,
                  "Also judge the image by this policy (docs/policy.md), the rebuild's result "
                  "as its `reproduced` rule; the VSA then names the policy and its digest");
  cmd->add_option("--resource-uri", args->resource_uri,
                  "The VSA's resourceUri (default: file:// URI of IMAGE)");
  add_package_flags(cmd, args->packages,
                    "Cache for sources and build environments (packages are always rebuilt)");
  add_registry_flags(cmd, args->registry);
  cmd->add_flag("--json", args->json, "Print one JSON object describing the result");
  cmd->callback([&run, args] { run = [args] { return run_verify(*args); }; });
}

}  // namespace strata::builder::cli
