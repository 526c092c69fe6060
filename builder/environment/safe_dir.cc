#include "builder/environment/safe_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <memory>

namespace strata::builder::environment {
namespace {

struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};

}  // namespace

Result<std::vector<std::string>> split_entry_path(std::string_view name) {
  if (name.starts_with('/')) return Error::io(fmt::format("absolute path '{}'", name));
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = std::min(name.find('/', start), name.size());
    std::string_view part = name.substr(start, end - start);
    if (part == "..") return Error::io(fmt::format("path '{}' leaves the root (..)", name));
    if (!part.empty() && part != ".") parts.emplace_back(part);
    start = end + 1;
  }
  return parts;
}

std::string join_path(std::span<const std::string> components) {
  std::string out;
  for (const std::string& c : components) {
    if (!out.empty()) out += '/';
    out += c;
  }
  return out;
}

Result<UniqueFd> open_subdir(int dir_fd, const std::string& name) {
  int fd = ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0) return UniqueFd(fd);
  // O_NOFOLLOW on a symlink gives ELOOP, O_DIRECTORY on a symlink or file ENOTDIR.
  if (errno == ELOOP || errno == ENOTDIR) {
    return Error::io(fmt::format("'{}' is a symlink or not a directory", name));
  }
  return Error::sys(fmt::format("open '{}'", name), errno);
}

Result<UniqueFd> open_dir_beneath(int root_fd, std::span<const std::string> components,
                                  bool create) {
  int dup = ::fcntl(root_fd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return Error::sys("dup root directory", errno);
  UniqueFd current(dup);
  for (const std::string& c : components) {
    if (create && ::mkdirat(current.get(), c.c_str(), 0755) != 0 && errno != EEXIST) {
      return Error::sys(fmt::format("mkdir '{}'", c), errno);
    }
    STRATA_TRY_ASSIGN(current, open_subdir(current.get(), c));
  }
  return current;
}

Result<std::vector<std::string>> list_dir(int dir_fd) {
  int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Error::sys("open directory", errno);
  std::unique_ptr<DIR, DirCloser> dir(::fdopendir(fd));
  if (!dir) {
    int err = errno;
    ::close(fd);
    return Error::sys("fdopendir", err);
  }
  std::vector<std::string> names;
  errno = 0;
  while (dirent* e = ::readdir(dir.get())) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  if (errno != 0) return Error::sys("readdir", errno);
  std::sort(names.begin(), names.end());
  return names;
}

Result<void> remove_beneath(int dir_fd, const std::string& name) {
  struct stat st;
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return Ok{};
    return Error::sys(fmt::format("stat '{}'", name), errno);
  }
  if (S_ISDIR(st.st_mode)) {
    STRATA_TRY_ASSIGN(UniqueFd sub, open_subdir(dir_fd, name));
    // Unpacked directories keep owner rwx when we are not root (unpack.h), but a tree
    // from elsewhere may not: make sure we may list and empty it.
    if ((st.st_mode & 0700) != 0700) (void)::fchmod(sub.get(), (st.st_mode & 07777) | 0700);
    STRATA_TRY_ASSIGN(std::vector<std::string> children, list_dir(sub.get()));
    for (const std::string& child : children) {
      auto removed = remove_beneath(sub.get(), child);
      if (!removed.ok()) return std::move(removed).error().context(name);
    }
  }
  if (::unlinkat(dir_fd, name.c_str(), S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) != 0) {
    return Error::sys(fmt::format("remove '{}'", name), errno);
  }
  return Ok{};
}

}  // namespace strata::builder::environment
