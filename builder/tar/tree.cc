#include "builder/tar/tree.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <numeric>
#include <utility>

#include "builder/base/beneath.h"
#include "builder/base/utf8.h"
#include "builder/tar/host_entry.h"

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

}  // namespace

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

const char* entry_type_name(EntryType type) {
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

uint32_t LayerTree::PathIndex::find(const std::vector<LayerEntry>& entries,
                                    std::string_view path) const {
  if (slots_.empty()) return kNone;
  size_t mask = slots_.size() - 1;
  for (size_t i = std::hash<std::string_view>{}(path)&mask;; i = (i + 1) & mask) {
    if (slots_[i] == kNone || entries[slots_[i]].path == path) return slots_[i];
  }
}

void LayerTree::PathIndex::insert(const std::vector<LayerEntry>& entries, uint32_t index) {
  if (2 * (used_ + 1) > slots_.size()) {  // at most half full: short probe runs
    std::vector<uint32_t> old = std::exchange(slots_, {});
    slots_.assign(std::max<size_t>(64, 2 * old.size()), kNone);
    used_ = 0;
    for (uint32_t i : old) {
      if (i != kNone) insert(entries, i);
    }
  }
  size_t mask = slots_.size() - 1;
  size_t i = std::hash<std::string_view>{}(entries[index].path) & mask;
  while (slots_[i] != kNone) i = (i + 1) & mask;
  slots_[i] = index;
  ++used_;
}

void LayerTree::append(LayerEntry entry, Meta meta) {
  STRATA_CHECK(entries_.size() < PathIndex::kNone);
  entries_.push_back(std::move(entry));
  meta_.push_back(meta);
  index_.insert(entries_, static_cast<uint32_t>(entries_.size() - 1));
}

Result<void> LayerTree::ensure_parents(const std::string& path, const Loc& origin) {
  // Every entry's parents exist once it is added, so the nearest existing ancestor decides:
  // a directory (those above it exist too) or the entry that blocks the path.
  size_t missing_from = path.size();  // parents at slashes from here on are missing
  for (size_t slash = path.rfind('/'); slash != std::string::npos && slash > 0;
       slash = path.rfind('/', slash - 1)) {
    std::string_view parent = std::string_view(path).substr(0, slash);
    uint32_t i = index_.find(entries_, parent);
    if (i != PathIndex::kNone) {
      const LayerEntry& found = entries_[i];
      if (found.type != EntryType::kDirectory) {
        return located(origin,
                       fmt::format("cannot create {}: {} is {} in this layer", display(path),
                                   display(std::string(parent)), entry_type_name(found.type)));
      }
      break;
    }
    missing_from = slash;
  }
  for (size_t slash = path.find('/', missing_from); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    append({.path = path.substr(0, slash),
            .type = EntryType::kDirectory,
            .mode = 0755,
            .origin = origin},
           {.implicit = true, .seq = seq_});
  }
  return Ok{};
}

Result<void> LayerTree::add_node(LayerEntry entry, bool implicit, int64_t link_group) {
  STRATA_CHECK(!entry.path.empty() && entry.path.front() != '/' && entry.path.back() != '/');
  STRATA_TRY(ensure_parents(entry.path, entry.origin));
  uint32_t i = index_.find(entries_, entry.path);
  if (i != PathIndex::kNone) {
    const LayerEntry& old = entries_[i];
    bool both_dirs = old.type == EntryType::kDirectory && entry.type == EntryType::kDirectory;
    if (!both_dirs && meta_[i].implicit) {
      return located(entry.origin, fmt::format("{} cannot be {}: other entries in this layer are "
                                               "below it, so it must be a directory",
                                               display(entry.path), entry_type_name(entry.type)));
    }
    if (!both_dirs) {
      // A directory walked late (sort()) may have been added before the entry it meets.
      bool old_first = meta_[i].seq <= seq_;
      const Loc& first = old_first ? old.origin : entry.origin;
      return located(
          old_first ? entry.origin : old.origin,
          fmt::format("{} appears twice in one layer{}", display(entry.path), first_from(first)));
    }
    // Directories merge: the later explicit one sets the attributes.
    if (meta_[i].implicit || seq_ >= meta_[i].seq) {
      entries_[i] = std::move(entry);
      meta_[i] = {.link_group = -1, .implicit = implicit, .seq = seq_};
    }
    return Ok{};
  }
  append(std::move(entry), {.link_group = link_group, .implicit = implicit, .seq = seq_});
  return Ok{};
}

Result<void> LayerTree::add(LayerEntry entry) {
  begin_add();
  return add_node(std::move(entry), false, -1);
}

void LayerTree::add_hardlink(std::string path, std::string target, Loc origin) {
  hardlinks_.push_back({std::move(path), std::move(target), std::move(origin), begin_add()});
}

std::string first_from(const Loc& origin) {
  if (origin.file.empty()) return {};
  return fmt::format(" (first from {}:{}:{})", origin.file, origin.line, origin.column);
}

Error layer_tree_error(const Loc& origin, std::string message) {
  return located(origin, std::move(message));
}

Result<HostEntry> read_host_entry(const std::string& host_path, const struct stat& st,
                                  std::string dest, const HostCopyOptions& options,
                                  const Loc& origin, int dir_fd, const char* name) {
  HostEntry out;
  LayerEntry& entry = out.entry;
  entry = {.path = std::move(dest), .uid = options.uid, .gid = options.gid, .origin = origin};
  if (S_ISREG(st.st_mode)) {
    entry.type = EntryType::kRegular;
    uint32_t normalized = (st.st_mode & S_IXUSR) ? 0755 : 0644;
    entry.mode = options.file_mode.value_or(options.keep_modes ? st.st_mode & 07777 : normalized);
    entry.host_path = host_path;
    entry.size = st.st_size;
    out.multi_link = st.st_nlink > 1;
    out.dev = st.st_dev;
    out.ino = st.st_ino;
  } else if (S_ISDIR(st.st_mode)) {
    entry.type = EntryType::kDirectory;
    uint32_t normalized = options.keep_modes ? st.st_mode & 07777 : 0755;
    entry.mode = options.dir_mode.value_or(options.file_mode.value_or(normalized));
  } else if (S_ISLNK(st.st_mode)) {
    entry.type = EntryType::kSymlink;
    entry.mode = 0777;
    std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
    ssize_t n = name != nullptr ? ::readlinkat(dir_fd, name, target.data(), target.size())
                                : ::readlink(host_path.c_str(), target.data(), target.size());
    if (n < 0) return Error::sys(fmt::format("readlink {}", host_path), errno);
    target.resize(static_cast<size_t>(n));
    if (!is_valid_utf8(target)) {
      return refused(origin,
                     fmt::format("{}: the symlink's target '{}' is not valid UTF-8",
                                 entry_name(host_path, entry.path, origin), escape_bytes(target)));
    }
    entry.link_target = std::move(target);
  } else {
    return refused(origin, fmt::format("{} is {}: layers may hold only files, directories and "
                                       "links",
                                       entry_name(host_path, entry.path, origin),
                                       special_file_kind(st.st_mode)));
  }
  return out;
}

HostWalk::HostWalk(std::string host_dir, std::string dest, const HostCopyOptions& options,
                   const Loc& origin)
    : options_(options), origin_(origin) {
  stack_.push_back({std::move(host_dir), std::move(dest), {}, 0, {}});
}

// The top directory's descriptor, opened again when it was closed to keep a deep walk's
// descriptors few. Below the root (which may be a symlink: a source is followed) a
// directory that became a symlink since it was listed is refused by O_NOFOLLOW.
Result<void> HostWalk::open_top() {
  Frame& top = stack_.back();
  if (top.fd.valid()) return Ok{};
  int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | (stack_.size() > 1 ? O_NOFOLLOW : 0);
  top.fd = UniqueFd(::open(top.host_dir.c_str(), flags));
  if (!top.fd.valid()) return Error::sys(fmt::format("open directory {}", top.host_dir), errno);
  return Ok{};
}

Result<void> HostWalk::start() {
  STRATA_TRY(open_top());
  Frame& root = stack_.back();
  STRATA_TRY_ASSIGN(root.names, list_dir(root.fd.get()));
  return Ok{};
}

Result<bool> HostWalk::next(HostEntry& out) {
  // Descriptors are kept open for this many levels; deeper ones are opened again by path
  // when the walk comes back to them (once per directory, not per file).
  constexpr size_t kOpenLevels = 32;
  while (!stack_.empty()) {
    Frame& top = stack_.back();
    if (top.next == top.names.size()) {
      stack_.pop_back();
      continue;
    }
    STRATA_TRY(open_top());
    const std::string& name = top.names[top.next++];
    std::string child = top.host_dir + "/" + name;
    std::string child_dest = join_path(top.dest, name);
    // Checked before anything else: an over-long name would fail to be opened, naming a
    // host path (a build's work directory) that is gone by the time the user reads it.
    STRATA_TRY(check_host_name(child, child_dest, origin_));
    struct stat st;
    if (::fstatat(top.fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return Error::sys(fmt::format("lstat {}", child), errno);
    }
    STRATA_TRY_ASSIGN(out, read_host_entry(child, st, std::move(child_dest), options_, origin_,
                                           top.fd.get(), name.c_str()));
    if (S_ISDIR(st.st_mode)) {
      UniqueFd sub(
          ::openat(top.fd.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
      if (!sub.valid()) return Error::sys(fmt::format("open directory {}", child), errno);
      STRATA_TRY_ASSIGN(std::vector<std::string> names, list_dir(sub.get()));
      if (stack_.size() >= kOpenLevels) top.fd = UniqueFd();
      stack_.push_back({std::move(child), out.entry.path, std::move(names), 0, std::move(sub)});
    }
    return true;
  }
  return false;
}

Result<void> LayerTree::add_host_entry(HostEntry host) {
  int64_t group = -1;
  if (host.multi_link) {
    auto [it, inserted] = inode_groups_.try_emplace({host.dev, host.ino}, next_group_);
    if (inserted) ++next_group_;
    group = it->second;
  }
  return add_node(std::move(host.entry), false, group);
}

Result<void> LayerTree::walk_host_dir(const LayerEntries::HostDir& dir) {
  seq_ = dir.seq;
  HostWalk walk(dir.host_dir, dir.dest, dir.options, dir.origin);
  STRATA_TRY(walk.start());
  HostEntry host;
  while (true) {
    STRATA_TRY_ASSIGN(bool more, walk.next(host));
    if (!more) return Ok{};
    STRATA_TRY(add_host_entry(std::move(host)));
  }
}

Result<void> LayerTree::add_host_path(const std::string& host_path, const std::string& dest,
                                      const HostCopyOptions& options, const Loc& origin) {
  // The named source itself is followed when it is a symlink (like cp -r SRC and Docker's
  // COPY); symlinks below a source directory are kept as links.
  begin_add();
  struct stat st;
  if (::stat(host_path.c_str(), &st) != 0) {
    return located(origin, fmt::format("src {}: {}", host_path, std::strerror(errno)));
  }
  std::string rel = relative_path(dest);
  if (!S_ISDIR(st.st_mode) && rel.empty())
    return located(origin, fmt::format("src {} is a file; dest / needs a directory", host_path));
  if (!rel.empty()) {
    STRATA_TRY_ASSIGN(HostEntry host, read_host_entry(host_path, st, rel, options, origin));
    host_groups_ |= host.multi_link;
    STRATA_TRY(add_host_entry(std::move(host)));
  }
  // What is below a directory is walked when the entries are sorted, or at each pass over
  // them (entries()).
  if (S_ISDIR(st.st_mode)) dirs_.push_back({host_path, std::move(rel), options, origin, seq_});
  return Ok{};
}

Result<void> LayerTree::resolve_hardlinks() {
  for (PendingLink& link : hardlinks_) {
    uint32_t t = index_.find(entries_, link.target);
    if (t == PathIndex::kNone || entries_[t].type != EntryType::kRegular) {
      return located(link.origin, fmt::format("hardlink {}: target {} is not a regular file in "
                                              "this layer",
                                              display(link.path), display(link.target)));
    }
    if (meta_[t].link_group < 0) meta_[t].link_group = next_group_++;
    // A hardlink shares its inode: content, mode and owner are the target's.
    LayerEntry entry = entries_[t];
    entry.path = link.path;
    entry.origin = link.origin;
    seq_ = link.seq;
    STRATA_TRY(add_node(std::move(entry), false, meta_[t].link_group));
  }
  hardlinks_.clear();
  return Ok{};
}

Result<std::vector<LayerEntry>> LayerTree::sorted_entries() && {
  STRATA_TRY_ASSIGN(LayerEntries sorted, sort(false));
  return std::move(sorted.list_);
}

Result<LayerEntries> LayerTree::entries() && { return sort(true); }

Result<LayerEntries> LayerTree::sort(bool stream) {
  // Walked as passes only where that gives what walking them now would: a hardlink named
  // here must find its target among the held entries, and a host file added on its own
  // with more links must not share an inode with a walked one (the group's first path in
  // order holds the content, which the walks cannot tell the held entries).
  stream = stream && !host_groups_ &&
           std::none_of(hardlinks_.begin(), hardlinks_.end(), [&](const PendingLink& link) {
             return std::any_of(dirs_.begin(), dirs_.end(), [&](const LayerEntries::HostDir& d) {
               return d.dest.empty() || is_within(link.target, d.dest);
             });
           });
  if (!stream) {
    for (const LayerEntries::HostDir& dir : dirs_) STRATA_TRY(walk_host_dir(dir));
    dirs_.clear();
  }
  STRATA_TRY(resolve_hardlinks());
  index_ = {};
  inode_groups_.clear();
  // Sorted in place through a permutation (4 bytes an entry): the entries are never held
  // twice (docs/sbom.md "Memory").
  std::vector<uint32_t> order(entries_.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [this](uint32_t a, uint32_t b) {
    return PathLess{}(entries_[a].path, entries_[b].path);
  });
  // Position j takes the entry at order[j]: each cycle of the permutation is walked once,
  // and order[j] = j marks a position done.
  for (size_t start = 0; start < order.size(); ++start) {
    if (order[start] == start) continue;
    LayerEntry held = std::move(entries_[start]);
    Meta held_meta = meta_[start];
    size_t j = start;
    while (order[j] != start) {
      size_t from = order[j];
      entries_[j] = std::move(entries_[from]);
      meta_[j] = meta_[from];
      order[j] = static_cast<uint32_t>(j);
      j = from;
    }
    entries_[j] = std::move(held);
    meta_[j] = held_meta;
    order[j] = static_cast<uint32_t>(j);
  }
  std::vector<uint32_t>().swap(order);
  std::map<int64_t, std::string> group_leader;
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (meta_[i].link_group < 0) continue;
    LayerEntry& entry = entries_[i];
    auto [it, first] = group_leader.try_emplace(meta_[i].link_group, entry.path);
    if (!first) {
      entry.type = EntryType::kHardlink;
      entry.link_target = it->second;
      entry.host_path.clear();
      entry.content.clear();
      entry.size = 0;
    }
  }
  LayerEntries out;
  if (!dirs_.empty()) {
    out.held_.reserve(meta_.size());
    for (const Meta& m : meta_) out.held_.push_back({.seq = m.seq, .implicit = m.implicit});
    out.dirs_ = std::move(dirs_);
  }
  meta_ = {};
  out.list_ = std::move(entries_);
  return out;
}

}  // namespace strata::builder
