#include "builder/run_layer/tree_diff.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <set>

#include "builder/base/beneath.h"
#include "builder/base/fd.h"
#include "builder/base/path.h"

namespace strata::builder::run_layer {
namespace {

constexpr const char* kSandboxOwned[] = {"dev", "proc", "sys", "tmp"};

std::string join_rel(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + "/" + name;
}

// nullopt when nothing is there; any other failure (EACCES below a directory a command made
// unsearchable) is an error, never taken for a deletion.
Result<std::optional<struct stat>> lstat_at(const std::string& root, const std::string& rel) {
  struct stat st {};
  std::string path = rel.empty() ? root : root + "/" + rel;
  if (::lstat(path.c_str(), &st) == 0) return std::optional<struct stat>(st);
  if (errno == ENOENT || errno == ENOTDIR) return std::optional<struct stat>();
  return Error::sys("lstat " + path, errno);
}

Result<std::string> read_link(const std::string& path) {
  std::string buf(4096, '\0');
  ssize_t n = ::readlink(path.c_str(), buf.data(), buf.size());
  if (n < 0) return Error::sys("readlink " + path, errno);
  buf.resize(static_cast<size_t>(n));
  return buf;
}

// Runs `read` on `path`; when it is refused (EACCES: strata is not root, and the image or a
// command made the entry unreadable to its owner, e.g. a 0000 /etc/shadow), once more with
// the owner's `bits` added for the moment, then the mode is put back.
template <typename T>
Result<T> with_owner_access(const std::string& path, mode_t bits,
                            const std::function<Result<T>()>& read) {
  Result<T> first = read();
  if (first.ok() || first.error().sys_errno() != EACCES) return first;
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 || S_ISLNK(st.st_mode) ||
      ::chmod(path.c_str(), (st.st_mode & 07777) | bits) != 0)
    return first;
  Result<T> second = read();
  (void)::chmod(path.c_str(), st.st_mode & 07777);
  return second;
}

Result<UniqueFd> open_readable(const std::string& path) {
  return with_owner_access<UniqueFd>(
      path, S_IRUSR, [&] { return open_fd(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC); });
}

Result<std::vector<std::string>> list_readable(const std::string& path) {
  return with_owner_access<std::vector<std::string>>(path, S_IRUSR | S_IXUSR,
                                                     [&] { return list_dir(path); });
}

// Whether two regular files hold the same bytes (sizes already equal).
Result<bool> same_content(const std::string& a, const std::string& b) {
  STRATA_TRY_ASSIGN(UniqueFd fa, open_readable(a));
  STRATA_TRY_ASSIGN(UniqueFd fb, open_readable(b));
  constexpr size_t kChunk = 64 * 1024;
  std::string ba(kChunk, '\0'), bb(kChunk, '\0');
  for (;;) {
    ssize_t na = ::read(fa.get(), ba.data(), kChunk);
    if (na < 0 && errno == EINTR) continue;
    if (na < 0) return Error::sys("read " + a, errno);
    size_t got = 0;
    while (got < static_cast<size_t>(na)) {
      ssize_t nb = ::read(fb.get(), bb.data() + got, static_cast<size_t>(na) - got);
      if (nb < 0 && errno == EINTR) continue;
      if (nb < 0) return Error::sys("read " + b, errno);
      if (nb == 0) return false;
      got += static_cast<size_t>(nb);
    }
    if (na == 0) {
      char extra = 0;
      return ::read(fb.get(), &extra, 1) == 0;
    }
    if (std::string_view(ba.data(), got) != std::string_view(bb.data(), got)) return false;
  }
}

EntryType type_of(const struct stat& st) {
  if (S_ISDIR(st.st_mode)) return EntryType::kDirectory;
  if (S_ISLNK(st.st_mode)) return EntryType::kSymlink;
  return EntryType::kRegular;
}

// Whether `st` (at `path` in an overlayfs upper directory) is a whiteout: a 0/0 character
// device, or (kernels since 6.7 may make these) an empty file with an overlay.whiteout xattr.
bool is_whiteout(const std::string& path, const struct stat& st) {
  if (S_ISCHR(st.st_mode) && st.st_rdev == 0) return true;
  if (!S_ISREG(st.st_mode) || st.st_size != 0) return false;
  for (const char* name : {"user.overlay.whiteout", "trusted.overlay.whiteout"}) {
    if (::lgetxattr(path.c_str(), name, nullptr, 0) >= 0) return true;
  }
  return false;
}

bool is_opaque(const std::string& path) {
  for (const char* name : {"user.overlay.opaque", "trusted.overlay.opaque"}) {
    char value[4] = {};
    ssize_t n = ::lgetxattr(path.c_str(), name, value, sizeof value);
    if (n >= 1 && (value[0] == 'y' || value[0] == 'x')) return true;
  }
  return false;
}

// The tree after the commands: a directory, or an overlayfs's upper directory over its lower
// one, merged as overlayfs shows them (whiteouts hide, opaque directories hide what is below).
class After {
 public:
  After(std::string dir, std::string lower) : dir_(std::move(dir)), lower_(std::move(lower)) {}

