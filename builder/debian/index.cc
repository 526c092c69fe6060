#include "builder/debian/index.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <deque>

#include "builder/base/path.h"
#include "builder/debian/deb822.h"
#include "builder/debian/version.h"

namespace strata::builder::debian {
namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    size_t p = s.find(sep);
    out.push_back(s.substr(0, p));
    if (p == std::string_view::npos) break;
    s.remove_prefix(p + 1);
  }
  return out;
}

// Drops "[...]" and "<...>" restrictions from a relation.
std::string strip_restrictions(std::string_view s) {
  std::string out;
  int depth = 0;
  for (char c : s) {
    if (c == '[' || c == '<') {
      // "<<" and "<=" are operators inside parentheses, not restrictions.
      if (c == '<' && out.find('(') != std::string::npos && out.find(')') == std::string::npos) {
        out += c;
        continue;
      }
      ++depth;
      continue;
    }
    if ((c == ']' || c == '>') && depth > 0) {
      --depth;
      continue;
    }
    if (depth == 0) out += c;
  }
  return out;
}

Result<Relation> parse_relation(std::string_view text, std::string_view what) {
  std::string clean = strip_restrictions(text);
  std::string_view s = trim(clean);
  Relation r;
  size_t paren = s.find('(');
  std::string_view name = trim(s.substr(0, paren));
  size_t colon = name.find(':');
  if (colon != std::string_view::npos) name = name.substr(0, colon);
  auto bad = [&] {
    return Error(ErrorCode::kInvalidInput,
                 fmt::format("{}: malformed relation '{}'", what, trim(text)));
  };
  if (name.empty() || name.find_first_of(" \t") != std::string_view::npos) return bad();
  r.name = name;
  if (paren != std::string_view::npos) {
    size_t close = s.find(')', paren);
    if (close == std::string_view::npos) return bad();
    std::string_view inner = trim(s.substr(paren + 1, close - paren - 1));
    size_t op_end = inner.find_first_not_of("<>=");
    if (op_end == 0 || op_end == std::string_view::npos) return bad();
    r.op = inner.substr(0, op_end);
    r.version = trim(inner.substr(op_end));
    static const std::set<std::string> kOps = {"<<", "<=", "=", ">=", ">>", "<", ">"};
    if (!kOps.contains(r.op) || r.version.empty()) return bad();
  }
  return r;
}

}  // namespace

std::string Relation::str() const {
  return op.empty() ? name : fmt::format("{} ({} {})", name, op, version);
}

std::string alternatives_str(const Alternatives& alts) {
  std::string out;
  for (const Relation& r : alts) {
    if (!out.empty()) out += " | ";
    out += r.str();
  }
  return out;
}

Result<std::vector<Alternatives>> parse_relations(std::string_view field, std::string_view what) {
  std::vector<Alternatives> out;
  for (std::string_view group : split(field, ',')) {
    if (trim(group).empty()) continue;
    Alternatives alts;
    for (std::string_view alt : split(group, '|')) {
      STRATA_TRY_ASSIGN(Relation r, parse_relation(alt, what));
      alts.push_back(std::move(r));
    }
    out.push_back(std::move(alts));
  }
  return out;
}

