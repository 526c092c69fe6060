// find_pin_sites and apply_pin_edits (specs/pins.h): the pins' byte positions from
// yaml-cpp's marks, checked against the text before anything is edited.
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "specs/pins.h"

namespace strata::specs {
namespace {

Error located(const std::string& file, const YAML::Mark& mark, std::string message) {
  return Error(ErrorCode::kSpec, std::move(message)).at(Loc{file, mark.line + 1, mark.column + 1});
}

// Where a scalar's text is in the file: [begin, end) of its characters, without quotes, and
// `after`, the offset just past it (past a closing quote). Only scalars written on one line
// without escapes can be edited in place: their text in the file is their value.
struct ScalarSpan {
  size_t begin = 0;
  size_t end = 0;
  size_t after = 0;
};

Result<ScalarSpan> scalar_span(std::string_view yaml, const YAML::Node& node,
                               const std::string& file, std::string_view what) {
  const YAML::Mark mark = node.Mark();
  const std::string& value = node.Scalar();
  if (mark.pos < 0 || static_cast<size_t>(mark.pos) >= yaml.size()) {
    return located(file, mark, fmt::format("cannot find {} in the text", what));
  }
  size_t pos = static_cast<size_t>(mark.pos);
  // An alias (`sha256: *pin`) has its anchor's position: editing it would change every user.
  if (yaml[pos] == '&' || yaml[pos] == '*' || yaml[pos] == '!') {
    return located(file, mark,
                   fmt::format("cannot rewrite {} in place: it has a YAML {}; write the value "
                               "itself",
                               what, yaml[pos] == '!' ? "tag" : "anchor or alias"));
  }
  bool quoted = yaml[pos] == '"' || yaml[pos] == '\'';
  size_t begin = quoted ? pos + 1 : pos;
  if (yaml.substr(begin, value.size()) != value || value.find('\n') != std::string::npos ||
      (quoted &&
       (begin + value.size() >= yaml.size() || yaml[begin + value.size()] != yaml[pos]))) {
    return located(file, mark,
                   fmt::format("cannot rewrite {} in place: write it as one plain or quoted "
                               "scalar on one line, without escapes",
                               what));
  }
  size_t end = begin + value.size();
  return ScalarSpan{begin, end, quoted ? end + 1 : end};
}

// The mapping entry `key` of `map` (key node and value node), if present.
std::optional<std::pair<YAML::Node, YAML::Node>> entry(const YAML::Node& map,
                                                       std::string_view key) {
  if (!map.IsMap()) return std::nullopt;
  for (const auto& kv : map) {
    if (kv.first.IsScalar() && kv.first.Scalar() == key) return std::pair(kv.first, kv.second);
  }
  return std::nullopt;
}

Result<PinSite> source_site(std::string_view yaml, const YAML::Node& source,
                            const std::string& file) {
  PinSite site;
  site.kind = PinSite::Kind::kSource;
  if (auto name = entry(source, "name"); name && name->second.IsScalar()) {
    site.name = name->second.Scalar();
  }
  std::string what = fmt::format("the sha256 of source '{}'", site.name);
  if (auto sha = entry(source, "sha256"); sha && sha->second.IsScalar()) {
    STRATA_TRY_ASSIGN(ScalarSpan span, scalar_span(yaml, sha->second, file, what));
    size_t hex = span.begin;
    if (yaml.substr(hex, 7) == "sha256:") hex += 7;
    Result<Digest> digest = Digest::parse(yaml.substr(hex, span.end - hex), true);
    if (!digest.ok()) {
      return located(file, sha->second.Mark(), fmt::format("{} is not 64 hex digits", what));
    }
    site.pinned = *digest;
    site.begin = hex;
    site.end = span.end;
    const YAML::Mark m = sha->second.Mark();
    site.loc = Loc{file, m.line + 1, m.column + 1};
    return site;
  }
  auto origin = entry(source, "url");
  if (!origin) origin = entry(source, "path");
  if (!origin || !origin->second.IsScalar()) {
    return located(file, source.Mark(),
                   fmt::format("source '{}' has neither url nor path", site.name));
  }
  STRATA_TRY_ASSIGN(ScalarSpan span, scalar_span(yaml, origin->second, file,
                                                 fmt::format("source '{}''s {}", site.name,
                                                             origin->first.Scalar())));
  const YAML::Mark m = origin->second.Mark();
  site.loc = Loc{file, m.line + 1, m.column + 1};
  bool flow = source.Mark().pos >= 0 && yaml[static_cast<size_t>(source.Mark().pos)] == '{';
  if (flow) {
    site.begin = site.end = span.after;
    site.insert = ", sha256: %s";
  } else {
    // At the end of the value's line, so a trailing comment stays where it was; indented
    // like the url/path key.
    size_t eol = yaml.find('\n', span.after);
    site.begin = site.end = eol == std::string_view::npos ? yaml.size() : eol;
    bool crlf = eol != std::string_view::npos && eol > 0 && yaml[eol - 1] == '\r';
    if (crlf) site.begin = site.end = eol - 1;
    site.insert = fmt::format("{}{}sha256: %s", crlf ? "\r\n" : "\n",
                              std::string(static_cast<size_t>(origin->first.Mark().column), ' '));
  }
  return site;
}

Result<PinSite> image_site(std::string_view yaml, const YAML::Node& value, std::string name,
                           const std::string& file) {
  PinSite site;
  site.kind = PinSite::Kind::kImage;
  site.name = std::move(name);
  STRATA_TRY_ASSIGN(ScalarSpan span, scalar_span(yaml, value, file, site.name));
  const YAML::Mark m = value.Mark();
  site.loc = Loc{file, m.line + 1, m.column + 1};
  std::string_view text = yaml.substr(span.begin, span.end - span.begin);
  size_t at = text.rfind('@');
  if (at == std::string_view::npos) {
    site.begin = site.end = span.end;
    site.insert = "@sha256:%s";
    return site;
  }
  std::string_view digest = text.substr(at + 1);
  Result<Digest> parsed = Digest::parse(digest);
  if (!parsed.ok()) return located(file, m, fmt::format("{} has no sha256 digest", site.name));
  site.pinned = *parsed;
  site.begin = span.begin + at + 1 + 7;  // past "@sha256:"
  site.end = span.end;
  return site;
}

}  // namespace

Result<std::vector<PinSite>> find_pin_sites(std::string_view yaml, const std::string& file) {
  YAML::Node doc;
  try {
    doc = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return located(file, e.mark, e.msg.empty() ? "malformed YAML" : e.msg);
  }
  std::vector<PinSite> sites;
  if (auto sources = entry(doc, "sources"); sources && sources->second.IsSequence()) {
    for (const YAML::Node& source : sources->second) {
      if (!source.IsMap()) continue;
      STRATA_TRY_ASSIGN(PinSite site, source_site(yaml, source, file));
      sites.push_back(std::move(site));
    }
  }
  if (auto image = entry(doc, "image")) {
    if (auto base = entry(image->second, "base");
        base && base->second.IsScalar() && base->second.Scalar() != "scratch") {
      STRATA_TRY_ASSIGN(PinSite site, image_site(yaml, base->second, "image.base", file));
      sites.push_back(std::move(site));
    }
  }
  if (auto env = entry(doc, "environment")) {
    if (auto image = entry(env->second, "image"); image && image->second.IsScalar()) {
      STRATA_TRY_ASSIGN(PinSite site, image_site(yaml, image->second, "environment.image", file));
      sites.push_back(std::move(site));
    }
  }
  std::sort(sites.begin(), sites.end(),
            [](const PinSite& a, const PinSite& b) { return a.begin < b.begin; });
  return sites;
}

std::string apply_pin_edits(std::string_view yaml, std::vector<PinEdit> edits) {
  std::sort(edits.begin(), edits.end(),
            [](const PinEdit& a, const PinEdit& b) { return a.site->begin < b.site->begin; });
  std::string out;
  out.reserve(yaml.size() + edits.size() * 80);
  size_t pos = 0;
  for (const PinEdit& edit : edits) {
    const PinSite& site = *edit.site;
    out.append(yaml.substr(pos, site.begin - pos));
    if (site.insert.empty()) {
      out.append(edit.digest.hex);
    } else {
      size_t mark = site.insert.find("%s");
      out.append(site.insert.substr(0, mark));
      out.append(edit.digest.hex);
      out.append(site.insert.substr(mark + 2));
    }
    pos = site.end;
  }
  out.append(yaml.substr(pos));
  return out;
}

}  // namespace strata::specs
