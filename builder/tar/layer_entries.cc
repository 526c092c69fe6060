// LayerEntries' passes: the held list alone, or merged with the host directories a layer
// copies, each walked depth first with its names in byte order (strata-det/1 order).
#include <fmt/format.h>

#include <map>
#include <unordered_set>
#include <utility>

#include "builder/tar/host_entry.h"
#include "builder/tar/tree.h"

namespace strata::builder {
namespace {

// What a pass reads next from one source: the held list (source 0) or a host walk.
struct Head {
  const LayerEntry* entry = nullptr;  // nullptr: this source is done
  uint32_t seq = 0;
  bool implicit = false;
  HostEntry host;  // a walk's current entry (`entry` points at host.entry)
};

// Two or more sources with one path: directories merge (an explicit one over an implicit
// one, else the one added last sets the attributes, as LayerTree::add does); anything else
// is the error LayerTree would have reported. Returns the winner's index in `heads`.
Result<size_t> merge_same_path(const std::vector<Head>& heads, const std::vector<size_t>& same) {
  size_t winner = same.front();
  for (size_t k = 1; k < same.size(); ++k) {
    const Head& h = heads[same[k]];
    const Head& w = heads[winner];
    bool both_dirs =
        h.entry->type == EntryType::kDirectory && w.entry->type == EntryType::kDirectory;
    if (!both_dirs) {
      const Head& implicit = h.implicit ? h : w;
      const Head& other = h.implicit ? w : h;
      if (implicit.implicit) {
        return layer_tree_error(
            other.entry->origin,
            fmt::format("/{} cannot be {}: other entries in this layer are below it, so it must "
                        "be a directory",
                        other.entry->path, entry_type_name(other.entry->type)));
      }
      const Head& first = h.seq < w.seq ? h : w;
      const Head& second = h.seq < w.seq ? w : h;
      return layer_tree_error(second.entry->origin,
                              fmt::format("/{} appears twice in one layer{}", second.entry->path,
                                          first_from(first.entry->origin)));
    }
    if (w.implicit || (!h.implicit && h.seq > w.seq)) winner = same[k];
  }
  return winner;
}

}  // namespace

Result<void> LayerEntries::for_each(const LayerEntryVisitor& visit) const {
  std::unordered_set<std::string_view> list_targets;  // the held list's hardlink targets
  for (const LayerEntry& e : list_) {
    if (e.type == EntryType::kHardlink) list_targets.insert(e.link_target);
  }
  if (dirs_.empty()) {
    for (const LayerEntry& e : list_) STRATA_TRY(visit(e, list_targets.contains(e.path)));
    return Ok{};
  }
  std::vector<HostWalk> walks;
  walks.reserve(dirs_.size());
  std::vector<Head> heads(dirs_.size() + 1);
  size_t listed = 0;  // the held list's next entry
  auto advance = [&](size_t source) -> Result<void> {
    Head& h = heads[source];
    h.entry = nullptr;
    if (source == 0) {
      if (listed < list_.size()) {
        h = {.entry = &list_[listed], .seq = held_[listed].seq, .implicit = held_[listed].implicit};
        ++listed;
      }
      return Ok{};
    }
    STRATA_TRY_ASSIGN(bool more, walks[source - 1].next(h.host));
    if (more) h.entry = &h.host.entry;
    return Ok{};
  };
  STRATA_TRY(advance(0));
  for (size_t d = 0; d < dirs_.size(); ++d) {
    const HostDir& dir = dirs_[d];
    walks.emplace_back(dir.host_dir, dir.dest, dir.options, dir.origin);
    STRATA_TRY(walks.back().start());
    heads[d + 1].seq = dir.seq;
    STRATA_TRY(advance(d + 1));
  }
  // The first path of each host inode with more than one link holds the content; the
  // others become hardlinks to it, as LayerTree makes them.
  std::map<std::pair<dev_t, ino_t>, std::string> leaders;
  std::vector<size_t> same;
  LayerEntry link;
  while (true) {
    same.clear();
    for (size_t i = 0; i < heads.size(); ++i) {
      if (heads[i].entry == nullptr) continue;
      if (same.empty() || PathLess{}(heads[i].entry->path, heads[same.front()].entry->path)) {
        same.assign(1, i);
      } else if (heads[i].entry->path == heads[same.front()].entry->path) {
        same.push_back(i);
      }
    }
    if (same.empty()) break;
    size_t winner = same.front();
    if (same.size() > 1) {
      STRATA_TRY_ASSIGN(winner, merge_same_path(heads, same));
    }
    const Head& w = heads[winner];
    const LayerEntry* entry = w.entry;
    bool link_target = winner == 0 && list_targets.contains(entry->path);
    if (winner != 0 && w.host.multi_link) {
      auto [it, first] = leaders.try_emplace({w.host.dev, w.host.ino}, entry->path);
      if (first) {
        link_target = true;
      } else {
        link = *entry;
        link.type = EntryType::kHardlink;
        link.link_target = it->second;
        link.host_path.clear();
        link.size = 0;
        entry = &link;
      }
    }
    STRATA_TRY(visit(*entry, link_target));
    for (size_t i : same) STRATA_TRY(advance(i));
  }
  return Ok{};
}

Result<void> LayerEntries::check() const {
  return for_each([](const LayerEntry&, bool) -> Result<void> { return Ok{}; });
}

Result<std::vector<LayerEntry>> LayerEntries::to_vector() const {
  if (dirs_.empty()) return list_;
  std::vector<LayerEntry> out;
  STRATA_TRY(for_each([&](const LayerEntry& e, bool) -> Result<void> {
    out.push_back(e);
    return Ok{};
  }));
  return out;
}

}  // namespace strata::builder