Result<std::vector<IndexPackage>> index_packages(const std::vector<Stanza>& stanzas,
                                                 const std::string& base_url, size_t repository,
                                                 std::string_view what) {
  std::vector<IndexPackage> out;
  for (const Stanza& s : stanzas) {
    IndexPackage p;
    p.name = s.get_or("Package");
    std::string where = fmt::format("{}: package '{}'", what, p.name);
    auto missing = [&](std::string_view field) {
      return Error(ErrorCode::kInvalidInput, fmt::format("{}: no {} field", where, field));
    };
    if (p.name.empty()) return missing("Package");
    p.version = s.get_or("Version");
    if (!is_valid_version(p.version)) {
      return Error(ErrorCode::kInvalidInput,
                   fmt::format("{}: malformed Version '{}'", where, p.version));
    }
    p.architecture = s.get_or("Architecture");
    p.filename = s.get_or("Filename");
    if (p.filename.empty()) return missing("Filename");
    if (p.filename.starts_with('/') || path_escape(p.filename) != PathEscape::kNone) {
      return Error(ErrorCode::kInvalidInput,
                   fmt::format("{}: Filename '{}' leaves the repository", where, p.filename));
    }
    p.url = base_url + "/" + p.filename;
    std::string size = s.get_or("Size");
    auto [ptr, ec] = std::from_chars(size.data(), size.data() + size.size(), p.size);
    if (size.empty() || ec != std::errc() || ptr != size.data() + size.size() || p.size < 0) {
      return Error(ErrorCode::kInvalidInput, fmt::format("{}: malformed Size '{}'", where, size));
    }
    Result<Digest> digest = Digest::parse(s.get_or("SHA256"), true);
    if (!digest.ok()) return missing("valid SHA256");
    p.sha256 = *digest;
    p.essential = s.get_or("Essential") == "yes";
    for (const char* field : {"Pre-Depends", "Depends"}) {
      if (std::optional<std::string> v = s.get(field)) {
        STRATA_TRY_ASSIGN(std::vector<Alternatives> groups, parse_relations(*v, where));
        p.depends.insert(p.depends.end(), groups.begin(), groups.end());
      }
    }
    if (std::optional<std::string> v = s.get("Provides")) {
      STRATA_TRY_ASSIGN(std::vector<Alternatives> groups, parse_relations(*v, where));
      for (Alternatives& g : groups) {
        for (Relation& r : g) p.provides.push_back(std::move(r));
      }
    }
    p.repository = repository;
    out.push_back(std::move(p));
  }
  return out;
}

namespace {

class Resolver {
 public:
  Resolver(const std::vector<IndexPackage>& index, const std::map<std::string, std::string>& prefer)
      : prefer_(prefer) {
    for (const IndexPackage& p : index) {
      by_name_[p.name].push_back(&p);
      for (const Relation& r : p.provides) providers_[r.name].push_back({&p, r.version});
    }
  }

  Result<Resolution> run(const std::vector<std::string>& requested) {
    for (const std::string& name : requested) {
      if (chosen_.contains(name)) continue;
      Relation rel{.name = name};
      const IndexPackage* p = candidate(rel);
      if (p == nullptr) {
        return Error(ErrorCode::kInvalidInput,
                     fmt::format("no package '{}' in the repositories{}", name, available(rel)));
      }
      if (chosen_.contains(p->name)) continue;  // a virtual name already provided
      choose(p, "");
    }
    while (!queue_.empty()) {
      const IndexPackage* p = queue_.front();
      queue_.pop_front();
      for (const Alternatives& group : p->depends) STRATA_TRY(satisfy(p, group));
    }
    Resolution out;
    for (const auto& [name, pkg] : chosen_) {
      out.packages.push_back(*pkg);
      out.depends[name] = edges_[name];
    }
    return out;
  }

 private:
  struct Provider {
    const IndexPackage* package;
    std::string version;
  };

  // A chosen package satisfying `rel`: the package itself or one providing it.
  const IndexPackage* chosen_for(const Relation& rel) const {
    auto it = chosen_.find(rel.name);
    if (it != chosen_.end() &&
        (rel.op.empty() || version_satisfies(it->second->version, rel.op, rel.version))) {
      return it->second;
    }
    auto prov = providers_.find(rel.name);
    if (prov == providers_.end()) return nullptr;
    for (const Provider& pr : prov->second) {
      auto c = chosen_.find(pr.package->name);
      if (c == chosen_.end() || c->second != pr.package) continue;
      if (rel.op.empty() ||
          (!pr.version.empty() && version_satisfies(pr.version, rel.op, rel.version))) {
        return pr.package;
      }
    }
    return nullptr;
  }

