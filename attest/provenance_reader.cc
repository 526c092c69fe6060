#include "attest/provenance_reader.h"

#include <fmt/format.h>

#include <set>

namespace strata::attest {
namespace {

Error rejected(std::string_view field, std::string_view why) {
  return Error(ErrorCode::kVerification, fmt::format("provenance: {}: {}", field, why));
}

Result<std::string> string_at(const Json& object, const char* key, std::string_view field) {
  const Json& v = member(object, key);
  if (!v.is_string()) return rejected(fmt::format("{}.{}", field, key), "missing or not a string");
  return v.get<std::string>();
}

std::string string_or_empty(const Json& object, const char* key) {
  const Json& v = member(object, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}

Result<Digest> sha256_at(const Json& digest_set, std::string_view field) {
  const Json& v = member(digest_set, "sha256");
  if (!v.is_string()) return rejected(field, "no sha256 digest");
  auto d = Digest::parse(v.get<std::string>(), /*allow_bare=*/true);
  if (!d.ok()) return rejected(field, d.error().message());
  return d;
}

Result<void> read_external(const Json& ext, ImageProvenance& out) {
  static const std::set<std::string> kKnown = {"spec", "compression", "archive", "attach",
                                               "sbomFormat"};
  for (const auto& [key, value] : ext.items()) {
    if (!kKnown.count(key)) {
      return rejected("externalParameters." + key,
                      "unknown parameter (a verifier rejects what it cannot reproduce)");
    }
  }
  const Json& spec = member(ext, "spec");
  if (!spec.is_object()) return rejected("externalParameters.spec", "missing");
  STRATA_TRY_ASSIGN(out.spec_path, string_at(spec, "path", "externalParameters.spec"));
  STRATA_TRY_ASSIGN(out.spec_sha256, sha256_at(spec, "externalParameters.spec"));
  STRATA_TRY_ASSIGN(out.parameters.compression,
                    string_at(ext, "compression", "externalParameters"));
  STRATA_TRY_ASSIGN(out.parameters.sbom_format, string_at(ext, "sbomFormat", "externalParameters"));
  for (auto [key, flag] : {std::pair{"archive", &out.parameters.archive},
                           std::pair{"attach", &out.parameters.attach}}) {
    const Json& v = member(ext, key);
    if (!v.is_boolean()) return rejected(fmt::format("externalParameters.{}", key), "not a bool");
    *flag = v.get<bool>();
  }
  return Ok{};
}

Result<void> read_internal(const Json& in, ImageProvenance& out) {
  const char* field = "internalParameters";
  if (!in.is_object()) return rejected(field, "missing");
  STRATA_TRY_ASSIGN(out.determinism_profile, string_at(in, "determinismProfile", field));
  STRATA_TRY_ASSIGN(out.source_date_epoch, string_at(in, "SOURCE_DATE_EPOCH", field));
  STRATA_TRY_ASSIGN(out.platform, string_at(in, "platform", field));
  const Json& libraries = member(in, "libraries");
  for (auto it = libraries.begin(); it != libraries.end(); ++it) {
    if (it->is_string()) out.libraries[it.key()] = it->get<std::string>();
  }
  return Ok{};
}

Result<RecordedDependency> read_dependency(const Json& d, size_t i) {
  std::string field = fmt::format("resolvedDependencies[{}]", i);
  RecordedDependency dep;
  const Json& annotations = member(d, "annotations");
  STRATA_TRY_ASSIGN(dep.role, string_at(annotations, "role", field + ".annotations"));
  STRATA_TRY_ASSIGN(dep.name, string_at(d, "name", field));
  STRATA_TRY_ASSIGN(dep.sha256, sha256_at(member(d, "digest"), field + ".digest"));
  dep.uri = string_or_empty(d, "uri");
  dep.path = string_or_empty(annotations, "path");
  dep.version = string_or_empty(annotations, "version");
  return dep;
}

}  // namespace

std::vector<const RecordedDependency*> ImageProvenance::with_role(std::string_view role) const {
  std::vector<const RecordedDependency*> out;
  for (const RecordedDependency& d : dependencies) {
    if (d.role == role) out.push_back(&d);
  }
  return out;
}

Result<ImageProvenance> read_image_provenance(const Json& statement) {
  auto checked = check_statement(statement);
  if (!checked.ok()) return rejected("statement", checked.error().message());
  if (statement["predicateType"] != kSlsaProvenanceV1) {
    return rejected("predicateType", fmt::format("expected {}, actual {}", kSlsaProvenanceV1,
                                                 statement["predicateType"].dump()));
  }
  ImageProvenance out;
  const Json& subject = statement["subject"];
  if (subject.size() != 1) return rejected("subject", "expected exactly one (the image manifest)");
  out.subject_name = string_or_empty(subject[0], "name");
  STRATA_TRY_ASSIGN(out.subject, sha256_at(member(subject[0], "digest"), "subject[0]"));
  const Json& bd = statement["predicate"]["buildDefinition"];
  if (bd["buildType"] != kImageBuildType) {
    return rejected("buildType", fmt::format("expected {} (a strata image build), actual {}",
                                             kImageBuildType, bd["buildType"].dump()));
  }
  STRATA_TRY(read_external(bd["externalParameters"], out));
  STRATA_TRY(read_internal(member(bd, "internalParameters"), out));
  const Json& deps = member(bd, "resolvedDependencies");
  for (size_t i = 0; i < deps.size(); ++i) {
    STRATA_TRY_ASSIGN(RecordedDependency dep, read_dependency(deps[i], i));
    out.dependencies.push_back(std::move(dep));
  }
  out.builder_id = statement["predicate"]["runDetails"]["builder"]["id"].get<std::string>();
  if (out.with_role("spec").size() != 1) {
    return rejected("resolvedDependencies", "expected exactly one entry with role spec");
  }
  return out;
}

}  // namespace strata::attest
