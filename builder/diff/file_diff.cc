#include "builder/diff/file_diff.h"

#include <algorithm>
#include <string_view>
#include <unordered_map>

#include "builder/base/check.h"
#include "builder/base/path.h"

namespace strata::builder::diff {
namespace {

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueWhiteout = ".wh..wh..opq";

bool same_type(const ReadEntry& a, const ReadEntry& b) {
  return a.type == b.type && a.is_other_type == b.is_other_type;
}

// The last occurrence of each path: path -> index into `entries`.
std::unordered_map<std::string_view, size_t> last_positions(const std::vector<ReadEntry>& entries) {
  std::unordered_map<std::string_view, size_t> out;
  out.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) out[entries[i].path] = i;
  return out;
}

// Indexes into `seq` of one longest strictly increasing subsequence (patience sorting,
// O(n log n): layers hold tens of thousands of entries).
std::vector<bool> longest_increasing(const std::vector<size_t>& seq) {
  std::vector<size_t> tails;  // tails[k]: index in seq ending the best run of length k+1
  std::vector<int64_t> previous(seq.size(), -1);
  for (size_t i = 0; i < seq.size(); ++i) {
    auto it = std::lower_bound(tails.begin(), tails.end(), seq[i],
                               [&](size_t t, size_t value) { return seq[t] < value; });
    if (it != tails.begin()) previous[i] = static_cast<int64_t>(*(it - 1));
    if (it == tails.end()) {
      tails.push_back(i);
    } else {
      *it = i;
    }
  }
  std::vector<bool> in_run(seq.size(), false);
  for (int64_t i = tails.empty() ? -1 : static_cast<int64_t>(tails.back()); i >= 0;
       i = previous[static_cast<size_t>(i)]) {
    in_run[static_cast<size_t>(i)] = true;
  }
  return in_run;
}

// Paths both sides hold whose relative order differs.
std::unordered_map<std::string_view, bool> moved_paths(
    const std::vector<ReadEntry>& a, const std::unordered_map<std::string_view, size_t>& last_a,
    const std::unordered_map<std::string_view, size_t>& last_b) {
  std::vector<std::string_view> common;
  std::vector<size_t> positions_in_b;
  for (size_t i = 0; i < a.size(); ++i) {
    if (last_a.at(a[i].path) != i) continue;
    auto it = last_b.find(a[i].path);
    if (it == last_b.end()) continue;
    common.push_back(a[i].path);
    positions_in_b.push_back(it->second);
  }
  std::vector<bool> in_run = longest_increasing(positions_in_b);
  std::unordered_map<std::string_view, bool> moved;
  for (size_t i = 0; i < common.size(); ++i) {
    if (!in_run[i]) moved[common[i]] = true;
  }
  return moved;
}

}  // namespace

std::vector<std::string> changed_aspects(const ReadEntry& a, const ReadEntry& b, bool semantic) {
  std::vector<std::string> out;
  bool both_regular = same_type(a, b) && a.type == EntryType::kRegular && !a.is_other_type;
  bool is_symlink = same_type(a, b) && a.type == EntryType::kSymlink;
  if (!same_type(a, b)) out.push_back("type");
  if (both_regular && a.content_digest != b.content_digest) out.push_back("content");
  if (both_regular && a.size != b.size) out.push_back("size");
  if (a.mode != b.mode && !(semantic && is_symlink)) out.push_back("mode");
  if (a.uid != b.uid) out.push_back("uid");
  if (a.gid != b.gid) out.push_back("gid");
  if (!semantic && a.uname != b.uname) out.push_back("uname");
  if (!semantic && a.gname != b.gname) out.push_back("gname");
  if (!semantic && a.mtime != b.mtime) out.push_back("mtime");
  if (a.link_target != b.link_target) out.push_back("link");
  if (a.xattrs != b.xattrs) out.push_back("xattrs");
  return out;
}