  struct Node {
    struct stat st {};
    std::string host;  // where the entry's content or link is
  };

  Result<std::optional<Node>> find(const std::string& rel) const {
    if (lower_.empty()) {
      STRATA_TRY_ASSIGN(std::optional<struct stat> st, lstat_at(dir_, rel));
      if (!st) return std::optional<Node>();
      return std::optional<Node>(Node{*st, dir_ + "/" + rel});
    }
    bool lower_visible = true;
    size_t start = 0;
    for (;;) {
      size_t slash = rel.find('/', start);
      bool last = slash == std::string::npos;
      std::string prefix = last ? rel : rel.substr(0, slash);
      std::string upper = dir_ + "/" + prefix;
      STRATA_TRY_ASSIGN(std::optional<struct stat> u, lstat_at(dir_, prefix));
      std::optional<Node> here;
      if (u) {
        if (is_whiteout(upper, *u)) return std::optional<Node>();
        here = Node{*u, upper};
        if (S_ISDIR(u->st_mode) && is_opaque(upper)) lower_visible = false;
        // An upper non-directory hides the lower directory it replaced.
        if (!S_ISDIR(u->st_mode)) lower_visible = false;
      } else if (lower_visible) {
        STRATA_TRY_ASSIGN(std::optional<struct stat> l, lstat_at(lower_, prefix));
        if (!l) return std::optional<Node>();
        here = Node{*l, lower_ + "/" + prefix};
      } else {
        return std::optional<Node>();
      }
      if (last) return here;
      if (!S_ISDIR(here->st.st_mode)) return std::optional<Node>();
      start = slash + 1;
    }
  }

  // The names below `rel` (a directory of the merged tree), some perhaps hidden: find() says.
  Result<std::vector<std::string>> names(const std::string& rel) const {
    std::set<std::string> all;
    for (const std::string& root : {dir_, lower_}) {
      if (root.empty()) continue;
      STRATA_TRY_ASSIGN(std::optional<struct stat> st, lstat_at(root, rel));
      if (!st || !S_ISDIR(st->st_mode)) continue;
      STRATA_TRY_ASSIGN(std::vector<std::string> n,
                        list_readable(rel.empty() ? root : root + "/" + rel));
      all.insert(n.begin(), n.end());
    }
    return std::vector<std::string>(all.begin(), all.end());
  }

 private:
  std::string dir_, lower_;
};

class Differ {
 public:
  Differ(std::string before, After after, const DiffOptions& options)
      : before_(std::move(before)), after_(std::move(after)), options_(options) {}

  Result<std::vector<LayerEntry>> run() && {
    STRATA_TRY(diff_dir(""));
    // Regular files that are one inode in `after` (and both changed) stay one in the layer.
    for (auto& [inode, paths] : inodes_) {
      std::sort(paths.begin(), paths.end(), PathLess());
      for (size_t i = 1; i < paths.size(); ++i) {
        tree_.add_hardlink(paths[i], paths[0], {});
        pending_.erase(paths[i]);
      }
    }
    for (auto& [path, entry] : pending_) STRATA_TRY(tree_.add(std::move(entry)));
    return std::move(tree_).sorted_entries();
  }

 private:
  Result<std::vector<std::string>> names(const std::string& root, const std::string& rel) {
    STRATA_TRY_ASSIGN(std::optional<struct stat> st, lstat_at(root, rel));
    if (!st || !S_ISDIR(st->st_mode)) return std::vector<std::string>();
    return list_readable(rel.empty() ? root : root + "/" + rel);
  }

  // Returns whether anything at or below `rel` (a directory in both trees) changed.
  Result<bool> diff_dir(const std::string& rel) {
    STRATA_TRY_ASSIGN(std::vector<std::string> a_names, names(before_, rel));
    STRATA_TRY_ASSIGN(std::vector<std::string> b_names, after_.names(rel));
    std::set<std::string> all(a_names.begin(), a_names.end());
    all.insert(b_names.begin(), b_names.end());
    bool changed = false;
    for (const std::string& name : all) {
      if (rel.empty() && std::find(std::begin(kSandboxOwned), std::end(kSandboxOwned), name) !=
                             std::end(kSandboxOwned))
        continue;
      std::string p = join_rel(rel, name);
      STRATA_TRY_ASSIGN(std::optional<struct stat> a, lstat_at(before_, p));
      STRATA_TRY_ASSIGN(std::optional<After::Node> bn, after_.find(p));
      std::optional<struct stat> b;
      if (bn) b = bn->st;
      if (!b) {
        if (!a) continue;  // gone meanwhile from both: nothing to say
        STRATA_TRY(tree_.add({.path = join_rel(rel, ".wh." + name), .mode = 0644, .size = 0}));
        changed = true;
      } else if (!a || type_of(*a) != type_of(*b)) {
        STRATA_TRY(add_new(p, *b, a));
        changed = true;
      } else if (S_ISDIR(b->st_mode)) {
        STRATA_TRY_ASSIGN(bool below, diff_dir(p));
        if (below || attrs_differ(*a, *b)) {
          STRATA_TRY(add_entry(p, *b, a));
          changed = true;
        }
      } else {
        STRATA_TRY_ASSIGN(bool differs, entry_differs(p, *a, *b, bn->host));
        if (differs) {
          STRATA_TRY(add_entry(p, *b, a));
          changed = true;
        }
      }
    }
    return changed;
  }

