// `strata build SPEC`: the whole pipeline; prints the image digest last.
#include <fmt/format.h>
#include <locale.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <future>
#include <random>

#include "builder/base/interrupt.h"
#include "builder/base/json.h"
#include "builder/base/path.h"
#include "builder/check/repro_check.h"
#include "builder/cli/cache_explain.h"
#include "builder/cli/commands.h"
#include "builder/cli/format.h"
#include "builder/cli/keys.h"
#include "builder/cli/package_options.h"
#include "builder/cli/platform.h"
#include "builder/cli/progress.h"
#include "builder/cli/self_digest.h"
#include "builder/cli/spec_input.h"
#include "builder/pipeline.h"
#include "builder/policy/spec_check.h"
#include "builder/sources/curl_fetcher.h"
#include "specs/parse.h"

namespace strata::builder::cli {
namespace {

struct BuildArgs {
  std::string spec_path;
  std::string context;
  std::string output_root = "out";
  std::string compression = "gzip";
  bool archive = false;
  bool json = false;
  std::string sign_key;
  std::string sbom_format = "spdx";
  bool attach = false;
  bool provenance_times = false;
  PackageFlags packages;
  RegistryFlags registry;
  CacheRegistryFlags cache_registry;
  bool check = false;
  std::string explain_cache;  // --explain-cache PACKAGE
  std::string policy;         // --policy POLICY.yaml
};

class SystemClock : public Clock {
 public:
  int64_t now_seconds() override { return static_cast<int64_t>(std::time(nullptr)); }
};

// The values only the command line can know: the spec's and this binary's digests (read
// once, here), the signing key (loaded before any work, so a bad key costs no build), and
// the clock when --provenance-times asks for it.
Result<AttestOptions> attest_options(const BuildArgs& args, const std::string& cache_dir,
                                     Clock* clock) {
  AttestOptions o{.spec_path = args.spec_path, .strata_version = STRATA_VERSION, .clock = clock};
  STRATA_TRY_ASSIGN(o.sbom_format, parse_sbom_format(args.sbom_format));
  STRATA_TRY_ASSIGN(o.spec_sha256, sha256_file(args.spec_path));
  // Hashed beside the build: a debug build's binary is hundreds of megabytes.
  o.strata_sha256_pending = std::async(std::launch::async, own_digest, cache_dir).share();
  o.attach = args.attach;
  if (!args.sign_key.empty()) {
    STRATA_TRY_ASSIGN(o.sign_key, load_private_key("--sign-key", args.sign_key));
  }
  return o;
}

void print_attestations(const AttestationPaths& paths) {
  for (const std::string& p : paths.all()) fmt::print(stderr, "attestation written to {}\n", p);
}

Json build_json(const specs::Plan& plan, const BuildResult& result) {
  const oci::WrittenImage& image = result.image;
  Json layers = Json::array();
  for (const LayerBlob& l : image.layers) {
    layers.push_back({{"digest", l.digest.str()},
                      {"diff_id", l.diff_id.str()},
                      {"size", l.size},
                      {"media_type", l.media_type},
                      {"entries", l.entry_count},
                      {"origin", blob_origin_name(l.origin)}});
  }
  Json out = {{"name", plan.spec.name},
              {"tag", plan.spec.version},
              {"layout", result.layout_dir},
              {"manifest_digest", image.manifest.digest.str()},
              {"config_digest", image.config.digest.str()},
              {"layers", layers}};
  if (!result.archive_path.empty()) out["archive"] = result.archive_path;
  // Where each package's output came from: built here, this machine's cache, or the
  // registry cache (--cache-registry).
  Json packages = Json::array();
  for (const auto& [name, p] : result.packages.outputs) {
    packages.push_back({{"name", name},
                        {"cache_key", p.cache_key.str()},
                        {"output_digest", p.digest.str()},
                        {"origin", p.from_remote  ? "registry-cache"
                                   : p.from_cache ? "local-cache"
                                                  : "built"}});
  }
  out["packages"] = std::move(packages);
  const AttestationPaths& a = result.attestations;
  out["provenance"] = a.provenance;
  if (!a.envelope.empty()) out["provenance_dsse"] = a.envelope;
  out["sbom"] = a.sbom;
  if (!a.openvex.empty()) out["openvex"] = a.openvex;
  if (!a.openvex_envelope.empty()) out["openvex_dsse"] = a.openvex_envelope;
  if (!a.sigstore_bundle.empty()) out["sigstore_bundle"] = a.sigstore_bundle;
  return out;
}

// What was written, on stderr (stdout carries only the digest or the --check verdict).
void print_build(const specs::Plan& plan, const BuildResult& result, Compression compression) {
  const oci::WrittenImage& image = result.image;
  for (size_t i = 0; i < image.layers.size(); ++i) {
    const LayerBlob& l = image.layers[i];
    fmt::print(stderr, "layer {}/{}: {} {} ({} entries, {})\n", i + 1, image.layers.size(),
               short_digest(l.digest), human_size(l.size), l.entry_count,
               compression_name(compression));
  }
  fmt::print(stderr, "image {}:{} written to {}\n", plan.spec.name, plan.spec.version,
             result.layout_dir);
  if (!result.archive_path.empty())
    fmt::print(stderr, "archive written to {}\n", result.archive_path);
  print_attestations(result.attestations);
}

// --check: what build 1 ran under, read here once (stages never read the environment or the
// clock), and the options that change bytes, which build 2 gets too.
HostConditions host_conditions(const BuildArgs& args, const specs::Plan& plan, int64_t jobs) {
  HostConditions h{.jobs = jobs, .spec_epoch = plan.spec.epoch, .spec_path = args.spec_path};
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view kv = *e;
    size_t eq = kv.find('=');
    if (eq != std::string_view::npos) h.env[std::string(kv.substr(0, eq))] = kv.substr(eq + 1);
  }
  mode_t mask = ::umask(022);
  ::umask(mask);
  h.umask = mask;
  for (const char* name : {"fr_FR.UTF-8", "de_DE.UTF-8", "C.UTF-8", "C"}) {
    locale_t l = ::newlocale(LC_ALL_MASK, name, nullptr);
    if (l == nullptr) continue;
    ::freelocale(l);
    h.locales.push_back(name);
  }
  for (const char* tz : {"Pacific/Chatham", "America/St_Johns"}) {
    if (::access(fmt::format("/usr/share/zoneinfo/{}", tz).c_str(), R_OK) == 0) {
      h.time_zones.push_back(tz);
    }
  }
  h.working_dir = absolute_normal_path(".");
  return h;
}

Result<CheckResult> run_check(const BuildArgs& args, const specs::Plan& plan,
                              const BuildResult& build, int64_t jobs,
                              const std::string& cache_dir) {
  CheckOptions o{.cache_dir = absolute_normal_path(cache_dir),
                 .layout_dir = absolute_normal_path(build.layout_dir),
                 .sbom_path = absolute_normal_path(build.attestations.sbom),
                 .host = host_conditions(args, plan, jobs),
                 .now_s = static_cast<int64_t>(std::time(nullptr)),
                 .seed = std::random_device()()};
  o.seed = (o.seed << 32) ^ static_cast<uint64_t>(o.now_s);
  std::error_code ec;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) o.self_exe = self.string();
  const char* tmpdir = std::getenv("TMPDIR");
  if (tmpdir != nullptr && *tmpdir != '\0') o.temp_parent = tmpdir;
  std::vector<std::string> outputs = build.attestations.all();
  outputs.insert(outputs.begin(), {build.layout_dir, build.archive_path});
  for (const std::string& p : outputs) {
    if (!p.empty()) o.build1_outputs.push_back(absolute_normal_path(p));
  }
  o.output_args = {"--compression", args.compression, "--sbom-format", args.sbom_format};
  if (args.attach) {
    o.output_args.push_back("--attach");
    // A signed provenance is attached as a DSSE envelope: sign build 2's too, so both
    // indexes list the same kinds of artifact (the provenance entries are not compared).
    if (!args.sign_key.empty())
      o.output_args.insert(o.output_args.end(),
                           {"--sign-key", absolute_normal_path(args.sign_key)});
  }
  ForkExecLauncher launcher;
  o.launcher = &launcher;
  fmt::print(stderr, "check: building again in a separate process under varied conditions\n");
  return check_reproducible(plan.spec, o);
}