std::vector<FileDiff> diff_entries(const std::vector<ReadEntry>& a, const std::vector<ReadEntry>& b,
                                   bool semantic) {
  auto last_a = last_positions(a);
  auto last_b = last_positions(b);
  std::unordered_map<std::string_view, bool> moved;
  if (!semantic) moved = moved_paths(a, last_a, last_b);

  std::vector<std::string_view> paths;
  paths.reserve(last_a.size() + last_b.size());
  for (const auto& [path, i] : last_a) paths.push_back(path);
  for (const auto& [path, i] : last_b) {
    if (!last_a.contains(path)) paths.push_back(path);
  }
  std::sort(paths.begin(), paths.end());

  std::vector<FileDiff> out;
  for (std::string_view path : paths) {
    auto ia = last_a.find(path);
    auto ib = last_b.find(path);
    FileDiff d{.path = std::string(path)};
    if (ia != last_a.end()) {
      d.a = a[ia->second];
      if (!semantic) d.position_a = static_cast<int64_t>(ia->second);
    }
    if (ib != last_b.end()) {
      d.b = b[ib->second];
      if (!semantic) d.position_b = static_cast<int64_t>(ib->second);
    }
    if (!d.b) {
      d.change = FileChange::kRemoved;
    } else if (!d.a) {
      d.change = FileChange::kAdded;
    } else {
      d.aspects = changed_aspects(*d.a, *d.b, semantic);
      if (moved.contains(path)) d.aspects.push_back("order");
      if (d.aspects.empty()) continue;
    }
    out.push_back(std::move(d));
  }
  return out;
}

void MergedFilesystem::remove_children(const std::string& dir) {
  if (dir == ".") {
    files_.clear();
    return;
  }
  std::string prefix = dir + "/";
  auto it = files_.lower_bound(prefix);
  while (it != files_.end() && it->first.starts_with(prefix)) it = files_.erase(it);
}

void MergedFilesystem::remove_tree(const std::string& path) {
  files_.erase(path);
  remove_children(path);
}

void MergedFilesystem::add_parents(const std::string& path) {
  // Paths are archive_member_path forms (no leading '/'); "/" only guards the loop.
  for (std::string dir = dirname_of(path); dir != "." && dir != "/"; dir = dirname_of(dir)) {
    std::string key(dir);
    auto it = files_.find(key);
    if (it != files_.end() && it->second.type == EntryType::kDirectory) break;
    ReadEntry parent{.path = key, .type = EntryType::kDirectory, .mode = 0755};
    files_[key] = parent;
  }
}

void MergedFilesystem::apply_layer(const std::vector<ReadEntry>& entries) {
  // Whiteouts hide what the layers below hold, never entries of their own layer, so they
  // all apply before the layer's own entries.
  for (const ReadEntry& e : entries) {
    std::string base = basename_of(e.path);
    if (base == kOpaqueWhiteout) {
      remove_children(dirname_of(e.path));
    } else if (base.starts_with(kWhiteoutPrefix)) {
      remove_tree(
          join_path(dirname_of(e.path), std::string_view(base).substr(kWhiteoutPrefix.size())));
    }
  }
  for (const ReadEntry& e : entries) {
    if (e.path == "." || basename_of(e.path).starts_with(kWhiteoutPrefix)) continue;
    ReadEntry entry = e;
    if (e.type == EntryType::kHardlink) {
      auto target = files_.find(e.link_target);
      if (target != files_.end()) {
        entry = target->second;
        entry.path = e.path;
      }
    }
    if (entry.type != EntryType::kDirectory) remove_children(entry.path);
    add_parents(entry.path);
    files_[entry.path] = std::move(entry);
  }
}

std::vector<ReadEntry> MergedFilesystem::entries() const {
  std::vector<ReadEntry> out;
  out.reserve(files_.size());
  for (const auto& [path, e] : files_) out.push_back(e);
  return out;
}

}  // namespace strata::builder::diff