  static bool attrs_differ(const struct stat& a, const struct stat& b) {
    return (a.st_mode & 07777) != (b.st_mode & 07777) || a.st_uid != b.st_uid ||
           a.st_gid != b.st_gid;
  }

  Result<bool> entry_differs(const std::string& p, const struct stat& a, const struct stat& b,
                             const std::string& host) {
    if (attrs_differ(a, b) && !S_ISLNK(b.st_mode)) return true;
    if (S_ISLNK(b.st_mode)) {
      if (a.st_uid != b.st_uid || a.st_gid != b.st_gid) return true;
      STRATA_TRY_ASSIGN(std::string la, read_link(before_ + "/" + p));
      STRATA_TRY_ASSIGN(std::string lb, read_link(host));
      return la != lb;
    }
    if (a.st_size != b.st_size) return true;
    // The same inode (overlayfs: a lower file the commands left alone) is the same content.
    if (a.st_dev == b.st_dev && a.st_ino == b.st_ino) return false;
    STRATA_TRY_ASSIGN(bool same, same_content(before_ + "/" + p, host));
    return !same;
  }

  // `p` is new (or replaces an entry of another type): it and, for a directory, everything
  // below it go into the layer.
  Result<void> add_new(const std::string& p, const struct stat& b,
                       const std::optional<struct stat>& a) {
    STRATA_TRY(add_entry(p, b, a));
    if (!S_ISDIR(b.st_mode)) return Ok{};
    STRATA_TRY_ASSIGN(std::vector<std::string> children, after_.names(p));
    for (const std::string& name : children) {
      std::string c = p + "/" + name;
      STRATA_TRY_ASSIGN(std::optional<After::Node> node, after_.find(c));
      if (!node) continue;
      STRATA_TRY(add_new(c, node->st, std::nullopt));
    }
    return Ok{};
  }

  Result<void> add_entry(const std::string& p, const struct stat& b,
                         const std::optional<struct stat>& a) {
    if (!S_ISDIR(b.st_mode) && !S_ISREG(b.st_mode) && !S_ISLNK(b.st_mode)) {
      return Error(ErrorCode::kBuild,
                   fmt::format("/{}: a run layer may not create a device, fifo or socket", p));
    }
    LayerEntry e{.path = p, .type = type_of(b)};
    e.mode = b.st_mode & 07777;
    e.uid = map_uid(b.st_uid);
    e.gid = map_gid(b.st_gid);
    // What the disk could not hold (setuid bits, the image's owners) comes from the lower
    // layers for an attribute the commands left as it was.
    if (a && type_of(*a) == e.type && options_.lower != nullptr) {
      auto it = options_.lower->find(p);
      if (it != options_.lower->end()) {
        if ((a->st_mode & 07777) == (b.st_mode & 07777)) e.mode = it->second.mode;
        if (a->st_uid == b.st_uid) e.uid = it->second.uid;
        if (a->st_gid == b.st_gid) e.gid = it->second.gid;
      }
    }
    STRATA_TRY_ASSIGN(std::optional<After::Node> node, after_.find(p));
    if (!node) return Error(ErrorCode::kIo, fmt::format("/{}: gone while it was read", p));
    std::string host = node->host;
    if (e.type == EntryType::kSymlink) {
      e.mode = 0777;
      STRATA_TRY_ASSIGN(e.link_target, read_link(host));
    } else if (e.type == EntryType::kRegular) {
      e.host_path = host;
      e.size = b.st_size;
      if (b.st_nlink > 1) inodes_[{b.st_dev, b.st_ino}].push_back(p);
      pending_.emplace(p, std::move(e));
      return Ok{};
    }
    return tree_.add(std::move(e));
  }

  int64_t map_uid(uid_t uid) const {
    return options_.map_owners && uid == options_.host_uid ? 0 : static_cast<int64_t>(uid);
  }
  int64_t map_gid(gid_t gid) const {
    return options_.map_owners && gid == options_.host_gid ? 0 : static_cast<int64_t>(gid);
  }

  std::string before_;
  After after_;
  const DiffOptions& options_;
  LayerTree tree_;
  std::map<std::string, LayerEntry, PathLess> pending_;  // regular files, added last
  std::map<std::pair<dev_t, ino_t>, std::vector<std::string>> inodes_;
};

}  // namespace

Result<std::vector<LayerEntry>> diff_trees(const std::string& before, const std::string& after,
                                           const DiffOptions& options) {
  return Differ(before, After(after, ""), options).run();
}

Result<std::vector<LayerEntry>> diff_overlay(const std::string& lower, const std::string& upper,
                                             const DiffOptions& options) {
  return Differ(lower, After(upper, lower), options).run();
}

}  // namespace strata::builder::run_layer