// The human-readable verdict: the variations on stderr; the diff and the verdict on stdout,
// the verdict last (it ends with build 1's digest when reproducible).
int print_check(const CheckResult& check) {
  fmt::print(stderr, "check: build 2 differed from build 1 in:\n");
  for (const Variation& v : check.variations) {
    fmt::print(stderr, "  {}: {} -> {}\n", v.name, v.build1, v.build2);
  }
  if (check.reproducible) {
    fmt::print("reproducible {}\n", check.digest1.str());
    return 0;
  }
  fmt::print("{}", check.diff_text);
  fmt::print("not reproducible: build 1 {}, build 2 {}\n", check.digest1.str(),
             check.digest2.str());
  return 1;
}

// --explain-cache names a package of the spec.
Result<void> check_explained_package(const specs::Plan& plan, const std::string& name) {
  for (const specs::Package& p : plan.spec.packages) {
    if (p.name == name) return {};
  }
  return Error(ErrorCode::kUsage,
               fmt::format("--explain-cache {}: the spec has no package of that name", name));
}

Result<int> run_build(const BuildArgs& args) {
  // SIGINT/SIGTERM stop the build like a failure: the running sandbox step is killed, the
  // error unwinds, every temporary is removed (main() then ends by the signal). Only here:
  // `strata shell` and `strata sandbox` leave Ctrl-C to the command they run.
  install_interrupt_handlers();
  STRATA_TRY_ASSIGN(Compression compression, parse_compression(args.compression));
  if (args.check && !args.context.empty()) {
    return Error(ErrorCode::kUsage,
                 "--check copies the spec's inputs for build 2 and does not take --context yet");
  }
  std::optional<policy::Policy> policy_file;
  if (!args.policy.empty()) {
    STRATA_TRY_ASSIGN(policy_file, policy::load_policy(args.policy));
  }
  // The rules a spec decides, before any source is fetched or image pulled.
  auto check_policy = [&](const specs::Spec& spec) -> Result<void> {
    if (!policy_file) return Ok{};
    std::vector<policy::SpecViolation> violations = policy::check_spec(*policy_file, spec);
    if (violations.empty()) return Ok{};
    STRATA_TRY_ASSIGN(std::string text, specs::read_spec_text(args.spec_path));
    return policy::spec_violations_error(violations, text);
  };
  STRATA_TRY_ASSIGN(specs::Spec spec, load_build_spec(args.spec_path, args.context, args.packages,
                                                      args.registry, check_policy));
  STRATA_TRY_ASSIGN(specs::Plan plan, specs::make_plan(std::move(spec), host_architecture()));
  STRATA_TRY_ASSIGN(PackageStageOptions packages, package_stage_options(args.packages, ""));
  SystemClock clock;
  STRATA_TRY_ASSIGN(AttestOptions attest, attest_options(args, packages.cache_dir,
                                                         args.provenance_times ? &clock : nullptr));
  packages.log_root = fmt::format("{}/logs/{}", packages.cache_dir, plan.spec.name);
  STRATA_TRY_ASSIGN(
      std::unique_ptr<CacheRegistrySession> cache_registry,
      CacheRegistrySession::open(args.cache_registry, args.registry, packages.cache_dir));
  if (cache_registry) packages.remote_cache = cache_registry->cache();
  sources::CurlFetcher fetcher;
  sandbox::NamespaceRunner runner;
  BuildOptions options{.output_root = args.output_root,
                       .compression = compression,
                       .write_archive = args.archive,
                       .attest = std::move(attest),
                       .packages = std::move(packages),
                       .fetcher = &fetcher,
                       .runner = &runner,
                       .observer = progress_observer(plan.spec.packages.size()),
                       .warn =
                           [](const std::string& message) {
                             print_progress_line(fmt::format("strata: warning: {}", message));
                           },
                       .on_output_wait =
                           [](const std::string& lock_path) {
                             // Above the progress frame, if one is drawn.
                             print_progress_line(
                                 fmt::format("strata: waiting for another build of the same output "
                                             "to finish (lock {})",
                                             lock_path));
                           }};
  if (cache_registry) options.remote_layer_cache = cache_registry->layer_cache();
  // The copy path of run: layers, for tests (docs/run-layers.md).
  const char* run_copy = std::getenv("STRATA_RUN_LAYER_COPY");
  options.run_layer_copy = run_copy != nullptr && std::string_view(run_copy) == "1";
  if (!args.explain_cache.empty()) {
    STRATA_TRY(check_explained_package(plan, args.explain_cache));
    add_cache_explanation(options.observer, plan.spec.name, args.explain_cache);
  }
  STRATA_TRY_ASSIGN(BuildResult result, build_image(plan, options));
  if (!args.json) print_build(plan, result, compression);
  std::optional<CheckResult> check;
  if (args.check) {
    STRATA_TRY_ASSIGN(
        check, run_check(args, plan, result, options.packages.jobs, options.packages.cache_dir));
  }
  if (args.json) {
    Json out = build_json(plan, result);
    if (check) out["check"] = check_to_json(*check);
    print_json(out);
    return check && !check->reproducible ? 1 : 0;
  }
  if (check) return print_check(*check);
  fmt::print("{}\n", result.image.manifest.digest.str());
  return 0;
}

}  // namespace

