#include "builder/cli/cache_explain.h"

#include <fmt/format.h>

#include "builder/cli/progress.h"
#include "builder/diff/json_diff.h"

namespace strata::builder::cli {
namespace {

std::string value_text(const std::optional<Json>& v) {
  if (!v) return "(absent)";
  Result<std::string> text = canonical_json(*v);
  return text.ok() ? *text : v->dump();
}

}  // namespace

std::vector<std::string> explain_cache_lines(const std::string& spec_name,
                                             const build::CacheExplanation& e) {
  std::vector<std::string> lines;
  const std::string who = fmt::format("strata: cache: package '{}'", e.package);
  if (!e.previous) {
    lines.push_back(fmt::format("{}: {} (key {}); no previous key is recorded for it in spec '{}'",
                                who, e.hit ? "hit" : "miss, building", e.key.str(), spec_name));
    return lines;
  }
  if (e.previous->key == e.key) {
    lines.push_back(e.hit ? fmt::format("{}: hit (key {}, the same as last time)", who, e.key.str())
                          : fmt::format("{}: miss, building (key {}, the same as last time: its "
                                        "entry was pruned or damaged)",
                                        who, e.key.str()));
    return lines;
  }
  lines.push_back(fmt::format("{}: {} (key {}; last time {}); the key's inputs changed:", who,
                              e.hit ? "hit" : "miss, building", e.key.str(),
                              e.previous->key.str()));
  std::vector<diff::FieldDiff> fields;
  diff::diff_json("key", e.previous->preimage, e.preimage, "", fields);
  for (const diff::FieldDiff& f : fields) {
    lines.push_back(fmt::format("  {}: {} -> {}", f.pointer, value_text(f.a), value_text(f.b)));
  }
  if (fields.empty()) lines.push_back("  (the recorded preimages are equal: an older strata?)");
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
