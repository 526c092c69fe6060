#include "builder/base/beneath.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <memory>

#include "builder/base/check.h"
#include "builder/base/path.h"

namespace strata {
namespace {

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

// RESOLVE_NO_SYMLINKS as well as what RESOLVE_BENEATH needs: the walk cannot follow a
// symlink safely, so neither does openat2, and both resolvers accept the same paths.
constexpr uint64_t kResolveFlags = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS;

int sys_openat2(int dir_fd, const char* path, int flags, int mode, uint64_t resolve) {
#ifdef SYS_openat2
  struct open_how how {};
  how.flags = static_cast<uint64_t>(flags);
  // openat2 refuses a mode without O_CREAT or O_TMPFILE (EINVAL), unlike openat.
  how.mode = (flags & (O_CREAT | O_TMPFILE)) != 0 ? static_cast<uint64_t>(mode) : 0;
  how.resolve = resolve;
  return static_cast<int>(::syscall(SYS_openat2, dir_fd, path, &how, sizeof how));
#else
  (void)dir_fd, (void)path, (void)flags, (void)mode, (void)resolve;
  errno = ENOSYS;
  return -1;
#endif
}

// Why opening `name` in `dir_fd` failed with `err`: the symlink or non-directory the caller
// must hear about by name, else the system error.
Error refused(int dir_fd, const std::string& name, std::string_view so_far, int err) {
  struct stat st;
  if ((err == ELOOP || err == ENOTDIR) &&
      ::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISLNK(st.st_mode)) {
      return Error::io(fmt::format("'{}' is a symlink: symlinks are never followed", so_far));
    }
    if (!S_ISDIR(st.st_mode)) return Error::io(fmt::format("'{}' is not a directory", so_far));
  }
  return Error::sys(fmt::format("open '{}'", so_far), err);
}

Result<UniqueFd> reopen(int dir_fd, int flags) {
  int fd = ::openat(dir_fd, ".", (flags & ~O_CREAT) | O_CLOEXEC);
  if (fd < 0) return Error::sys("open the root directory", errno);
  return UniqueFd(fd);
}

// The walk: every directory opened from the one before it with O_NOFOLLOW, so a symlink
// anywhere stops it (ELOOP) instead of leading out of the root.
Result<UniqueFd> walk_dirs(int root_fd, std::span<const std::string> components, bool create) {
  STRATA_TRY_ASSIGN(UniqueFd current, reopen(root_fd, O_RDONLY | O_DIRECTORY));
  for (size_t i = 0; i < components.size(); ++i) {
    const std::string& name = components[i];
    STRATA_CHECK(!name.empty() && name != "." && name != ".." &&
                 name.find('/') == std::string::npos);
    int fd = ::openat(current.get(), name.c_str(), kDirFlags);
    if (fd < 0 && errno == ENOENT && create) {
      if (::mkdirat(current.get(), name.c_str(), 0755) != 0 && errno != EEXIST) {
        return Error::sys(
            fmt::format("create directory '{}'", join_components(components.first(i + 1))), errno);
      }
      fd = ::openat(current.get(), name.c_str(), kDirFlags);
    }
    if (fd < 0)
      return refused(current.get(), name, join_components(components.first(i + 1)), errno);
    current = UniqueFd(fd);
  }
  return current;
}

Result<UniqueFd> walk_open(int root_fd, std::span<const std::string> components, int flags,
                           int mode) {
  if (components.empty()) return reopen(root_fd, flags);
  STRATA_TRY_ASSIGN(UniqueFd parent,
                    walk_dirs(root_fd, components.first(components.size() - 1), false));
  const std::string& name = components.back();
  STRATA_CHECK(!name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos);
  int fd = ::openat(parent.get(), name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) return refused(parent.get(), name, join_components(components), errno);
  return UniqueFd(fd);
}

Result<UniqueFd> openat2_open(int root_fd, std::span<const std::string> components, int flags,
                              int mode) {
  std::string path = components.empty() ? "." : join_components(components);
  int fd = sys_openat2(root_fd, path.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, mode, kResolveFlags);
  if (fd >= 0) return UniqueFd(fd);
  // The walk names the component at fault (openat2 only says ELOOP, ENOTDIR or EXDEV), and
  // opens paths longer than PATH_MAX one component at a time. It refuses what openat2 did.
  if (errno == ELOOP || errno == ENOTDIR || errno == EXDEV || errno == ENAMETOOLONG) {
    return walk_open(root_fd, components, flags, mode);
  }
  return Error::sys(fmt::format("open '{}'", path), errno);
}

Result<std::vector<std::string>> read_names(DIR* dir, std::string_view what) {
  std::vector<std::string> names;
  errno = 0;
  while (dirent* e = ::readdir(dir)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  if (errno != 0) {
    return Error::sys(what.empty() ? "readdir" : fmt::format("read directory {}", what), errno);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// One component still to resolve, and the symlink it came from ("" for the caller's own
// path), so that a ".." leading out can name the link that holds it.
struct Pending {
  std::string name;
  std::shared_ptr<const std::string> via;
};

Result<std::string> walk_resolve(const std::string& root, std::string_view path) {
  std::vector<Pending> todo;
  for (std::string& c : path_components(path)) todo.push_back({std::move(c), nullptr});
  std::reverse(todo.begin(), todo.end());  // a stack: the next component is at the back
  std::vector<std::string> done;
  int links = 0;
  while (!todo.empty()) {
    Pending next = std::move(todo.back());
    todo.pop_back();
    if (next.name == "..") {
      if (done.empty()) {
        if (next.via) return Error(ErrorCode::kInvalidInput, *next.via);
        return Error(ErrorCode::kInvalidInput, fmt::format("'..' leads out of {}", root));
      }
      done.pop_back();
      continue;
    }
    done.push_back(next.name);
    std::string shown = join_components(done);
    std::string host = join_path(root, shown);
    struct stat st;
    if (::lstat(host.c_str(), &st) != 0) {
      if (errno == ENOENT) return Error::io(fmt::format("'{}' does not exist", shown));
      return Error::sys(fmt::format("stat '{}'", shown), errno);
    }
    if (S_ISLNK(st.st_mode)) {
      if (++links > 40) return Error::io(fmt::format("'{}': too many levels of symlinks", shown));
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      ssize_t n = ::readlink(host.c_str(), target.data(), target.size());
      if (n < 0) return Error::sys(fmt::format("readlink '{}'", shown), errno);
      target.resize(static_cast<size_t>(n));
      auto why = std::make_shared<const std::string>(
          fmt::format("'{}' is a symlink to '{}', which leads out of {}", shown, target, root));
      done.pop_back();
      if (target.starts_with('/')) {
        // An absolute link is followed only when its text names a path below the root.
        std::string normal = normal_path(target);
        if (!is_within(normal, root)) return Error(ErrorCode::kInvalidInput, *why);
        done.clear();
        target = normal.substr(root.size());
      }
      std::vector<std::string> parts = path_components(target);
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) todo.push_back({*it, why});
      continue;
    }
    if (!todo.empty() && !S_ISDIR(st.st_mode)) {
      return Error::io(fmt::format("'{}' is not a directory", shown));
    }
  }
  return done.empty() ? root : join_path(root, join_components(done));
}

}  // namespace

Result<std::string> resolve_beneath(const std::string& root_path, std::string_view path,
                                    Resolve how) {
  // Canonical first, so both resolvers answer with the same text.
  char* real = ::realpath(root_path.c_str(), nullptr);
  if (real == nullptr) return Error::sys("resolve " + root_path, errno);
  std::string root(real);
  ::free(real);
  if (how == Resolve::kAuto && has_openat2()) {
    int root_fd = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0) return Error::sys("open " + root, errno);
    UniqueFd root_guard(root_fd);
    std::string rel = path.empty() ? std::string(".") : std::string(path);
    int fd = sys_openat2(root_fd, rel.c_str(), O_PATH | O_CLOEXEC, 0,
                         RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
    if (fd >= 0) {
      UniqueFd guard(fd);
      std::string link = fmt::format("/proc/self/fd/{}", fd);
      std::string target(4096, '\0');
      ssize_t n = ::readlink(link.c_str(), target.data(), target.size());
      if (n > 0 && static_cast<size_t>(n) < target.size()) {
        target.resize(static_cast<size_t>(n));
        // The kernel's answer, unless /proc is missing or the name was unlinked meanwhile.
        if (target.starts_with('/') && !target.ends_with(" (deleted)")) return target;
      }
    }
    // A refusal (EXDEV, ENOENT, ELOOP, ENOTDIR): the walk names the component at fault.
  }
  return walk_resolve(root, path);
}

bool has_openat2() {
  static const bool available = [] {
    int fd = sys_openat2(AT_FDCWD, "/", O_PATH | O_DIRECTORY | O_CLOEXEC, 0,
                         RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS);
    if (fd < 0) return false;  // ENOSYS, EINVAL, EPERM (seccomp): the walk does the job
    ::close(fd);
    return true;
  }();
  return available;
}

Result<UniqueFd> open_beneath(int root_fd, std::span<const std::string> components, int flags,
                              int mode, Resolve how) {
  if (how == Resolve::kAuto && has_openat2()) {
    return openat2_open(root_fd, components, flags, mode);
  }
  return walk_open(root_fd, components, flags, mode);
}

Result<UniqueFd> open_beneath(int root_fd, std::string_view path, int flags, int mode,
                              Resolve how) {
  STRATA_TRY_ASSIGN(std::vector<std::string> components, split_beneath(path));
  return open_beneath(root_fd, components, flags, mode, how);
}

Result<UniqueFd> open_dir_beneath(int root_fd, std::span<const std::string> components, bool create,
                                  Resolve how) {
  if (create) return walk_dirs(root_fd, components, true);
  return open_beneath(root_fd, components, O_RDONLY | O_DIRECTORY, 0, how);
}

Result<UniqueFd> open_subdir(int dir_fd, const std::string& name) {
  int fd = ::openat(dir_fd, name.c_str(), kDirFlags);
  if (fd < 0) return refused(dir_fd, name, name, errno);
  return UniqueFd(fd);
}

Result<void> remove_beneath(int dir_fd, const std::string& name) {
  struct stat st;
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return Ok{};
    return Error::sys(fmt::format("stat '{}'", name), errno);
  }
  if (S_ISDIR(st.st_mode)) {
    STRATA_TRY_ASSIGN(UniqueFd sub, open_subdir(dir_fd, name));
    // Unpacked directories keep owner rwx when we are not root, but a tree from elsewhere
    // may not: make sure we may list and empty it.
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

Result<std::vector<std::string>> list_dir(int dir_fd) {
  int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Error::sys("open directory", errno);
  UniqueDir dir(::fdopendir(fd));
  if (!dir) {
    int err = errno;
    ::close(fd);
    return Error::sys("fdopendir", err);
  }
  return read_names(dir.get(), "");
}

Result<std::vector<std::string>> list_dir(const std::string& path) {
  UniqueDir dir(::opendir(path.c_str()));
  if (!dir) return Error::sys(fmt::format("open directory {}", path), errno);
  return read_names(dir.get(), path);
}

}  // namespace strata