void register_build(CLI::App& app, Command& run) {
  auto args = std::make_shared<BuildArgs>();
  auto* cmd = app.add_subcommand("build", "Build the image a spec describes");
  cmd->add_option("SPEC", args->spec_path, "The spec file (strata/v1 YAML)")->required();
  add_context_option(cmd, args->context);
  cmd->add_option("-o,--output", args->output_root,
                  "Directory for the output; the layout goes to DIR/NAME")
      ->capture_default_str();
  cmd->add_option("--compression", args->compression, "Layer compression: gzip, zstd or none")
      ->capture_default_str();
  cmd->add_flag("--archive", args->archive,
                "Also write DIR/NAME.tar, loadable with podman/docker load and skopeo");
  cmd->add_flag("--json", args->json, "Print one JSON object describing the result");
  cmd->add_option("--sign-key", args->sign_key,
                  "Sign the provenance (and the OpenVEX document) with this Ed25519 or ECDSA "
                  "P-256 private key (PEM); writes DIR/NAME.provenance.dsse.json, "
                  "DIR/NAME.sigstore.json (a Sigstore bundle) and DIR/NAME.openvex.dsse.json");
  cmd->add_option("--sbom-format", args->sbom_format,
                  "SBOM format: spdx (DIR/NAME.spdx.json) or cyclonedx (DIR/NAME.cdx.json)")
      ->capture_default_str();
  cmd->add_flag("--attach", args->attach,
                "Also store the provenance and the OpenVEX document (signed if --sign-key) and "
                "the SBOM in the layout as OCI 1.1 artifacts whose subject is the image");
  cmd->add_flag("--provenance-times", args->provenance_times,
                "Record startedOn/finishedOn in the provenance (then it differs per build)");
  add_package_flags(cmd, args->packages,
                    "Cache for sources, build environments and package outputs (default "
                    "$XDG_CACHE_HOME/strata, else ~/.cache/strata)");
  add_registry_flags(cmd, args->registry);
  add_cache_registry_flags(cmd, args->cache_registry);
  cmd->add_flag("--check", args->check,
                "Build a second time in a separate process under varied conditions (input "
                "copy, directory, umask, TZ, locale, environment, --jobs, packages rebuilt) "
                "and compare; prints 'reproducible DIGEST' or the diff (exit 1)");
  cmd->add_option("--explain-cache", args->explain_cache,
                  "Say whether PACKAGE comes from the cache and, when its key changed, print "
                  "the difference from the key it was last built or used with (docs/cache.md)")
      ->type_name("PACKAGE");
  cmd->add_option("--policy", args->policy,
                  "Refuse to build when the spec breaks a rule of this policy that a spec "
                  "decides (sources, pinnedEnvironment, licenses; docs/policy.md), before "
                  "anything is fetched");
  cmd->callback([&run, args] { run = [args] { return run_build(*args); }; });
}

}  // namespace strata::builder::cli
