#include "builder/policy/evaluate.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <optional>

#include "attest/dsse.h"
#include "attest/provenance_reader.h"
#include "builder/base/base64.h"
#include "builder/base/fs.h"
#include "builder/policy/license_expression.h"
#include "builder/policy/source_rules.h"

namespace strata::builder::policy {
namespace {

std::string short_keyid(const attest::PublicKey& k) { return k.keyid().substr(0, 16); }

std::string key_label(const TrustedKey& k) {
  return fmt::format("{} key {} ({})", attest::key_type_name(k.key.type()), short_keyid(k.key),
                     k.name);
}

// The provenance as far as the evidence and the keys let it be trusted.
struct ProvenanceView {
  std::optional<attest::ImageProvenance> provenance;
  std::string source;
  bool is_signed = false;
  std::string signer;   // the key that verified it
  std::string problem;  // why there is none
};

Result<attest::ImageProvenance> read_statement_text(std::string_view text, const Digest& image) {
  STRATA_TRY_ASSIGN(Json statement, parse_json(text, "statement"));
  STRATA_TRY_ASSIGN(attest::ImageProvenance p, attest::read_image_provenance(statement));
  if (p.subject != image) {
    return Error(ErrorCode::kVerification,
                 fmt::format("it is about {}, the image is {}", p.subject.str(), image.str()));
  }
  return p;
}

// Signed provenance first: the first envelope a trusted key verifies. An unsigned
// statement is used when there is no envelope at all, or none that a key verifies.
ProvenanceView find_provenance(const ImageEvidence& e, const std::vector<TrustedKey>& keys) {
  ProvenanceView view;
  std::vector<std::string> problems;
  for (const Attestation& a : e.attestations) {
    if (a.kind != AttestationKind::kProvenance || !a.envelope) continue;
    // Each envelope is verified once per key, until one key verifies it.
    const TrustedKey* signer = nullptr;
    std::optional<attest::VerifiedEnvelope> verified;
    for (const TrustedKey& k : keys) {
      auto v = attest::verify_envelope(a.bytes, k.key, attest::kInTotoPayloadType);
      if (!v.ok()) continue;
      signer = &k;
      verified = *std::move(v);
      break;
    }
    if (signer == nullptr) {
      problems.push_back(fmt::format("{}: signed by none of the {} trusted key{}", a.source,
                                     keys.size(), keys.size() == 1 ? "" : "s"));
      continue;
    }
    auto p = read_statement_text(verified->payload, e.manifest);
    if (!p.ok()) {
      problems.push_back(fmt::format("{}: {}", a.source, p.error().message()));
      continue;
    }
    view.provenance = *std::move(p);
    view.source = a.source;
    view.is_signed = true;
    view.signer = key_label(*signer);
    return view;
  }
  for (const Attestation& a : e.attestations) {
    if (a.kind != AttestationKind::kProvenance || a.envelope) continue;
    auto p = read_statement_text(a.bytes, e.manifest);
    if (!p.ok()) {
      problems.push_back(fmt::format("{}: {}", a.source, p.error().message()));
      continue;
    }
    view.provenance = *std::move(p);
    view.source = a.source;
    return view;
  }
  view.problem = problems.empty()
                     ? "no provenance found (NAME.provenance.json or "
                       ".provenance.dsse.json beside the layout, or attached)"
                     : fmt::format("no usable provenance: {}", fmt::join(problems, "; "));
  return view;
}

std::string provenance_note(const ProvenanceView& v) {
  return v.is_signed ? fmt::format("provenance {}, signed by {}", v.source, v.signer)
                     : fmt::format("unsigned provenance {}", v.source);
}

RuleResult result(std::string_view rule, const Loc& loc, bool passed, std::string evidence,
                  std::vector<std::string> details = {}) {
  return {std::string(rule), passed, std::move(evidence), std::move(details), loc};
}

RuleResult check_signed_by(const SignedByRule& rule, const ImageEvidence& e,
                           const std::vector<TrustedKey>& keys) {
  if (keys.empty()) {
    return result("signedBy", rule.loc, false,
                  "no keys to check the signature with: give signedBy.keys or --key");
  }
  std::vector<const Attestation*> envelopes;
  for (const Attestation& a : e.attestations) {
    if (a.kind == AttestationKind::kProvenance && a.envelope) envelopes.push_back(&a);
  }
  if (envelopes.empty()) {
    return result("signedBy", rule.loc, false,
                  "the provenance is not signed: no DSSE envelope (NAME.provenance.dsse.json or "
                  "an application/vnd.in-toto.provenance+dsse artifact)");
  }
  std::vector<std::string> signed_by, not_signed_by;
  for (const TrustedKey& k : keys) {
    bool ok = false;
    for (const Attestation* a : envelopes) {
      auto v = attest::verify_envelope(a->bytes, k.key, attest::kInTotoPayloadType);
      if (!v.ok()) continue;
      // A signature over someone else's provenance says nothing about this image.
      if (read_statement_text(v->payload, e.manifest).ok()) ok = true;
    }
    (ok ? signed_by : not_signed_by).push_back(key_label(k));
  }
  bool passed = rule.require == Require::kAll ? not_signed_by.empty() : !signed_by.empty();
  std::string evidence;
  if (passed) {
    evidence = fmt::format("the provenance is signed by {}", fmt::join(signed_by, ", "));
  } else if (rule.require == Require::kAll) {
    evidence = fmt::format("the provenance is not signed by {}", fmt::join(not_signed_by, ", "));
  } else {
    evidence =
        fmt::format("the provenance is signed by none of {}", fmt::join(not_signed_by, ", "));
  }
  return result("signedBy", rule.loc, passed, std::move(evidence));
}

// The version the provenance records for the builder binary.
std::string builder_version(const attest::ImageProvenance& p) {
  auto b = p.with_role("builder-binary");
  return b.empty() ? "" : b[0]->version;
}

RuleResult check_builder(const BuilderRule& rule, const ProvenanceView& v) {
  if (!v.provenance) return result("builder", rule.loc, false, v.problem);
  const attest::ImageProvenance& p = *v.provenance;
  std::string version = builder_version(p);
  std::string what =
      fmt::format("builder {}, strata {} ({})", p.builder_id,
                  version.empty() ? "(version not recorded)" : version, provenance_note(v));
  if (!rule.ids.empty() &&
      std::find(rule.ids.begin(), rule.ids.end(), p.builder_id) == rule.ids.end()) {
    return result("builder", rule.loc, false,
                  fmt::format("builder id {} is not {} ({})", p.builder_id,
                              fmt::join(rule.ids, " or "), provenance_note(v)));
  }
  if (!rule.min_version.empty()) {
    if (version.empty()) {
      return result("builder", rule.loc, false,
                    fmt::format("the provenance records no strata version; minVersion is {} ({})",
                                rule.min_version, provenance_note(v)));
    }
    if (compare_versions(version, rule.min_version) < 0) {
      return result("builder", rule.loc, false,
                    fmt::format("strata {} is older than minVersion {} ({})", version,
                                rule.min_version, provenance_note(v)));
    }
  }
  return result("builder", rule.loc, true, what);
}

RuleResult check_reproduced(const Loc& loc, const ImageEvidence& e) {
  if (!e.reproduced) {
    return result("reproduced", loc, false,
                  "not decidable without a rebuild: only strata verify --policy checks it");
  }
  return result("reproduced", loc, *e.reproduced, e.reproduced_detail);
}

RuleResult check_environment(const Loc& loc, const ProvenanceView& v) {
  if (!v.provenance) return result("pinnedEnvironment", loc, false, v.problem);
  auto images = v.provenance->with_role("environment-image");
  // rootfs: debs: the environment is the locked .debs the provenance lists.
  auto debs = v.provenance->with_role("environment-deb");
  if (images.empty() && !debs.empty()) {
    return result("pinnedEnvironment", loc, true,
                  fmt::format("an environment of {} locked Debian packages ({})", debs.size(),
                              provenance_note(v)));
  }
  if (images.empty()) {
    return result("pinnedEnvironment", loc, false,
                  fmt::format("no environment-image in the provenance: the build environment was "
                              "the host's root filesystem (rootfs: host) ({})",
                              provenance_note(v)));
  }
  return result("pinnedEnvironment", loc, true,
                fmt::format("environment image {}@{} ({})", images[0]->name,
                            images[0]->sha256.str(), provenance_note(v)));
}

RuleResult check_sources(const SourcesRule& rule, const ProvenanceView& v) {
  if (!v.provenance) return result("sources", rule.loc, false, v.problem);
  std::vector<std::string> refused, allowed;
  for (const attest::RecordedDependency& d : v.provenance->dependencies) {
    bool is_source = d.role == "source";
    bool is_image = d.role == "environment-image" || d.role == "base-image";
    if (!is_source && !(is_image && !d.uri.empty())) continue;
    SourceVerdict verdict = judge_source(rule, d.uri, !d.path.empty() || d.uri.empty());
    std::string what =
        fmt::format("{} '{}' ({})", d.role, d.name, d.uri.empty() ? "path " + d.path : d.uri);
    (verdict.allowed ? allowed : refused).push_back(fmt::format("{}: {}", what, verdict.reason));
  }
  if (!refused.empty()) {
    return result("sources", rule.loc, false, refused[0], refused);
  }
  return result("sources", rule.loc, true,
                fmt::format("{} source{} and registry image{}, all allowed ({})", allowed.size(),
                            allowed.size() == 1 ? "" : "s", allowed.size() == 1 ? "" : "s",
                            provenance_note(v)),
                allowed);
}

struct SbomPackage {
  std::string name;
  std::string license;  // an SPDX expression; "" when none is declared
};

bool is_no_license(const std::string& l) { return l.empty() || l == "NOASSERTION" || l == "NONE"; }

// The packages an SBOM lists, without what strata records as metadata with no licence of its
// own: the image and the images it names (SPDX primaryPackagePurpose CONTAINER, CycloneDX
// type container), its layers (ARCHIVE, or CycloneDX file components) and its sources
// (SOURCE: the packages built from them declare the licence).
Result<std::vector<SbomPackage>> sbom_packages(const Attestation& a) {
  STRATA_TRY_ASSIGN(Json doc, parse_json(a.bytes, a.source));
  std::vector<SbomPackage> out;
  if (a.kind == AttestationKind::kSpdx) {
    const Json& packages = member(doc, "packages");
    if (!packages.is_array()) return out;
    for (const Json& p : packages) {
      std::string purpose = string_member(p, "primaryPackagePurpose");
      if (purpose == "CONTAINER" || purpose == "ARCHIVE" || purpose == "SOURCE") continue;
      std::string license = string_member(p, "licenseDeclared");
      if (is_no_license(license)) license = string_member(p, "licenseConcluded");
      out.push_back({string_member(p, "name"), is_no_license(license) ? "" : license});
    }
    return out;
  }
  const Json& components = member(doc, "components");
  if (!components.is_array()) return out;
  for (const Json& c : components) {
    std::string type = string_member(c, "type");
    if (type == "container" || type == "file") continue;
    std::vector<std::string> parts;
    const Json& licenses = member(c, "licenses");
    if (licenses.is_array()) {
      for (const Json& l : licenses) {
        std::string expression = string_member(l, "expression");
        if (expression.empty()) expression = string_member(member(l, "license"), "id");
        if (expression.empty()) expression = string_member(member(l, "license"), "name");
        if (!expression.empty()) parts.push_back("(" + expression + ")");
      }
    }
    // CycloneDX: several licence entries all apply.
    out.push_back({string_member(c, "name"), fmt::format("{}", fmt::join(parts, " AND "))});
  }
  return out;
}

RuleResult check_licenses(const LicensesRule& rule, const ImageEvidence& e) {
  const Attestation* sbom = nullptr;
  for (const Attestation& a : e.attestations) {
    if (a.kind == AttestationKind::kSpdx || a.kind == AttestationKind::kCycloneDx) {
      sbom = &a;
      break;
    }
  }
  if (!sbom) {
    return result("licenses", rule.loc, false,
                  "no SBOM found (NAME.spdx.json or NAME.cdx.json beside the layout, or attached)");
  }
  auto packages = sbom_packages(*sbom);
  if (!packages.ok()) return result("licenses", rule.loc, false, packages.error().message());
  std::vector<std::string> refused, allowed;
  for (const SbomPackage& p : *packages) {
    if (p.license.empty()) {
      if (rule.allow_unknown || rule.allow.empty()) {
        allowed.push_back(fmt::format("package '{}': no licence declared", p.name));
      } else {
        refused.push_back(fmt::format(
            "package '{}' declares no licence (set allowUnknown: true to accept that)", p.name));
      }
      continue;
    }
    auto verdict = judge_license(p.license, rule.allow, rule.deny);
    if (!verdict.ok()) {
      refused.push_back(
          fmt::format("package '{}' ({}): {}", p.name, p.license, verdict.error().message()));
    } else if (!verdict->allowed) {
      refused.push_back(fmt::format("package '{}' ({}): {}", p.name, p.license, verdict->reason));
    } else {
      allowed.push_back(fmt::format("package '{}': {}", p.name, p.license));
    }
  }
  if (!refused.empty()) {
    return result("licenses", rule.loc, false,
                  fmt::format("{} (SBOM {})", refused[0], sbom->source), refused);
  }
  return result("licenses", rule.loc, true,
                fmt::format("{} package{} in the SBOM {}, all allowed", allowed.size(),
                            allowed.size() == 1 ? "" : "s", sbom->source),
                allowed);
}

RuleResult check_setid(const Loc& loc, const ImageEvidence& e) {
  if (e.setid_files.empty()) {
    return result("noSetuidFiles", loc, true,
                  fmt::format("no setuid or setgid file in {} layer{}", e.layer_count,
                              e.layer_count == 1 ? "" : "s"));
  }
  std::vector<std::string> files;
  for (const SetidFile& f : e.setid_files) {
    bool uid = (f.mode & 04000) != 0, gid = (f.mode & 02000) != 0;
    files.push_back(fmt::format("{} is {} (mode {:04o}, layer {})", f.path,
                                uid && gid ? "setuid and setgid"
                                : uid      ? "setuid"
                                           : "setgid",
                                f.mode, f.layer + 1));
  }
  return result("noSetuidFiles", loc, false, files[0], files);
}

// Root as the config says it: no user (the runtime's default, root), uid 0 or "root",
// with or without a group.
RuleResult check_user(const Loc& loc, const ImageEvidence& e) {
  std::string user = string_member(member(e.config, "config"), "User");
  std::string name = user.substr(0, user.find(':'));
  if (user.empty()) {
    return result("nonRootUser", loc, false,
                  "user is unset (config.User is empty: the container runs as root)");
  }
  if (name == "0" || name == "root" || name.empty()) {
    return result("nonRootUser", loc, false, fmt::format("user is '{}' (config.User)", user));
  }
  return result("nonRootUser", loc, true, fmt::format("user is '{}' (config.User)", user));
}

RuleResult check_size(const MaxSizeRule& rule, const ImageEvidence& e) {
  std::string what = fmt::format("{} bytes (config and {} layer{}, as stored)", e.size_bytes,
                                 e.layer_count, e.layer_count == 1 ? "" : "s");
  if (e.size_bytes > rule.bytes) {
    return result(
        "maxImageSize", rule.loc, false,
        fmt::format("{} is more than maxImageSize {} ({} bytes)", what, rule.text, rule.bytes));
  }
  return result("maxImageSize", rule.loc, true,
                fmt::format("{} is at most {} ({} bytes)", what, rule.text, rule.bytes));
}

// The digest a pkg:oci purl (or an "…@sha256:hex" name) pins, "" if none.
std::string digest_hex_of_product(std::string id) {
  size_t at = id.find("@sha256");
  if (at == std::string::npos) return "";
  std::string rest = id.substr(at + 7);
  if (rest.starts_with("%3A") || rest.starts_with("%3a")) {
    rest = rest.substr(3);
  } else if (rest.starts_with(":")) {
    rest = rest.substr(1);
  } else {
    return "";
  }
  return rest.substr(0, rest.find_first_of("?#"));
}

struct VexDecision {
  std::string status;  // of the newest statement about the image
  std::string timestamp;
  std::string source;
};

struct VexView {
  std::map<std::string, VexDecision> signed_;    // vulnerability -> decision, signed VEX
  std::map<std::string, VexDecision> unsigned_;  // the same from unsigned or untrusted VEX
  std::vector<std::string> problems;
  size_t signed_documents = 0;
};

// The statements of one OpenVEX document about this image: a product whose @id pins the
// image's manifest digest. A later timestamp wins; ties go to the later statement
// (OpenVEX spec: the newest statement for a product and vulnerability applies).
void add_statements(const Json& doc, const std::string& source, const Digest& image,
                    std::map<std::string, VexDecision>& out) {
  std::string doc_time = string_member(doc, "timestamp");
  const Json& statements = member(doc, "statements");
  if (!statements.is_array()) return;
  for (const Json& s : statements) {
    std::string vuln = string_member(member(s, "vulnerability"), "name");
    const Json& products = member(s, "products");
    bool about_image = false;
    if (products.is_array()) {
      for (const Json& p : products) {
        if (digest_hex_of_product(string_member(p, "@id")) == image.hex) about_image = true;
      }
    }
    if (vuln.empty() || !about_image) continue;
    std::string time = string_member(s, "timestamp");
    if (time.empty()) time = doc_time;
    auto it = out.find(vuln);
    // RFC 3339 UTC times of one format compare as text.
    if (it == out.end() || it->second.timestamp <= time) {
      out[vuln] = {string_member(s, "status"), time, source};
    }
  }
}

VexView read_vex(const ImageEvidence& e, const std::vector<TrustedKey>& keys) {
  VexView view;
  for (const Attestation& a : e.attestations) {
    if (a.kind != AttestationKind::kVex) continue;
    if (!a.envelope) {
      auto doc = parse_json(a.bytes, a.source);
      if (doc.ok()) add_statements(*doc, a.source + " (unsigned)", e.manifest, view.unsigned_);
      continue;
    }
    bool verified_once = false;
    for (const TrustedKey& k : keys) {
      auto v = attest::verify_envelope(a.bytes, k.key, attest::kInTotoPayloadType);
      if (!v.ok()) continue;
      verified_once = true;
      auto statement = parse_json(v->payload, a.source);
      if (!statement.ok()) {
        view.problems.push_back(statement.error().message());
      } else if (string_member(*statement, "predicateType") != kOpenVexPredicateType) {
        view.problems.push_back(fmt::format("{}: predicateType is '{}', not {}", a.source,
                                            string_member(*statement, "predicateType"),
                                            kOpenVexPredicateType));
      } else {
        ++view.signed_documents;
        add_statements(member(*statement, "predicate"),
                       fmt::format("{} (signed by {})", a.source, key_label(k)), e.manifest,
                       view.signed_);
      }
      break;
    }
    if (!verified_once) {
      view.problems.push_back(fmt::format("{}: signed by none of the trusted keys", a.source));
      // Its claims are read for the evidence only, like an unsigned document's.
      auto envelope = parse_json(a.bytes, a.source);
      if (!envelope.ok()) continue;
      std::optional<std::string> payload = base64_decode(string_member(*envelope, "payload"));
      auto statement = payload ? parse_json(*payload, a.source) : Result<Json>(Json());
      if (statement.ok()) {
        add_statements(member(*statement, "predicate"),
                       a.source + " (its signature verifies with no trusted key)", e.manifest,
                       view.unsigned_);
      }
    }
  }
  return view;
}

RuleResult check_vulnerabilities(const KnownVulnerabilitiesRule& rule, const ImageEvidence& e,
                                 const std::vector<TrustedKey>& keys) {
  if (keys.empty()) {
    return result("knownVulnerabilities", rule.loc, false,
                  "no keys to check a VEX signature with: give knownVulnerabilities.keys or --key");
  }
  VexView vex = read_vex(e, keys);
  std::vector<std::string> open, resolved;
  for (const KnownVulnerabilitiesRule::Id& id : rule.ids) {
    auto it = vex.signed_.find(id.id);
    if (it != vex.signed_.end()) {
      const VexDecision& d = it->second;
      bool ok = d.status == "fixed" || d.status == "not_affected";
      std::string line = fmt::format("{}: {} in {}", id.id, d.status, d.source);
      (ok ? resolved : open).push_back(ok ? line : line + " (must be fixed or not_affected)");
      continue;
    }
    auto u = vex.unsigned_.find(id.id);
    if (u != vex.unsigned_.end()) {
      open.push_back(fmt::format("{}: {} only in {}: an unsigned or untrusted VEX does not count",
                                 id.id, u->second.status, u->second.source));
      continue;
    }
    std::string why =
        vex.problems.empty() ? "" : fmt::format(" ({})", fmt::join(vex.problems, "; "));
    open.push_back(fmt::format("{}: no statement about this image in a signed VEX{}", id.id, why));
  }
  if (!open.empty()) return result("knownVulnerabilities", rule.loc, false, open[0], open);
  return result("knownVulnerabilities", rule.loc, true,
                fmt::format("{} listed vulnerabilit{} fixed or not_affected in a signed VEX",
                            resolved.size(), resolved.size() == 1 ? "y is" : "ies are"),
                resolved);
}

// The trusted keys of a rule: its own when it names some, else the --key keys.
Result<std::vector<TrustedKey>> rule_keys(const std::vector<KeyFile>& files,
                                          const std::vector<TrustedKey>& cli) {
  if (files.empty()) return cli;
  return load_policy_keys(files);
}

}  // namespace

bool PolicyReport::passed() const {
  return std::all_of(results.begin(), results.end(), [](const RuleResult& r) { return r.passed; });
}

Result<std::vector<TrustedKey>> load_policy_keys(const std::vector<KeyFile>& files) {
  std::vector<TrustedKey> keys;
  for (const KeyFile& f : files) {
    auto text = read_file_limited(f.path, 1 << 20);
    Result<attest::PublicKey> key =
        text.ok() ? attest::PublicKey::from_pem(*text) : Result<attest::PublicKey>(text.error());
    if (!key.ok()) {
      return Error(ErrorCode::kSpec,
                   fmt::format("{}:{}:{}: error: key {}: {}", f.loc.file, f.loc.line, f.loc.column,
                               f.path, key.error().message()));
    }
    keys.push_back({f.path, *std::move(key)});
  }
  return keys;
}

Result<PolicyReport> evaluate_policy(const Policy& policy, const ImageEvidence& evidence,
                                     const std::vector<TrustedKey>& keys) {
  PolicyReport report;
  std::vector<TrustedKey> signers = keys;
  if (policy.signed_by) {
    STRATA_TRY_ASSIGN(signers, rule_keys(policy.signed_by->keys, keys));
  }
  // The provenance may be trusted through any key the policy or the command line gives.
  std::vector<TrustedKey> provenance_keys = signers;
  if (policy.signed_by && !policy.signed_by->keys.empty()) {
    provenance_keys.insert(provenance_keys.end(), keys.begin(), keys.end());
  }
  ProvenanceView provenance = find_provenance(evidence, provenance_keys);
  auto& r = report.results;
  if (policy.signed_by) r.push_back(check_signed_by(*policy.signed_by, evidence, signers));
  if (policy.builder) r.push_back(check_builder(*policy.builder, provenance));
  if (policy.reproduced) r.push_back(check_reproduced(*policy.reproduced, evidence));
  if (policy.pinned_environment) {
    r.push_back(check_environment(*policy.pinned_environment, provenance));
  }
  if (policy.sources) r.push_back(check_sources(*policy.sources, provenance));
  if (policy.licenses) r.push_back(check_licenses(*policy.licenses, evidence));
  if (policy.no_setuid_files) r.push_back(check_setid(*policy.no_setuid_files, evidence));
  if (policy.non_root_user) r.push_back(check_user(*policy.non_root_user, evidence));
  if (policy.max_image_size) r.push_back(check_size(*policy.max_image_size, evidence));
  if (policy.known_vulnerabilities) {
    STRATA_TRY_ASSIGN(std::vector<TrustedKey> vex_keys,
                      rule_keys(policy.known_vulnerabilities->keys, keys));
    r.push_back(check_vulnerabilities(*policy.known_vulnerabilities, evidence, vex_keys));
  }
  return report;
}

Json report_to_json(const Policy& policy, const ImageEvidence& evidence,
                    const PolicyReport& report) {
  Json rules = Json::array();
  for (const RuleResult& r : report.results) {
    rules.push_back({{"rule", r.rule},
                     {"passed", r.passed},
                     {"evidence", r.evidence},
                     {"details", r.details},
                     {"line", r.loc.line}});
  }
  return {{"policy",
           {{"file", policy.file}, {"sha256", policy.sha256.str()}, {"apiVersion", kApiVersion}}},
          {"image", {{"source", evidence.source}, {"manifest", evidence.manifest.str()}}},
          {"passed", report.passed()},
          {"rules", std::move(rules)}};
}

int compare_versions(std::string_view a, std::string_view b) {
  auto split = [](std::string_view v) {
    size_t cut = v.find_first_of("-+");
    bool pre = cut != std::string_view::npos && v[cut] == '-';
    v = v.substr(0, cut);
    std::vector<int64_t> parts;
    while (!v.empty()) {
      size_t dot = v.find('.');
      std::string_view part = v.substr(0, dot);
      int64_t n = 0;
      for (char c : part) n = c >= '0' && c <= '9' ? n * 10 + (c - '0') : n;
      parts.push_back(n);
      v = dot == std::string_view::npos ? "" : v.substr(dot + 1);
    }
    return std::pair(parts, pre);
  };
  auto [pa, pre_a] = split(a);
  auto [pb, pre_b] = split(b);
  size_t n = std::max(pa.size(), pb.size());
  for (size_t i = 0; i < n; ++i) {
    int64_t x = i < pa.size() ? pa[i] : 0, y = i < pb.size() ? pb[i] : 0;
    if (x != y) return x < y ? -1 : 1;
  }
  if (pre_a != pre_b) return pre_a ? -1 : 1;
  return 0;
}

}  // namespace strata::builder::policy
