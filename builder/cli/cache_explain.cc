#include "builder/cli/cache_explain.h"

#include <fmt/format.h>

#include "builder/base/time.h"
#include "builder/cli/progress.h"
#include "builder/diff/json_diff.h"

namespace strata::builder::cli {
namespace {

std::string value_text(const std::optional<Json>& v) {
  if (!v) return "(absent)";
  Result<std::string> text = canonical_json(*v);
  return text.ok() ? *text : v->dump();
}

// "  /pointer: a -> b" for each field where preimage `a` and `b` differ.
std::vector<std::string> field_lines(const Json& a, const Json& b) {
  std::vector<diff::FieldDiff> fields;
  diff::diff_json("key", a, b, "", fields);
  std::vector<std::string> lines;
  for (const diff::FieldDiff& f : fields) {
    lines.push_back(fmt::format("  {}: {} -> {}", f.pointer, value_text(f.a), value_text(f.b)));
  }
  return lines;
}

// What the remote cache says about a miss in both caches: the entry of the package whose
// preimage differs from this build's in the fewest fields (the newest among equals).
void add_remote_lines(const std::string& who, const build::CacheExplanation& e,
                      std::vector<std::string>& lines) {
  const build::RemoteEntries& r = *e.remote;
  if (!r.note.empty()) {
    lines.push_back(fmt::format("{}: the {} could not be searched: {}", who, r.where, r.note));
    return;
  }
  std::string looked = fmt::format("{} of its {} entries looked at", r.examined, r.total);
  const build::RemoteEntry* nearest = nullptr;
  std::vector<std::string> nearest_lines;
  for (const build::RemoteEntry& entry : r.entries) {
    std::vector<std::string> fl = field_lines(entry.preimage, e.preimage);
    bool better = nearest == nullptr || fl.size() < nearest_lines.size() ||
                  (fl.size() == nearest_lines.size() &&
                   entry.created_s.value_or(0) > nearest->created_s.value_or(0));
    if (better) {
      nearest = &entry;
      nearest_lines = std::move(fl);
    }
  }
  if (nearest == nullptr) {
    lines.push_back(fmt::format(
        "{}: the {} has no entry for this key, and none for the package under another key "
        "that a trusted key signed ({})",
        who, r.where, looked));
    return;
  }
  std::string written =
      nearest->created_s ? fmt::format(", written {}", rfc3339_utc(*nearest->created_s)) : "";
  lines.push_back(fmt::format(
      "{}: the {} has no entry for this key; the nearest of its {} for the package is {} (key "
      "{}{}; {}), which differs in:",
      who, r.where, r.entries.size(), nearest->name, nearest->key.str(), written, looked));
  if (nearest_lines.empty()) {
    nearest_lines.push_back("  (the preimages are equal: written by another version of strata?)");
  }
  lines.insert(lines.end(), nearest_lines.begin(), nearest_lines.end());
}

}  // namespace

std::vector<std::string> explain_cache_lines(const std::string& spec_name,
                                             const build::CacheExplanation& e) {
  std::vector<std::string> lines;
  const std::string who = fmt::format("strata: cache: package '{}'", e.package);
  const std::string status = e.hit ? "hit"
                             : e.remote_hit
                                 ? "not in the local cache, taken from the registry cache"
                                 : "miss, building";
  if (!e.previous) {
    lines.push_back(fmt::format("{}: {} (key {}); no previous key is recorded for it in spec '{}'",
                                who, status, e.key.str(), spec_name));
  } else if (e.previous->key == e.key) {
    lines.push_back(
        e.hit || e.remote_hit
            ? fmt::format("{}: {} (key {}, the same as last time)", who, status, e.key.str())
            : fmt::format("{}: miss, building (key {}, the same as last time: its "
                          "entry was pruned or damaged)",
                          who, e.key.str()));
  } else {
    lines.push_back(fmt::format("{}: {} (key {}; last time {}); the key's inputs changed:", who,
                                status, e.key.str(), e.previous->key.str()));
    std::vector<std::string> fields = field_lines(e.previous->preimage, e.preimage);
    if (fields.empty()) fields.push_back("  (the recorded preimages are equal: an older strata?)");
    lines.insert(lines.end(), fields.begin(), fields.end());
  }
  if (e.remote) add_remote_lines(who, e, lines);
  return lines;
}

void add_cache_explanation(build::BuildObserver& observer, const std::string& spec_name,
                           const std::string& package) {
  observer.explained = [spec_name, package](const build::CacheExplanation& e) {
    if (e.package != package) return;
    for (const std::string& line : explain_cache_lines(spec_name, e)) print_progress_line(line);
  };
}

}  // namespace strata::builder::cli
