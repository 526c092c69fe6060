#include "builder/tar/tree.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "builder/base/beneath.h"
#include "builder/base/utf8.h"

namespace strata::builder {
namespace {

// The longest path an entry may have, "/" included: PATH_MAX less its NUL. Longer paths fit
// in a pax header, but no Linux program that unpacks the layer could create them.
constexpr size_t kMaxPathBytes = 4095;

std::string display(const std::string& relative) { return "/" + relative; }

Error located(const Loc& origin, std::string message) {
  if (origin.file.empty()) return Error(ErrorCode::kSpec, std::move(message));
  return Error::spec(origin, std::move(message));
}

// An entry of a host tree that no layer can hold. Under a spec node (a `files:` source) it
// is a spec error there; a tree with no spec node (a package's $DESTDIR, a directory source)
// is input the build produced: kInvalidInput, exit 1, and the caller names whose tree it is.
Error refused(const Loc& origin, std::string message) {
  if (origin.file.empty()) return Error(ErrorCode::kInvalidInput, std::move(message));
  return Error::spec(origin, std::move(message));
}

// How a refused entry is named: the host path under a spec node (the file the spec points
// at), else its path in the tree ("/usr/lib/x"), escaped for one line either way.
std::string entry_name(const std::string& host_path, const std::string& dest, const Loc& origin) {
  return escape_bytes(origin.file.empty() ? display(dest) : host_path);
}

const char* special_file_kind(mode_t mode) {
  if (S_ISFIFO(mode)) return "a fifo";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "not a file, directory or symlink";
}

// Names and link targets are UTF-8 in a strata-det/1 tar (pax records are UTF-8, and OCI
// tools compare names as text), and paths fit kMaxPathBytes.
Result<void> check_host_name(const std::string& host_path, const std::string& dest,
                             const Loc& origin) {
  if (!is_valid_utf8(dest)) {
    return refused(origin, fmt::format("{}: the name is not valid UTF-8 (bad bytes shown as \\xHH)",
                                       entry_name(host_path, dest, origin)));
  }
  if (dest.size() + 1 > kMaxPathBytes) {
    return refused(origin, fmt::format("{}...: the path is {} bytes long; at most {} fit",
                                       escape_bytes(display(dest).substr(0, 64)), dest.size() + 1,
                                       kMaxPathBytes));
  }
  return Ok{};
}

const char* type_name(EntryType type) {
  switch (type) {
    case EntryType::kRegular:
      return "a file";
    case EntryType::kDirectory:
      return "a directory";
    case EntryType::kSymlink:
      return "a symlink";
    case EntryType::kHardlink:
      return "a hardlink";
  }
  return "an entry";
}

}  // namespace

bool PathLess::operator()(const std::string& a, const std::string& b) const {
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    if (a[i] == b[i]) continue;
    // Mapping '/' below every other byte turns a byte comparison into a comparison of the
    // component lists, which is exactly depth-first order with children sorted by name.
    auto rank = [](char c) { return c == '/' ? 0 : static_cast<unsigned char>(c) + 1; };
    return rank(a[i]) < rank(b[i]);
  }
  return a.size() < b.size();
}

Result<void> LayerTree::ensure_parents(const std::string& path, const Loc& origin) {
  for (size_t slash = path.find('/'); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    std::string parent = path.substr(0, slash);
    auto it = nodes_.find(parent);
    if (it == nodes_.end()) {
      LayerEntry dir{.path = parent, .type = EntryType::kDirectory, .mode = 0755, .origin = origin};
      nodes_.emplace(parent, Node{.entry = std::move(dir), .implicit = true});
    } else if (it->second.entry.type != EntryType::kDirectory) {
      return located(origin, fmt::format("cannot create {}: {} is {} in this layer", display(path),
                                         display(parent), type_name(it->second.entry.type)));
    }
  }
  return Ok{};
}

Result<void> LayerTree::add_node(LayerEntry entry, bool implicit, int64_t link_group) {
  STRATA_CHECK(!entry.path.empty() && entry.path.front() != '/' && entry.path.back() != '/');
  STRATA_TRY(ensure_parents(entry.path, entry.origin));
  auto it = nodes_.find(entry.path);
  if (it != nodes_.end()) {
    const LayerEntry& old = it->second.entry;
    bool both_dirs = old.type == EntryType::kDirectory && entry.type == EntryType::kDirectory;
    if (!both_dirs && it->second.implicit) {
      return located(entry.origin, fmt::format("{} cannot be {}: other entries in this layer are "
                                               "below it, so it must be a directory",
                                               display(entry.path), type_name(entry.type)));
    }
    if (!both_dirs) {
      std::string where = old.origin.file.empty()
                              ? std::string()
                              : fmt::format(" (first from {}:{}:{})", old.origin.file,
                                            old.origin.line, old.origin.column);
      return located(entry.origin,
                     fmt::format("{} appears twice in one layer{}", display(entry.path), where));
    }
    // Directories merge: the later explicit one sets the attributes.
    it->second = Node{.entry = std::move(entry), .implicit = implicit, .link_group = -1};
    return Ok{};
  }
  std::string key = entry.path;
  nodes_.emplace(std::move(key),
                 Node{.entry = std::move(entry), .implicit = implicit, .link_group = link_group});
  return Ok{};
}

Result<void> LayerTree::add(LayerEntry entry) { return add_node(std::move(entry), false, -1); }

void LayerTree::add_hardlink(std::string path, std::string target, Loc origin) {
  hardlinks_.push_back({std::move(path), std::move(target), std::move(origin)});
}

