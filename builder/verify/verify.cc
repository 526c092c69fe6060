#include "builder/verify/verify.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <chrono>

#include "attest/dsse.h"
#include "builder/base/path.h"
#include "builder/sources/path_source.h"
#include "builder/sources/source_set.h"
#include "specs/inputs.h"
#include "specs/parse.h"

namespace strata::builder {
namespace {

// Records each check in the report and tells the caller as it happens.
class Checks {
 public:
  Checks(VerifyReport& report, const std::function<void(const VerifyCheck&)>& on_check)
      : report_(report), on_check_(on_check) {}
  bool pass(std::string name, std::string detail) {
    return add({std::move(name), true, std::move(detail)});
  }
  bool fail(std::string name, std::string detail) {
    return add({std::move(name), false, std::move(detail)});
  }

 private:
  bool add(VerifyCheck check) {
    report_.checks.push_back(std::move(check));
    if (on_check_) on_check_(report_.checks.back());
    return report_.checks.back().passed;
  }
  VerifyReport& report_;
  const std::function<void(const VerifyCheck&)>& on_check_;
};

bool is_envelope(const Json& j) {
  return j.is_object() && j.contains("payloadType") && j.contains("payload");
}

// The Statement, after checking the envelope's signature when there is one. nullopt: a
// check failed (recorded in `checks`).
Result<std::optional<Json>> read_statement(const VerifyOptions& o, const std::string& text,
                                           Checks& checks) {
  auto parsed = parse_json(text, o.provenance_path);
  if (!parsed.ok()) {
    checks.fail("provenance", parsed.error().message());
    return std::optional<Json>();
  }
  if (!is_envelope(*parsed)) {
    if (o.key) {
      checks.fail("signature",
                  "--key was given but the provenance is an unsigned statement, "
                  "not a DSSE envelope");
      return std::optional<Json>();
    }
    checks.pass("signature", "none to check: the provenance is an unsigned statement");
    return std::optional<Json>(*std::move(parsed));
  }
  if (!o.key) {
    return Error(ErrorCode::kUsage,
                 fmt::format("{}: the provenance is a signed DSSE envelope; pass --key PUB to "
                             "check its signature",
                             o.provenance_path));
  }
  auto verified = attest::verify_envelope(text, *o.key, attest::kInTotoPayloadType);
  if (!verified.ok()) {
    checks.fail("signature", verified.error().message());
    return std::optional<Json>();
  }
  checks.pass("signature",
              fmt::format("{} key {}", attest::key_type_name(o.key->type()), o.key->keyid()));
  // Only the verified payload bytes are parsed (DSSE protocol.md, "Verification":
  // https://github.com/secure-systems-lab/dsse).
  auto statement = parse_json(verified->payload, "payload");
  if (!statement.ok()) {
    checks.fail("provenance", statement.error().message());
    return std::optional<Json>();
  }
  return std::optional<Json>(*std::move(statement));
}

bool is_file(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// Every input file the provenance lists, and strata.lock, re-hashed where the spec's
// directory has them now: a lock that changed since is named before any rebuild.
Result<bool> check_input_files(const attest::ImageProvenance& p, const std::string& spec_dir,
                               const std::string& context, Checks& checks) {
  std::vector<std::string> problems;
  auto files = p.with_role("input-file");
  for (const attest::RecordedDependency* lock : p.with_role("lock")) files.push_back(lock);
  for (const attest::RecordedDependency* f : files) {
    // The names come from the provenance, which is untrusted: each must resolve beneath the
    // spec's context like the build's own inputs, or no file of the host is read.
    Result<std::string> host = specs::resolve_local_input(context, spec_dir, f->name);
    if (!host.ok()) {
      problems.push_back(fmt::format("{}: {}", f->name, host.error().message()));
      continue;
    }
    const std::string& path = *host;
    if (!is_file(path)) {
      problems.push_back(fmt::format("{}: missing (expected {})", path, f->sha256.str()));
      continue;
    }
    STRATA_TRY_ASSIGN(Digest actual, sha256_file(path));
    if (actual != f->sha256) {
      problems.push_back(fmt::format("{}: digest mismatch: expected {} (provenance), actual {}",
                                     path, f->sha256.str(), actual.str()));
    }
  }
  if (problems.empty()) return checks.pass("input files", fmt::format("{} match", files.size()));
  std::string detail = fmt::format("{} of {} differ", problems.size(), files.size());
  for (const std::string& line : problems) detail += "\n  " + line;
  return checks.fail("input files", detail);
}

// The recorded values the spec itself determines must agree with the plan: a provenance
// whose spec digest matches but whose sources or images do not was not made by strata.
std::vector<std::string> plan_mismatches(const attest::ImageProvenance& p,
                                         const specs::Plan& plan) {
  const specs::Spec& spec = plan.spec;
  std::vector<std::string> out;
  std::string platform = spec.image.os + "/" + spec.image.architecture;
  if (p.platform != platform) {
    out.push_back(fmt::format("platform: recorded {}, this host builds {} (rebuild on a {} host)",
                              p.platform, platform, p.platform));
  }
  if (p.source_date_epoch != std::to_string(spec.epoch)) {
    out.push_back(
        fmt::format("SOURCE_DATE_EPOCH: recorded {}, spec {}", p.source_date_epoch, spec.epoch));
  }
  std::map<std::string, Digest> pinned;
  for (const specs::Source& s : spec.sources) pinned[s.name] = s.sha256;
  if (spec.environment.image)
    pinned[spec.environment.image->name()] = spec.environment.image->digest;
  if (spec.image.base) pinned[spec.image.base->name()] = spec.image.base->digest;
  for (const char* role : {"source", "environment-image", "base-image"}) {
    for (const attest::RecordedDependency* d : p.with_role(role)) {
      auto it = pinned.find(d->name);
      if (it == pinned.end()) {
        out.push_back(fmt::format("{} {}: recorded, not in the spec", role, d->name));
      } else if (it->second != d->sha256) {
        out.push_back(fmt::format("{} {}: recorded {}, spec pins {}", role, d->name,
                                  d->sha256.str(), it->second.str()));
      }
    }
  }
  return out;
}

Result<std::optional<specs::Plan>> load_plan(const VerifyOptions& o,
                                             const attest::ImageProvenance& p,
                                             const std::string& spec_path, Checks& checks) {
  STRATA_TRY_ASSIGN(specs::Spec spec, specs::load_spec(spec_path, {.context = o.context}));
  // An unpinned path: source is pinned by what it holds now; plan_mismatches then compares
  // that with the digest the provenance recorded.
  STRATA_TRY(sources::pin_path_sources(spec));
  if (o.pull_images) STRATA_TRY(o.pull_images(spec));
  STRATA_TRY_ASSIGN(specs::Plan plan, specs::make_plan(std::move(spec), o.host_architecture));
  std::vector<std::string> mismatches = plan_mismatches(p, plan);
  if (!mismatches.empty()) {
    std::string detail = "the spec does not match the provenance";
    for (const std::string& m : mismatches) detail += "\n  " + m;
    checks.fail("plan", detail);
    return std::optional<specs::Plan>();
  }
  checks.pass("plan", fmt::format("{} {}, {} sources, {} packages", plan.spec.image.os,
                                  plan.spec.image.architecture, plan.spec.sources.size(),
                                  plan.spec.packages.size()));
  return std::optional<specs::Plan>(std::move(plan));
}

void check_builder(const VerifyOptions& o, const attest::ImageProvenance& p, VerifyReport& report,
                   Checks& checks) {
  auto recorded = p.with_role("builder-binary");
  if (recorded.empty()) {
    checks.pass("builder", "not recorded");
  } else if (recorded[0]->sha256 == o.strata_sha256) {
    checks.pass("builder", fmt::format("same strata binary ({})", o.strata_version));
  } else {
    // Not a failure: a verifier usually runs their own build of strata. If the rebuild
    // differs, this is the first suspect, and the report says so.
    report.different_builder = fmt::format(
        "a different strata binary: recorded {} ({}), running {} ({})", recorded[0]->sha256.str(),
        recorded[0]->version, o.strata_sha256.str(), o.strata_version);
    checks.pass("builder", *report.different_builder);
  }
}

Result<Compression> recorded_compression(const attest::ImageProvenance& p) {
  for (Compression c : {Compression::kGzip, Compression::kZstd, Compression::kNone}) {
    if (compression_name(c) == p.parameters.compression) return c;
  }
  return Error(ErrorCode::kVerification,
               fmt::format("provenance: externalParameters.compression: unknown value '{}'",
                           p.parameters.compression));
}

// Builds the plan again in `scratch` with the recorded options; every package is rebuilt
// (an empty package store) while sources and environments come from the cache. The layers
// are written with the recorded determinism profile: strata-det/1's compressors are kept
// for this (docs/compression.md).
Result<BuildResult> rebuild(const VerifyOptions& o, const attest::ImageProvenance& p,
                            const specs::Plan& plan, const std::string& scratch) {
  STRATA_TRY_ASSIGN(Compression compression, recorded_compression(p));
  STRATA_TRY_ASSIGN(DeterminismProfile profile, parse_profile(p.determinism_profile));
  BuildOptions options{.output_root = scratch + "/out",
                       .compression = compression,
                       .profile = profile,
                       .layer_cache = false,
                       .packages = o.packages,
                       .fetcher = o.fetcher,
                       .runner = o.runner,
                       .observer = o.make_observer ? o.make_observer(plan.spec.packages.size())
                                                   : build::BuildObserver{}};
  options.packages.packages_cache_dir = scratch + "/packages";
  return build_image(plan, options);
}

// Differences in index.json are not part of the claim: the subject is the manifest, and
// the index also lists attached attestations (signed or not) and tags.
void drop_index_fields(diff::ImageDiff& d) {
  std::erase_if(d.fields, [](const diff::FieldDiff& f) { return f.document == "index"; });
}

Result<void> compare(const oci::ImageView& image, const std::string& rebuilt_layout,
                     VerifyReport& report, Checks& checks) {
  STRATA_TRY_ASSIGN(oci::ImageView rebuilt, oci::open_image(rebuilt_layout));
  report.rebuilt = rebuilt.manifest_descriptor.digest;
  STRATA_TRY_ASSIGN(diff::ImageDiff d, diff::diff_images(image, rebuilt, diff::DiffOptions{}));
  drop_index_fields(d);
  bool same = d.is_same() && *report.rebuilt == image.manifest_descriptor.digest;
  report.diff = std::move(d);
  const Digest& subject = image.manifest_descriptor.digest;
  if (same) {
    checks.pass("compare", fmt::format("the rebuild is {}", report.rebuilt->str()));
  } else if (*report.rebuilt == subject) {
    checks.fail("compare", fmt::format("the rebuild is {} as recorded, but {}'s blobs do not "
                                       "match it (tampered or corrupt; see below)",
                                       subject.str(), image.source));
  } else {
    checks.fail("compare", fmt::format("the rebuild is {}, the image {}: see below",
                                       report.rebuilt->str(), subject.str()));
  }
  return Ok{};
}

// The steps after the image and provenance are known to belong together.
Result<void> verify_inputs_and_rebuild(const VerifyOptions& o, const attest::ImageProvenance& p,
                                       const oci::ImageView& image, VerifyReport& report,
                                       Checks& checks) {
  std::string spec_path = o.spec_path.empty() ? p.spec_path : o.spec_path;
  if (!is_file(spec_path)) {
    return Error(ErrorCode::kUsage,
                 fmt::format("spec {} not found: run strata verify from the directory the build "
                             "ran in, or pass --spec",
                             spec_path));
  }
  STRATA_TRY_ASSIGN(Digest spec_sha256, sha256_file(spec_path));
  if (spec_sha256 != p.spec_sha256) {
    checks.fail("spec", fmt::format("{}: spec digest mismatch: expected {} (provenance), actual {}",
                                    spec_path, p.spec_sha256.str(), spec_sha256.str()));
    return Ok{};
  }
  checks.pass("spec", fmt::format("{} is {}", spec_path, spec_sha256.str()));
  std::string spec_dir = absolute_normal_path(dirname_of(spec_path));
  STRATA_TRY_ASSIGN(std::string context, specs::input_context(o.context, spec_dir));
  STRATA_TRY_ASSIGN(bool inputs_ok, check_input_files(p, spec_dir, context, checks));
  if (!inputs_ok) return Ok{};
  STRATA_TRY_ASSIGN(std::optional<specs::Plan> plan, load_plan(o, p, spec_path, checks));
  if (!plan) return Ok{};
  check_builder(o, p, report, checks);

  sources::SourceOptions source_options{
      .cache_dir = o.packages.cache_dir, .offline = o.packages.offline, .fetch = o.packages.fetch};
  auto fetched = sources::fetch_sources(plan->spec, source_options, *o.fetcher);
  if (!fetched.ok()) {
    checks.fail("sources", fetched.error().to_string());
    return Ok{};
  }
  checks.pass("sources", fmt::format("{} fetched or found by digest", plan->spec.sources.size()));

  STRATA_TRY_ASSIGN(TempDir scratch, TempDir::create(o.scratch_dir, "strata-verify-"));
  auto started = std::chrono::steady_clock::now();
  auto built = rebuild(o, p, *plan, scratch.path());
  if (!built.ok()) {
    checks.fail("rebuild", built.error().to_string());
    return Ok{};
  }
  auto elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - started)
                        .count();
  checks.pass("rebuild", fmt::format("{} in {:.1f} s", built->image.manifest.digest.str(),
                                     static_cast<double>(elapsed_ms) / 1000.0));
  return compare(image, built->layout_dir, report, checks);
}

}  // namespace

bool VerifyReport::passed() const {
  if (checks.empty() || !rebuilt) return false;
  for (const VerifyCheck& c : checks) {
    if (!c.passed) return false;
  }
  return true;
}

Result<VerifyReport> verify_image(const VerifyOptions& o) {
  STRATA_CHECK(o.fetcher != nullptr && o.runner != nullptr);
  VerifyReport report;
  Checks checks(report, o.on_check);
  auto text = read_file(o.provenance_path);
  if (!text.ok()) return Error(ErrorCode::kUsage, "--provenance: " + text.error().message());
  report.provenance_sha256 = sha256_of(*text);
  STRATA_TRY_ASSIGN(std::optional<Json> statement, read_statement(o, *text, checks));
  if (!statement) return report;
  auto provenance = attest::read_image_provenance(*statement);
  // The JSON tree of a many-file provenance is tens of MB; the values are all that is needed.
  statement.reset();
  if (!provenance.ok()) {
    checks.fail("provenance", provenance.error().message());
    return report;
  }
  report.provenance = *std::move(provenance);
  const attest::ImageProvenance& p = *report.provenance;
  checks.pass("provenance", fmt::format("{} build of {} by {}", attest::kImageBuildType,
                                        p.subject_name, p.builder_id));
  auto image = oci::open_image_by_digest(o.image, p.subject);
  if (!image.ok()) {
    if (image.error().code() != ErrorCode::kDigestMismatch) return std::move(image).error();
    checks.fail("subject", image.error().message());
    return report;
  }
  checks.pass("subject", fmt::format("{} holds {}", o.image, p.subject.str()));
  STRATA_TRY(verify_inputs_and_rebuild(o, p, *image, report, checks));
  return report;
}

}  // namespace strata::builder
