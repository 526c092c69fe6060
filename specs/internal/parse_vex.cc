// The `vex:` section (docs/vex.md): statements about vulnerabilities, written inline or in a
// YAML file beside the spec, checked as OpenVEX v0.2.0 requires of a statement.
#include <fmt/format.h>

#include "specs/internal/sections.h"
#include "specs/values.h"

namespace strata::specs::internal {
namespace {

const std::vector<std::string>& statuses() {
  static const std::vector<std::string> kStatuses = {"not_affected", "affected", "fixed",
                                                     "under_investigation"};
  return kStatuses;
}

// OpenVEX v0.2.0 "Status Justifications".
const std::vector<std::string>& justifications() {
  static const std::vector<std::string> kJustifications = {
      "component_not_present", "vulnerable_code_not_present", "vulnerable_code_not_in_execute_path",
      "vulnerable_code_cannot_be_controlled_by_adversary", "inline_mitigations_already_exist"};
  return kJustifications;
}

bool check_id(Reader& r, const std::string& id, const Loc& loc) {
  if (is_vulnerability_id(id)) return true;
  r.error(loc, fmt::format("'{}' is not a vulnerability id (expected CVE-YYYY-NNNN, "
                           "GHSA-xxxx-xxxx-xxxx or an OSV id such as PYSEC-2024-1)",
                           id));
  return false;
}

// A free-text field: a non-empty string.
std::string read_text(Reader& r, const Field& f) {
  std::optional<std::string> text = read_string(r, f);
  if (text && text->empty()) r.error(f.loc, fmt::format("{} is empty", f.key));
  return text.value_or("");
}

void read_aliases(Reader& r, const Field& f, VexStatement& s) {
  for (Ref& ref : read_string_list(r, f)) {
    if (!check_id(r, ref.name, ref.loc)) continue;
    if (ref.name == s.vulnerability ||
        std::find(s.aliases.begin(), s.aliases.end(), ref.name) != s.aliases.end()) {
      r.error(ref.loc, fmt::format("alias '{}' is listed twice", ref.name));
      continue;
    }
    s.aliases.push_back(std::move(ref.name));
  }
}

// OpenVEX's rules for a status: not_affected says why (a justification or an impact
// statement, or both), affected says what to do (an action statement); those fields belong
// to their status only.
void check_status_fields(Reader& r, const MapReader& m, const Field& status, const std::string& s) {
  std::optional<Field> justification = m.get("justification");
  std::optional<Field> impact = m.get("impact_statement");
  std::optional<Field> action = m.get("action_statement");
  if (s == "not_affected" && !justification && !impact) {
    r.error(status.loc,
            "status 'not_affected' needs a justification or an impact_statement saying why "
            "(OpenVEX v0.2.0)");
  }
  if (s == "affected" && !action) {
    r.error(status.loc,
            "status 'affected' needs an action_statement saying what users should do "
            "(OpenVEX v0.2.0)");
  }
  for (const std::optional<Field>& f : {justification, impact}) {
    if (f && s != "not_affected") {
      r.error(f->key_loc, fmt::format("{} is only for status 'not_affected'", f->key));
    }
  }
  if (action && s != "affected") {
    r.error(action->key_loc, "action_statement is only for status 'affected'");
  }
}

VexStatement parse_statement(Context& c, const Value& v) {
  Reader& r = c.reader;
  MapReader m(r, v,
              {"vulnerability", "aliases", "packages", "debs", "status", "justification",
               "impact_statement", "action_statement", "status_notes"});
  VexStatement s;
  s.loc = v.loc;
  if (std::optional<Field> f = m.require("vulnerability")) {
    std::optional<std::string> id = read_string(r, *f);
    if (id && check_id(r, *id, f->loc)) s.vulnerability = *id;
  }
  if (std::optional<Field> f = m.get("aliases")) read_aliases(r, *f, s);
  if (std::optional<Field> f = m.get("packages")) s.packages = read_string_list(r, *f);
  if (std::optional<Field> f = m.get("debs")) s.debs = read_string_list(r, *f);
  if (std::optional<Field> f = m.get("justification")) {
    s.justification = read_enum(r, *f, "justification", justifications()).value_or("");
  }
  if (std::optional<Field> f = m.get("impact_statement")) s.impact_statement = read_text(r, *f);
  if (std::optional<Field> f = m.get("action_statement")) s.action_statement = read_text(r, *f);
  if (std::optional<Field> f = m.get("status_notes")) s.status_notes = read_text(r, *f);
  if (std::optional<Field> f = m.require("status")) {
    s.status = read_enum(r, *f, "status", statuses()).value_or("");
    if (!s.status.empty()) check_status_fields(r, m, *f, s.status);
  }
  return s;
}

}  // namespace

std::vector<VexStatement> parse_vex_statements(Context& c, const Value& v) {
  std::vector<VexStatement> out;
  for (const Value& item : read_sequence(c.reader, v)) out.push_back(parse_statement(c, item));
  return out;
}

Vex parse_vex(Context& c, const Value& v) {
  Reader& r = c.reader;
  Vex vex;
  vex.loc = v.loc;
  if (v.node.IsScalar()) {
    std::optional<std::string> text = read_string(r, v);
    std::optional<std::string> rel = text ? read_rel_path(c, v, "vex", *text) : std::nullopt;
    if (rel) {
      vex.file = *rel;
      if (c.options.check_files) check_local_file(c, v, "vex", *rel, false);
    }
  } else if (v.node.IsSequence() || !v.node.IsDefined() || v.node.IsNull()) {
    vex.statements = parse_vex_statements(c, v);
    if (vex.statements.empty()) {
      r.error(v.loc, "vex is empty: list statements (- vulnerability: …) or remove it");
    }
  } else {
    r.error(v.loc, fmt::format("vex must be a list of statements or the name of a YAML file "
                               "holding them, got {}",
                               kind_of(v.node)));
  }
  return vex;
}

void check_vex(Reader& r, const Spec& spec, const std::vector<VexStatement>& statements) {
  std::vector<std::string> packages, debs;
  for (const Package& p : spec.packages) packages.push_back(p.name);
  for (const LayerSpec& layer : spec.image.layers) {
    for (const Ref& d : layer.debs) debs.push_back(d.name);
  }
  // (vulnerability, "package NAME" / "deb NAME" / "the image") -> where it was stated
  std::map<std::pair<std::string, std::string>, Loc> stated;
  auto state = [&](const VexStatement& s, const std::string& what, const Loc& loc) {
    if (s.vulnerability.empty()) return;
    auto [it, inserted] = stated.emplace(std::pair(s.vulnerability, what), loc);
    if (!inserted) {
      r.error(loc, fmt::format("{} is already stated for {} (line {})", s.vulnerability, what,
                               it->second.line));
    }
  };
  for (const VexStatement& s : statements) {
    check_refs(r, s.packages, packages, "package");
    check_refs(r, s.debs, debs, "deb");
    for (const Ref& p : s.packages) state(s, fmt::format("package '{}'", p.name), p.loc);
    for (const Ref& d : s.debs) state(s, fmt::format("deb '{}'", d.name), d.loc);
    if (s.packages.empty() && s.debs.empty()) state(s, "the image", s.loc);
  }
}

}  // namespace strata::specs::internal