  // The package to choose for `rel`, or nullptr. One whose name is already chosen at
  // another version is no candidate.
  const IndexPackage* candidate(const Relation& rel) const {
    const IndexPackage* best = nullptr;
    auto it = by_name_.find(rel.name);
    if (it != by_name_.end()) {
      auto pref = prefer_.find(rel.name);
      for (const IndexPackage* p : it->second) {
        if (!rel.op.empty() && !version_satisfies(p->version, rel.op, rel.version)) continue;
        if (pref != prefer_.end() && p->version == pref->second) return usable(p) ? p : nullptr;
        if (best == nullptr || compare_versions(p->version, best->version) > 0) best = p;
      }
      if (best != nullptr) return usable(best) ? best : nullptr;
    }
    auto prov = providers_.find(rel.name);
    if (prov == providers_.end()) return nullptr;
    for (const Provider& pr : prov->second) {
      if (!rel.op.empty() &&
          (pr.version.empty() || !version_satisfies(pr.version, rel.op, rel.version))) {
        continue;
      }
      if (!usable(pr.package)) continue;
      if (best == nullptr || pr.package->name < best->name ||
          (pr.package->name == best->name &&
           compare_versions(pr.package->version, best->version) > 0)) {
        best = pr.package;
      }
    }
    return best;
  }

  bool usable(const IndexPackage* p) const {
    auto c = chosen_.find(p->name);
    return c == chosen_.end() || c->second == p;
  }

  void choose(const IndexPackage* p, const std::string& parent) {
    chosen_[p->name] = p;
    parent_[p->name] = parent;
    queue_.push_back(p);
  }

  std::string chain(const std::string& name) const {
    std::vector<std::string> names;
    for (std::string n = name; !n.empty(); n = parent_.at(n)) {
      const IndexPackage* p = chosen_.at(n);
      names.push_back(fmt::format("{} ({})", p->name, p->version));
      if (names.size() > chosen_.size()) break;
    }
    std::reverse(names.begin(), names.end());
    return fmt::format("{}", fmt::join(names, " -> "));
  }

  std::string available(const Relation& rel) const {
    auto it = by_name_.find(rel.name);
    std::vector<std::string> versions;
    if (it != by_name_.end()) {
      for (const IndexPackage* p : it->second) versions.push_back(p->version);
    }
    auto prov = providers_.find(rel.name);
    if (prov != providers_.end()) {
      for (const Provider& pr : prov->second) {
        versions.push_back(fmt::format("{} {} provides it{}", pr.package->name, pr.package->version,
                                       pr.version.empty() ? "" : " at " + pr.version));
      }
    }
    if (versions.empty()) return "";
    return fmt::format(" (available: {})", fmt::join(versions, ", "));
  }

  Result<void> satisfy(const IndexPackage* p, const Alternatives& group) {
    for (const Relation& rel : group) {
      if (const IndexPackage* c = chosen_for(rel)) {
        edges_[p->name].insert(c->name);
        return Ok{};
      }
    }
    for (const Relation& rel : group) {
      if (const IndexPackage* c = candidate(rel)) {
        choose(c, p->name);
        edges_[p->name].insert(c->name);
        return Ok{};
      }
    }
    std::string why;
    for (const Relation& rel : group) {
      auto chosen = chosen_.find(rel.name);
      std::string avail = available(rel);
      if (chosen != chosen_.end()) {
        why += fmt::format("; {} {} is already chosen", rel.name, chosen->second->version);
      } else {
        why += fmt::format("; no package {} satisfies it{}", rel.name, avail);
      }
    }
    return Error(ErrorCode::kInvalidInput,
                 fmt::format("unsatisfiable dependency: {} needs '{}'{}", chain(p->name),
                             alternatives_str(group), why));
  }

  const std::map<std::string, std::string>& prefer_;
  std::map<std::string, std::vector<const IndexPackage*>> by_name_;
  std::map<std::string, std::vector<Provider>> providers_;
  std::map<std::string, const IndexPackage*> chosen_;
  std::map<std::string, std::string> parent_;
  std::map<std::string, std::set<std::string>> edges_;
  std::deque<const IndexPackage*> queue_;
};

}  // namespace

Result<Resolution> resolve(const std::vector<IndexPackage>& index,
                           const std::vector<std::string>& requested,
                           const std::map<std::string, std::string>& prefer) {
  return Resolver(index, prefer).run(requested);
}

}  // namespace strata::builder::debian
