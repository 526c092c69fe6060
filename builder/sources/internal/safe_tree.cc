#include "builder/sources/internal/safe_tree.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "builder/base/beneath.h"

namespace strata::builder::sources::internal {
namespace {

// Linux's own limit on symlinks followed in one lookup (MAXSYMLINKS).
constexpr int kMaxSymlinkHops = 40;

Error bad_entry(std::string message) { return Error(ErrorCode::kInvalidInput, std::move(message)); }

Components parent_of(const Components& path) {
  return Components(path.begin(), path.end() - (path.empty() ? 0 : 1));
}

struct timespec to_timespec(int64_t seconds) {
  return {.tv_sec = static_cast<time_t>(seconds), .tv_nsec = 0};
}

}  // namespace

Result<SafeTree> SafeTree::open(const std::string& root) {
  STRATA_TRY_ASSIGN(UniqueFd fd, open_fd(root, O_RDONLY | O_DIRECTORY));
  return SafeTree(std::move(fd));
}

Result<UniqueFd> SafeTree::open_dir(const Components& dir, bool create) {
  // Nothing is ever written through a symlink, whatever it points at (base/beneath.h).
  return open_dir_beneath(root_.get(), dir, create);
}

Result<UniqueFd> SafeTree::open_parent(const Components& path, bool create) {
  STRATA_CHECK(!path.empty());
  return open_dir(parent_of(path), create);
}

Result<void> SafeTree::clear_slot(int parent, const std::string& name, bool keep_directory,
                                  bool* is_directory) {
  if (is_directory != nullptr) *is_directory = false;
  struct stat st;
  if (::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return Ok{};
    return Error::sys(fmt::format("stat '{}'", name), errno);
  }
  if (S_ISDIR(st.st_mode)) {
    if (!keep_directory) return bad_entry("a directory of the same name is already unpacked");
    *is_directory = true;
    return Ok{};
  }
  // A later entry replaces an earlier one, as with tar; unlinkat never follows a symlink.
  if (::unlinkat(parent, name.c_str(), 0) != 0) {
    return Error::sys(fmt::format("replace '{}'", name), errno);
  }
  return Ok{};
}

Result<void> SafeTree::add_directory(const Components& path, uint32_t mode, int64_t mtime) {
  STRATA_TRY_ASSIGN(UniqueFd parent, open_parent(path, true));
  bool is_directory = false;
  STRATA_TRY(clear_slot(parent.get(), path.back(), true, &is_directory));
  if (!is_directory && ::mkdirat(parent.get(), path.back().c_str(), 0700) != 0) {
    return Error::sys(fmt::format("create directory '{}'", join_components(path)), errno);
  }
  std::string key = join_components(path);
  nodes_[key] = Node{.kind = Kind::kDirectory};
  // The owner keeps rwx on every directory so the tree can be filled, built in and removed;
  // the final modes are applied by finish(), after the last entry is written.
  directories_[key] = DirAttributes{.mode = (mode & 0777) | 0700, .mtime = mtime};
  return Ok{};
}

Result<UniqueFd> SafeTree::create_file(const Components& path, const std::string& name) {
  STRATA_TRY_ASSIGN(UniqueFd parent, open_parent(path, true));
  STRATA_TRY(clear_slot(parent.get(), path.back(), false, nullptr));
  // O_EXCL: the slot was just emptied, so an entry that appeared in between is an error
  // rather than something to follow.
  int fd = ::openat(parent.get(), path.back().c_str(),
                    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return Error::sys(fmt::format("create '{}'", join_components(path)), errno);
  nodes_[join_components(path)] = Node{.kind = Kind::kRegular, .name = name};
  return UniqueFd(fd);
}

Result<void> SafeTree::finish_file(int fd, uint32_t mode, int64_t mtime) {
  // setuid, setgid and sticky bits are dropped: sources are inputs, never programs to trust.
  if (::fchmod(fd, mode & 0777) != 0) return Error::sys("chmod", errno);
  struct timespec times[2] = {to_timespec(mtime), to_timespec(mtime)};
  if (::futimens(fd, times) != 0) return Error::sys("set mtime", errno);
  return Ok{};
}

std::optional<Components> SafeTree::resolve(Components from, const std::string& target,
                                            int& budget) const {
  if (target.starts_with('/')) return std::nullopt;
  for (const std::string& part : path_components(target)) {
    if (part == ".") continue;
    if (part == "..") {
      if (from.empty()) return std::nullopt;
      from.pop_back();
      continue;
    }
    from.push_back(part);
    auto it = nodes_.find(join_components(from));
    if (it == nodes_.end() || it->second.kind != Kind::kSymlink) continue;
    // Follow the link as the kernel would, so "a/b/.." means the parent of where a/b points.
    if (--budget < 0) return std::nullopt;
    from.pop_back();
    std::optional<Components> next = resolve(std::move(from), it->second.link_target, budget);
    if (!next) return std::nullopt;
    from = std::move(*next);
  }
  return from;
}

Result<void> SafeTree::check_symlink(const Components& path, const std::string& target) const {
  int budget = kMaxSymlinkHops;
  if (!resolve(parent_of(path), target, budget)) {
    return bad_entry(fmt::format("symlink target '{}' escapes the source tree", target));
  }
  return Ok{};
}

Result<void> SafeTree::add_symlink(const Components& path, const std::string& target,
                                   const std::string& name, int64_t mtime) {
  if (target.empty()) return bad_entry("symlink has an empty target");
  STRATA_TRY(check_symlink(path, target));
  STRATA_TRY_ASSIGN(UniqueFd parent, open_parent(path, true));
  STRATA_TRY(clear_slot(parent.get(), path.back(), false, nullptr));
  const char* leaf = path.back().c_str();
  if (::symlinkat(target.c_str(), parent.get(), leaf) != 0) {
    return Error::sys(fmt::format("create symlink '{}'", join_components(path)), errno);
  }
  struct timespec times[2] = {to_timespec(mtime), to_timespec(mtime)};
  if (::utimensat(parent.get(), leaf, times, AT_SYMLINK_NOFOLLOW) != 0) {
    return Error::sys(fmt::format("set mtime of '{}'", join_components(path)), errno);
  }
  nodes_[join_components(path)] = Node{.kind = Kind::kSymlink, .link_target = target, .name = name};
  return Ok{};
}

Result<void> SafeTree::add_hardlink(const Components& path, const Components& target) {
  std::string target_key = join_components(target);
  auto it = nodes_.find(target_key);
  if (it == nodes_.end() || it->second.kind != Kind::kRegular) {
    return bad_entry(
        fmt::format("hardlink target '{}' is not a file unpacked before it", target_key));
  }
  std::string key = join_components(path);
  if (key == target_key) return Ok{};
  std::string target_name = it->second.name;
  STRATA_TRY_ASSIGN(UniqueFd target_parent, open_parent(target, false));
  STRATA_TRY_ASSIGN(UniqueFd parent, open_parent(path, true));
  STRATA_TRY(clear_slot(parent.get(), path.back(), false, nullptr));
  // Flags 0: linkat does not follow a symlink at the old path.
  if (::linkat(target_parent.get(), target.back().c_str(), parent.get(), path.back().c_str(), 0) !=
      0) {
    return Error::sys(fmt::format("link '{}' to '{}'", key, target_key), errno);
  }
  nodes_[key] = Node{.kind = Kind::kRegular, .name = std::move(target_name)};
  return Ok{};
}

Result<void> SafeTree::finish() {
  for (const auto& [key, node] : nodes_) {
    if (node.kind != Kind::kSymlink) continue;
    Result<void> ok = check_symlink(path_components(key), node.link_target);
    if (!ok.ok()) return std::move(ok).error().context(fmt::format("entry '{}'", node.name));
  }
  // Children sort after their parent, so reverse order sets a directory's mtime only after
  // everything inside it is final.
  for (auto it = directories_.rbegin(); it != directories_.rend(); ++it) {
    STRATA_TRY_ASSIGN(UniqueFd dir, open_dir(path_components(it->first), false));
    Result<void> set = finish_file(dir.get(), it->second.mode, it->second.mtime);
    if (!set.ok()) return std::move(set).error().context(fmt::format("directory '{}'", it->first));
  }
  return Ok{};
}

}  // namespace strata::builder::sources::internal
