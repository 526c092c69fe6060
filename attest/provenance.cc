#include "attest/provenance.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "attest/ids.h"

namespace strata::attest {
namespace {

Json sha256_set(const Digest& d) { return {{"sha256", d.hex}}; }

// Every dependency carries a role so a verifier can tell the spec from an input file.
Json dependency(std::string name, const Digest& digest, std::string_view role) {
  return {{"name", std::move(name)},
          {"digest", sha256_set(digest)},
          {"annotations", {{"role", std::string(role)}}}};
}

// A registry image also records where it came from and, when its pin names an index, that
// index: the digest is always the manifest the build used.
Json image_dependency(const specs::ImageRef& ref, std::string_view role) {
  Json d = dependency(ref.name(), ref.digest, role);
  if (ref.registry) {
    d["uri"] = std::string(specs::kDockerTransport) + ref.registry->str();
    if (ref.registry->digest && *ref.registry->digest != ref.digest) {
      d["annotations"]["index"] = ref.registry->digest->str();
    }
  }
  return d;
}

Json source_dependency(const specs::Source& s) {
  Json d = dependency(s.name, s.sha256, "source");
  if (!s.url.empty()) d["uri"] = s.url;
  if (!s.path.empty()) d["annotations"]["path"] = s.path;
  return d;
}

// The array, written entry by entry: with one entry per input file it is the bulk of the
// statement (docs/provenance.md "Memory").
void write_resolved_dependencies(CanonicalWriter& out, const specs::Spec& spec,
                                 const ProvenanceInputs& in) {
  CanonicalArray deps(out);
  deps.push_back(dependency(in.spec_path, in.spec_sha256, "spec"));
  for (const specs::Source& s : spec.sources) deps.push_back(source_dependency(s));
  if (spec.environment.image) {
    deps.push_back(image_dependency(*spec.environment.image, "environment-image"));
  }
  auto deb_dependency = [&](const LockedDeb& d, const char* role) {
    Json dep = dependency(d.name, d.sha256, role);
    dep["uri"] = d.url;
    dep["annotations"]["version"] = d.version;
    dep["annotations"]["architecture"] = d.architecture;
    deps.push_back(dep);
  };
  for (const LockedDeb& d : in.environment_debs) deb_dependency(d, "environment-deb");
  if (in.lock) deps.push_back(dependency(in.lock->path, in.lock->sha256.unpack(), "lock"));
  for (const LockedDeb& d : in.image_debs) deb_dependency(d, "deb");
  if (spec.image.base) deps.push_back(image_dependency(*spec.image.base, "base-image"));
  // Sorted by pointer, not copied: the paths of 1,000,000 files are tens of megabytes.
  const std::vector<InputFile>& input_files =
      in.input_files_ref ? *in.input_files_ref : in.input_files;
  std::vector<const InputFile*> files;
  files.reserve(input_files.size());
  for (const InputFile& f : input_files) files.push_back(&f);
  std::sort(files.begin(), files.end(),
            [](const InputFile* a, const InputFile* b) { return a->path < b->path; });
  files.erase(
      std::unique(files.begin(), files.end(),
                  [](const InputFile* a, const InputFile* b) { return a->path == b->path; }),
      files.end());
  for (const InputFile* f : files) {
    if (!out.ok()) break;
    deps.push_back(dependency(f->path, f->sha256.unpack(), "input-file"));
  }
  Json strata = dependency("strata", in.strata_sha256, "builder-binary");
  strata["annotations"]["version"] = in.strata_version;
  deps.push_back(strata);
  deps.close();
}

Json external_parameters(const ProvenanceInputs& in) {
  const BuildParameters& p = in.parameters;
  return {{"spec", {{"path", in.spec_path}, {"sha256", in.spec_sha256.hex}}},
          {"compression", p.compression},
          {"archive", p.archive},
          {"attach", p.attach},
          {"sbomFormat", p.sbom_format}};
}

Json internal_parameters(const specs::Spec& spec, const ProvenanceInputs& in) {
  Json libraries = Json::object();
  for (const auto& [name, version] : in.library_versions) libraries[name] = version;
  Json out = {{"determinismProfile", kDeterminismProfile},
              {"SOURCE_DATE_EPOCH", std::to_string(spec.epoch)},
              {"platform", spec.image.os + "/" + spec.image.architecture},
              {"libraries", std::move(libraries)}};
  // The commands of `run:` layers (docs/run-layers.md), the build steps an image layer ran.
  Json run_layers = Json::array();
  for (size_t i = 0; i < spec.image.layers.size(); ++i) {
    if (spec.image.layers[i].run.empty()) continue;
    Json commands = Json::array();
    for (const specs::Ref& c : spec.image.layers[i].run) commands.push_back(c.name);
    run_layers.push_back({{"layer", i + 1}, {"commands", std::move(commands)}});
  }
  if (!run_layers.empty()) out["runLayers"] = std::move(run_layers);
  return out;
}

}  // namespace

Json statement_subject(std::string_view name, const Digest& manifest_digest) {
  return {{"name", std::string(name)}, {"digest", sha256_set(manifest_digest)}};
}

Result<void> write_provenance(const specs::Plan& plan, const ProvenanceInputs& in, TextSink& sink) {
  const specs::Spec& spec = plan.spec;
  Json run_details = {
      {"builder", {{"id", in.builder_id}, {"version", {{"strata", in.strata_version}}}}}};
  if (in.times) {
    run_details["metadata"] = {{"startedOn", rfc3339_utc(in.times->started_on)},
                               {"finishedOn", rfc3339_utc(in.times->finished_on)}};
  }
  // Each level is small members plus the level below it, written in place.
  Json build_definition = {{"buildType", kImageBuildType},
                           {"externalParameters", external_parameters(in)},
                           {"internalParameters", internal_parameters(spec, in)}};
  auto dependencies = [&](CanonicalWriter& out) { write_resolved_dependencies(out, spec, in); };
  auto definition = [&](CanonicalWriter& out) {
    out.object(build_definition, {{"resolvedDependencies", dependencies}});
  };
  Json predicate_rest = {{"runDetails", std::move(run_details)}};
  auto predicate = [&](CanonicalWriter& out) {
    out.object(predicate_rest, {{"buildDefinition", definition}});
  };
  Json statement_rest = {
      {"_type", kStatementType},
      {"subject", Json::array({statement_subject(spec.name, in.manifest_digest)})},
      {"predicateType", kSlsaProvenanceV1}};
  CanonicalWriter out(sink);
  out.object(statement_rest, {{"predicate", predicate}});
  return out.finish();
}

Result<std::string> make_provenance(const specs::Plan& plan, const ProvenanceInputs& in) {
  StringSink sink;
  STRATA_TRY(write_provenance(plan, in, sink));
  return std::move(sink.text());
}

namespace {

Error bad(std::string_view field, std::string_view why) {
  return Error(ErrorCode::kIo, fmt::format("statement field {}: {}", field, why));
}

// Hand-written matchers rather than std::regex: GCC 12's <regex> trips -Wmaybe-uninitialized
// under the sanitizer build, and these two shapes are simple.
bool is_uri(const Json& v) {
  // RFC 3986 scheme, lowercase as in-toto's TypeURI/ResourceURI rules require, then a body.
  if (!v.is_string()) return false;
  const std::string& s = v.get_ref<const std::string&>();
  size_t colon = s.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size()) return false;
  if (!(s[0] >= 'a' && s[0] <= 'z')) return false;
  for (size_t i = 1; i < colon; ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return std::none_of(s.begin() + colon + 1, s.end(),
                      [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; });
}

// YYYY-MM-DDThh:mm:ss[.fraction]Z
bool is_rfc3339_utc(const std::string& s) {
  static constexpr char kShape[] = "dddd-dd-ddTdd:dd:dd";
  if (s.size() < sizeof kShape || s.back() != 'Z') return false;
  for (size_t i = 0; i + 1 < sizeof kShape; ++i) {
    bool digit = s[i] >= '0' && s[i] <= '9';
    if (kShape[i] == 'd' ? !digit : s[i] != kShape[i]) return false;
  }
  std::string_view rest(s.data() + sizeof kShape - 1, s.size() - sizeof kShape);
  if (rest.empty()) return true;
  return rest.size() > 1 && rest[0] == '.' &&
         std::all_of(rest.begin() + 1, rest.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_lower_hex(const Json& v) {
  if (!v.is_string()) return false;
  const std::string& s = v.get_ref<const std::string&>();
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

Result<void> check_digest_set(const Json& d, std::string_view field) {
  if (!d.is_object() || d.empty()) return bad(field, "must be a non-empty digest set");
  for (const auto& [alg, value] : d.items()) {
    if (!is_lower_hex(value)) return bad(fmt::format("{}.{}", field, alg), "not lowercase hex");
  }
  if (d.contains("sha256") && d["sha256"].get_ref<const std::string&>().size() != 64) {
    return bad(fmt::format("{}.sha256", field), "not 64 hex digits");
  }
  return Ok{};
}

Result<void> check_timestamp(const Json& metadata, const char* key) {
  if (!metadata.contains(key)) return Ok{};
  const Json& v = metadata[key];
  if (!v.is_string() || !is_rfc3339_utc(v.get<std::string>())) {
    return bad(fmt::format("predicate.runDetails.metadata.{}", key), "not RFC 3339 UTC");
  }
  return Ok{};
}

Result<void> check_slsa_predicate(const Json& p) {
  if (!p.is_object()) return bad("predicate", "must be an object");
  const Json& bd = member(p, "buildDefinition");
  if (!bd.is_object()) return bad("predicate.buildDefinition", "missing");
  if (!is_uri(member(bd, "buildType"))) {
    return bad("predicate.buildDefinition.buildType", "missing or not a URI");
  }
  if (!member(bd, "externalParameters").is_object()) {
    return bad("predicate.buildDefinition.externalParameters", "missing or not an object");
  }
  const Json& deps = member(bd, "resolvedDependencies");  // optional; null iterates as empty
  if (!deps.is_null() && !deps.is_array())
    return bad("predicate.buildDefinition.resolvedDependencies", "not an array");
  for (size_t i = 0; i < deps.size(); ++i) {
    std::string field = fmt::format("predicate.buildDefinition.resolvedDependencies[{}]", i);
    const Json& d = deps[i];
    if (!d.is_object()) return bad(field, "must be an object");
    if (!d.contains("uri") && !d.contains("digest") && !d.contains("content")) {
      return bad(field, "needs uri, digest or content");
    }
    if (d.contains("uri") && !is_uri(d["uri"])) return bad(field + ".uri", "not a URI");
    if (d.contains("digest")) STRATA_TRY(check_digest_set(d["digest"], field + ".digest"));
  }
  const Json& rd = member(p, "runDetails");
  if (!rd.is_object() || !member(rd, "builder").is_object() ||
      !is_uri(member(rd["builder"], "id"))) {
    return bad("predicate.runDetails.builder.id", "missing or not a URI");
  }
  const Json& metadata = member(rd, "metadata");
  STRATA_TRY(check_timestamp(metadata, "startedOn"));
  STRATA_TRY(check_timestamp(metadata, "finishedOn"));
  return Ok{};
}

}  // namespace

Result<void> check_statement(const Json& s) {
  if (!s.is_object()) return bad("(top level)", "must be an object");
  if (member(s, "_type") != kStatementType) {
    return bad("_type", fmt::format("must be '{}'", kStatementType));
  }
  const Json& subject = member(s, "subject");
  if (!subject.is_array() || subject.empty()) return bad("subject", "must be a non-empty array");
  for (size_t i = 0; i < subject.size(); ++i) {
    std::string field = fmt::format("subject[{}].digest", i);
    if (!subject[i].is_object() || !subject[i].contains("digest")) return bad(field, "missing");
    STRATA_TRY(check_digest_set(subject[i]["digest"], field));
  }
  if (!is_uri(member(s, "predicateType"))) return bad("predicateType", "missing or not a URI");
  if (s["predicateType"] == kSlsaProvenanceV1) {
    STRATA_TRY(check_slsa_predicate(member(s, "predicate")));
  }
  return Ok{};
}

}  // namespace strata::attest
