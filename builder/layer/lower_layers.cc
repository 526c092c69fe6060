#include "builder/layer/lower_layers.h"

#include <fmt/format.h>

#include <deque>
#include <optional>
#include <utility>

#include "builder/tar/layer_reader.h"

namespace strata::builder {
namespace {

// Linux's limit on symlinks followed in one path lookup.
constexpr int kMaxSymlinks = 40;
constexpr std::string_view kWhiteout = ".wh.";
constexpr std::string_view kOpaque = ".wh..wh..opq";

std::string display(const std::string& relative) { return "/" + relative; }

Error located(const Loc& origin, std::string message) {
  if (origin.file.empty()) return Error(ErrorCode::kSpec, std::move(message));
  return Error::spec(origin, std::move(message));
}

std::vector<std::string> split(std::string_view path) {
  std::vector<std::string> out;
  for (size_t start = 0; start <= path.size();) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > start) out.emplace_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

std::string join(const std::vector<std::string>& components) {
  std::string out;
  for (const std::string& c : components) out += out.empty() ? c : "/" + c;
  return out;
}

// A tar member's name as a path relative to the root ("./usr/lib/" -> "usr/lib"); nullopt for
// the root itself and for names with ".." (no runtime places those where they say).
std::optional<std::string> member_path(const std::string& name) {
  std::vector<std::string> out;
  for (std::string& c : split(name)) {
    if (c == ".") continue;
    if (c == "..") return std::nullopt;
    out.push_back(std::move(c));
  }
  if (out.empty()) return std::nullopt;
  return join(out);
}

// Resolves every component of `path` through the lower layers' symlinks, the way a lookup in
// the merged image would. Each symlink followed must lead to a directory of the lower layers
// without leaving the image root.
Result<std::string> resolve(const LowerLayers& lower, const std::string& path,
                            const LayerEntry& entry) {
  struct Step {
    std::string name;
    const LowerLayers::Node* check = nullptr;  // set: `done` must now be a directory
    std::string link;                          // the symlink `check` is
  };
  auto failure = [&](const std::string& link, const LowerLayers::Node& node, const char* why) {
    return located(entry.origin, fmt::format("cannot install {}: {} is a symlink to '{}' in {}, "
                                             "which {}; install it at a path that is a "
                                             "directory there",
                                             display(entry.path), display(link), node.target,
                                             lower.where(node), why));
  };
  std::deque<Step> todo;
  for (std::string& c : split(path)) todo.push_back({.name = std::move(c)});
  std::vector<std::string> done;
  const LowerLayers::Node* last = nullptr;
  std::string last_link;
  int followed = 0;
  while (!todo.empty()) {
    Step step = std::move(todo.front());
    todo.pop_front();
    if (step.check != nullptr) {
      const LowerLayers::Node* at = lower.find(join(done));
      if (done.empty() || (at != nullptr && at->kind == LowerLayers::Kind::kDirectory)) continue;
      return failure(step.link, *step.check, "does not lead to a directory there");
    }
    if (step.name == ".") continue;
    if (step.name == "..") {
      if (done.empty()) {
        if (last == nullptr) return located(entry.origin, "path leaves the image root");
        return failure(last_link, *last, "leads out of the image root");
      }
      done.pop_back();
      continue;
    }
    done.push_back(std::move(step.name));
    std::string here = join(done);
    const LowerLayers::Node* node = lower.find(here);
    if (node == nullptr || node->kind == LowerLayers::Kind::kDirectory) continue;
    if (node->target.empty()) return failure(here, *node, "is empty");
    if (++followed > kMaxSymlinks) return failure(here, *node, "loops");
    last = node;
    last_link = here;
    done.pop_back();
    if (node->target.front() == '/') done.clear();
    std::vector<Step> expansion;
    for (std::string& c : split(node->target)) expansion.push_back({.name = std::move(c)});
    expansion.push_back({.check = node, .link = here});
    todo.insert(todo.begin(), std::make_move_iterator(expansion.begin()),
                std::make_move_iterator(expansion.end()));
  }
  return join(done);
}

}  // namespace

const LowerLayers::Node* LowerLayers::find(const std::string& path) const {
  auto it = nodes_.find(path);
  return it == nodes_.end() ? nullptr : &it->second;
}

void LowerLayers::remove(const std::string& path) {
  auto it = nodes_.find(path);
  if (it == nodes_.end()) return;
  if (it->second.kind == Kind::kSymlink) --symlinks_;
  it = nodes_.erase(it);
  // In strata-det/1 order everything below a path follows it directly.
  std::string prefix = path + "/";
  while (it != nodes_.end() && it->first.starts_with(prefix)) {
    if (it->second.kind == Kind::kSymlink) --symlinks_;
    it = nodes_.erase(it);
  }
}

void LowerLayers::remove_below(const std::string& dir) {
  if (dir.empty()) {
    nodes_.clear();
    symlinks_ = 0;
    return;
  }
  auto it = nodes_.upper_bound(dir);
  std::string prefix = dir + "/";
  while (it != nodes_.end() && it->first.starts_with(prefix)) {
    if (it->second.kind == Kind::kSymlink) --symlinks_;
    it = nodes_.erase(it);
  }
}

void LowerLayers::put(const std::string& path, Node node) {
  auto it = nodes_.find(path);
  if (it != nodes_.end() && it->second.kind == Kind::kDirectory && node.kind == Kind::kDirectory) {
    return;  // a directory over a directory: what is below it stays
  }
  remove(path);
  if (node.kind == Kind::kSymlink) ++symlinks_;
  nodes_.emplace(path, std::move(node));
}

Result<void> LowerLayers::add_blob(const std::string& path, const std::string& where,
                                   const std::optional<Digest>& diff_id) {
  size_t index = wheres_.size();
  wheres_.push_back(where);
  // Whiteouts hide only what the layers below hold, so this layer's own directories and
  // symlinks are merged after all of its entries are read.
  std::vector<std::pair<std::string, Node>> added;
  Digest actual;
  STRATA_TRY(read_layer_file(
      path,
      [&](const ReadEntry& e) -> Result<void> {
        std::optional<std::string> rel = member_path(e.path);
        if (!rel) return Ok{};
        size_t slash = rel->rfind('/');
        std::string dir = slash == std::string::npos ? "" : rel->substr(0, slash);
        std::string name = slash == std::string::npos ? *rel : rel->substr(slash + 1);
        if (name == kOpaque) {
          remove_below(dir);
        } else if (name.starts_with(kWhiteout)) {
          std::string hidden = name.substr(kWhiteout.size());
          remove(dir.empty() ? hidden : dir + "/" + hidden);
        } else if (e.type == EntryType::kDirectory && !e.is_other_type) {
          added.push_back({*rel, Node{.kind = Kind::kDirectory, .where = index}});
        } else if (e.type == EntryType::kSymlink && !e.is_other_type) {
          added.push_back(
              {*rel, Node{.kind = Kind::kSymlink, .target = e.link_target, .where = index}});
        } else {
          remove(*rel);
        }
        return Ok{};
      },
      &actual));
  if (diff_id && actual != *diff_id) {
    return Error(ErrorCode::kDigestMismatch,
                 fmt::format("{}: layer {}: diff_id mismatch: the config says {}, the layer's "
                             "tar is {}",
                             where, path, diff_id->str(), actual.str()));
  }
  for (auto& [p, node] : added) put(p, std::move(node));
  return Ok{};
}

void LowerLayers::add_entry(const LayerEntry& e, size_t where) {
  if (e.type == EntryType::kDirectory) {
    put(e.path, {.kind = Kind::kDirectory, .where = where});
  } else if (e.type == EntryType::kSymlink) {
    put(e.path, {.kind = Kind::kSymlink, .target = e.link_target, .where = where});
  } else {
    remove(e.path);
    // A whiteout (a run layer's deletions, builder/run_layer/) hides what it names.
    size_t slash = e.path.rfind('/');
    std::string dir = slash == std::string::npos ? "" : e.path.substr(0, slash);
    std::string name = slash == std::string::npos ? e.path : e.path.substr(slash + 1);
    if (name.starts_with(".wh.") && !name.starts_with(".wh..wh.") && name.size() > 4)
      remove(dir.empty() ? name.substr(4) : dir + "/" + name.substr(4));
  }
}

void LowerLayers::add_entries(const std::vector<LayerEntry>& entries, const std::string& where) {
  wheres_.push_back(where);
  for (const LayerEntry& e : entries) add_entry(e, wheres_.size() - 1);
}

Result<void> LowerLayers::add_layer(const LayerEntries& entries, const std::string& where) {
  wheres_.push_back(where);
  return entries.for_each([&](const LayerEntry& e, bool) -> Result<void> {
    add_entry(e, wheres_.size() - 1);
    return Ok{};
  });
}

Result<std::vector<LayerEntry>> place_entries(std::vector<LayerEntry> entries,
                                              const LowerLayers& lower) {
  if (!lower.has_symlinks()) return entries;
  // Where each entry goes; nullopt: a directory the lower layers' symlink stands for.
  std::vector<std::optional<std::string>> placed(entries.size());
  bool changed = false;
  std::optional<std::pair<std::string, std::string>> last_parent;  // as written -> resolved
  for (size_t i = 0; i < entries.size(); ++i) {
    const LayerEntry& e = entries[i];
    size_t slash = e.path.rfind('/');
    std::string parent = slash == std::string::npos ? "" : e.path.substr(0, slash);
    std::string name = slash == std::string::npos ? e.path : e.path.substr(slash + 1);
    if (!last_parent || last_parent->first != parent) {
      STRATA_TRY_ASSIGN(std::string resolved, resolve(lower, parent, e));
      last_parent.emplace(parent, std::move(resolved));
    }
    std::string dest = last_parent->second.empty() ? name : last_parent->second + "/" + name;
    const LowerLayers::Node* below = lower.find(dest);
    if (e.type == EntryType::kDirectory && below != nullptr &&
        below->kind == LowerLayers::Kind::kSymlink) {
      STRATA_TRY(resolve(lower, dest, e));  // it must lead to a directory
      changed = true;
      continue;
    }
    if (dest != e.path) changed = true;
    placed[i] = std::move(dest);
  }
  if (!changed) return entries;

  // Back into strata-det/1 order, with the parents the moved entries need; a hardlink
  // follows the file it names to its new place.
  LayerTree tree;
  std::map<std::string, std::string> moved;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (!placed[i]) continue;
    LayerEntry e = std::move(entries[i]);
    std::string old = std::exchange(e.path, *placed[i]);
    if (e.type == EntryType::kHardlink) {
      auto target = moved.find(e.link_target);
      tree.add_hardlink(e.path, target == moved.end() ? e.link_target : target->second, e.origin);
      continue;
    }
    if (e.type == EntryType::kRegular) moved[old] = e.path;
    STRATA_TRY(tree.add(std::move(e)));
  }
  return std::move(tree).sorted_entries();
}

Result<LayerEntries> place_layer(LayerEntries entries, const LowerLayers& lower) {
  if (!lower.has_symlinks()) return entries;
  STRATA_TRY_ASSIGN(std::vector<LayerEntry> list, entries.to_vector());
  entries = {};
  STRATA_TRY_ASSIGN(list, place_entries(std::move(list), lower));
  return LayerEntries(std::move(list));
}

}  // namespace strata::builder
