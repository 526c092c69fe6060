// OpenVEX v0.2.0 documents (vex.h). The products and subcomponents are named by the purls the
// SBOM gives the same things (spdx.cc, cyclonedx.cc), so a consumer can join the two.
#include "attest/vex.h"

#include <fmt/format.h>

#include <algorithm>

#include "attest/ids.h"
#include "attest/provenance.h"
#include "builder/base/json.h"
#include "builder/base/time.h"

namespace strata::attest {
namespace {

Json component(const std::string& purl) {
  return {{"@id", purl}, {"identifiers", {{"purl", purl}}}};
}

Result<Json> subcomponents(const specs::Spec& spec, const specs::VexStatement& s,
                           const VexInputs& in) {
  Json out = Json::array();
  for (const specs::Ref& ref : s.packages) {
    auto p = std::find_if(spec.packages.begin(), spec.packages.end(),
                          [&](const specs::Package& pkg) { return pkg.name == ref.name; });
    if (p == spec.packages.end()) {
      return Error(ErrorCode::kInternal,
                   fmt::format("vex: package '{}' is not in the spec", ref.name));
    }
    out.push_back(component(generic_purl(p->name, p->version)));
  }
  for (const specs::Ref& ref : s.debs) {
    auto d = std::find_if(in.debs.begin(), in.debs.end(),
                          [&](const SbomDeb& deb) { return deb.name == ref.name; });
    if (d == in.debs.end()) {
      return Error(ErrorCode::kInternal,
                   fmt::format("vex: deb '{}' is not among the locked packages", ref.name));
    }
    Json c = component(deb_purl(*d));
    c["hashes"] = {{"sha-256", d->sha256.hex}};
    out.push_back(std::move(c));
  }
  return out;
}

Result<Json> statement(const specs::Spec& spec, const specs::VexStatement& s, const VexInputs& in,
                       const std::string& image_purl) {
  Json vulnerability = {{"name", s.vulnerability}};
  if (!s.aliases.empty()) vulnerability["aliases"] = s.aliases;
  Json product = component(image_purl);
  product["hashes"] = {{"sha-256", in.manifest_digest.hex}};
  STRATA_TRY_ASSIGN(Json subs, subcomponents(spec, s, in));
  if (!subs.empty()) product["subcomponents"] = std::move(subs);
  Json out = {{"vulnerability", std::move(vulnerability)},
              {"products", Json::array({std::move(product)})},
              {"status", s.status}};
  for (const auto& [key, value] : {std::pair{"justification", &s.justification},
                                   std::pair{"impact_statement", &s.impact_statement},
                                   std::pair{"action_statement", &s.action_statement},
                                   std::pair{"status_notes", &s.status_notes}}) {
    if (!value->empty()) out[key] = *value;
  }
  return out;
}

// Who makes the statements: the image's makers, as the spec names them.
std::string author_of(const specs::Spec& spec) {
  for (const std::map<std::string, std::string>* m :
       {&spec.image.annotations, &spec.image.config.labels}) {
    auto it = m->find(kAuthorsAnnotation);
    if (it != m->end() && !it->second.empty()) return it->second;
  }
  return spec.name + " maintainers";
}

}  // namespace

Result<std::string> make_openvex(const specs::Plan& plan, const VexInputs& in) {
  const specs::Spec& spec = plan.spec;
  std::string image =
      oci_purl(spec.name, in.manifest_digest.hex, spec.image.architecture, spec.version);
  Json statements = Json::array();
  for (const specs::VexStatement& s : spec.vex.statements) {
    STRATA_TRY_ASSIGN(Json j, statement(spec, s, in, image));
    statements.push_back(std::move(j));
  }
  Json doc = {{"@context", kOpenVexContext},
              {"author", author_of(spec)},
              {"role", "Document Creator"},
              {"timestamp", rfc3339_utc(spec.epoch)},
              {"version", 1},
              {"tooling", "strata " + in.strata_version},
              {"statements", std::move(statements)}};
  // The @id names this content: the same statements about the same image by the same
  // strata give the same id, and any change gives another (vexctl picks a random one).
  STRATA_TRY_ASSIGN(std::string without_id, canonical_json(doc));
  doc["@id"] =
      fmt::format("{}/{}/sha256-{}", kOpenVexIdPrefix, spec.name, sha256_of(without_id).hex);
  return canonical_json(doc);
}

Result<std::string> make_openvex_statement(const specs::Plan& plan, const Digest& manifest_digest,
                                           std::string_view document) {
  STRATA_TRY_ASSIGN(Json predicate, parse_json(document, "OpenVEX document"));
  Json s = {{"_type", kStatementType},
            {"subject", Json::array({statement_subject(plan.spec.name, manifest_digest)})},
            {"predicateType", kOpenVexPredicateType},
            {"predicate", std::move(predicate)}};
  return canonical_json(s);
}

}  // namespace strata::attest