Result<void> LayerTree::add_host_entry(const std::string& host_path, const struct stat& st,
                                       const std::string& dest, const HostCopyOptions& options,
                                       const Loc& origin) {
  LayerEntry entry{.path = dest, .uid = options.uid, .gid = options.gid, .origin = origin};
  int64_t group = -1;
  if (S_ISREG(st.st_mode)) {
    entry.type = EntryType::kRegular;
    uint32_t normalized = (st.st_mode & S_IXUSR) ? 0755 : 0644;
    entry.mode = options.file_mode.value_or(options.keep_modes ? st.st_mode & 07777 : normalized);
    entry.host_path = host_path;
    entry.size = st.st_size;
    if (st.st_nlink > 1) {
      auto [it, inserted] = inode_groups_.try_emplace({st.st_dev, st.st_ino}, next_group_);
      if (inserted) ++next_group_;
      group = it->second;
    }
  } else if (S_ISDIR(st.st_mode)) {
    entry.type = EntryType::kDirectory;
    uint32_t normalized = options.keep_modes ? st.st_mode & 07777 : 0755;
    entry.mode = options.dir_mode.value_or(options.file_mode.value_or(normalized));
  } else if (S_ISLNK(st.st_mode)) {
    entry.type = EntryType::kSymlink;
    entry.mode = 0777;
    std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
    ssize_t n = ::readlink(host_path.c_str(), target.data(), target.size());
    if (n < 0) return Error::sys(fmt::format("readlink {}", host_path), errno);
    target.resize(static_cast<size_t>(n));
    if (!is_valid_utf8(target)) {
      return refused(origin,
                     fmt::format("{}: the symlink's target '{}' is not valid UTF-8",
                                 entry_name(host_path, dest, origin), escape_bytes(target)));
    }
    entry.link_target = std::move(target);
  } else {
    return refused(origin,
                   fmt::format("{} is {}: layers may hold only files, directories and "
                               "links",
                               entry_name(host_path, dest, origin), special_file_kind(st.st_mode)));
  }
  return add_node(std::move(entry), false, group);
}

Result<void> LayerTree::walk_host_dir(const std::string& host_dir, const std::string& dest,
                                      const HostCopyOptions& options, const Loc& origin) {
  STRATA_TRY_ASSIGN(std::vector<std::string> names, list_dir(host_dir));
  for (const std::string& name : names) {
    std::string child = host_dir + "/" + name;
    std::string child_dest = join_path(dest, name);
    // Checked before anything else: an over-long path would fail lstat, naming a host path
    // (a build's work directory) that is gone by the time the user reads the message.
    STRATA_TRY(check_host_name(child, child_dest, origin));
    struct stat st;
    if (::lstat(child.c_str(), &st) != 0) return Error::sys(fmt::format("lstat {}", child), errno);
    STRATA_TRY(add_host_entry(child, st, child_dest, options, origin));
    if (S_ISDIR(st.st_mode)) STRATA_TRY(walk_host_dir(child, child_dest, options, origin));
  }
  return Ok{};
}

Result<void> LayerTree::add_host_path(const std::string& host_path, const std::string& dest,
                                      const HostCopyOptions& options, const Loc& origin) {
  // The named source itself is followed when it is a symlink (like cp -r SRC and Docker's
  // COPY); symlinks below a source directory are kept as links.
  struct stat st;
  if (::stat(host_path.c_str(), &st) != 0) {
    return located(origin, fmt::format("src {}: {}", host_path, std::strerror(errno)));
  }
  std::string rel = relative_path(dest);
  if (S_ISDIR(st.st_mode)) {
    if (!rel.empty()) STRATA_TRY(add_host_entry(host_path, st, rel, options, origin));
    return walk_host_dir(host_path, rel, options, origin);
  }
  if (rel.empty())
    return located(origin, fmt::format("src {} is a file; dest / needs a directory", host_path));
  return add_host_entry(host_path, st, rel, options, origin);
}

Result<void> LayerTree::resolve_hardlinks() {
  for (PendingLink& link : hardlinks_) {
    auto target = nodes_.find(link.target);
    if (target == nodes_.end() || target->second.entry.type != EntryType::kRegular) {
      return located(link.origin, fmt::format("hardlink {}: target {} is not a regular file in "
                                              "this layer",
                                              display(link.path), display(link.target)));
    }
    Node& t = target->second;
    if (t.link_group < 0) t.link_group = next_group_++;
    // A hardlink shares its inode: content, mode and owner are the target's.
    LayerEntry entry = t.entry;
    entry.path = link.path;
    entry.origin = link.origin;
    int64_t group = t.link_group;
    STRATA_TRY(add_node(std::move(entry), false, group));
  }
  hardlinks_.clear();
  return Ok{};
}

Result<std::vector<LayerEntry>> LayerTree::sorted_entries() && {
  STRATA_TRY(resolve_hardlinks());
  std::map<int64_t, std::string> group_leader;
  std::vector<LayerEntry> out;
  out.reserve(nodes_.size());
  // Each node is freed as soon as its entry is moved out: the map and the list are never both
  // whole (at 1,000,000 files each is some 300 MB; docs/sbom.md "Memory").
  while (!nodes_.empty()) {
    auto handle = nodes_.extract(nodes_.begin());
    const std::string& path = handle.key();
    Node& node = handle.mapped();
    LayerEntry entry = std::move(node.entry);
    if (node.link_group >= 0) {
      auto [it, first] = group_leader.try_emplace(node.link_group, path);
      if (!first) {
        entry.type = EntryType::kHardlink;
        entry.link_target = it->second;
        entry.host_path.clear();
        entry.content.clear();
        entry.size = 0;
      }
    }
    out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace strata::builder
