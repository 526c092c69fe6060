#include "builder/cache/entry_lock.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <cerrno>

namespace strata::builder::cache {
namespace {

// The entry opened without following a symlink at its path; nullopt when it is absent.
Result<std::optional<UniqueFd>> open_entry(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<UniqueFd>();
    return Error::sys(fmt::format("open cache entry {}", path), errno);
  }
  return std::optional<UniqueFd>(UniqueFd(fd));
}

// Whether `path` still names the inode `fd` has open: a prune renames an entry away while it
// holds the exclusive lock, so a waiter that then gets the lock must see it is gone.
bool still_named(int fd, const std::string& path) {
  struct stat a, b;
  return ::fstat(fd, &a) == 0 && ::lstat(path.c_str(), &b) == 0 && a.st_dev == b.st_dev &&
         a.st_ino == b.st_ino;
}

}  // namespace

Result<std::optional<EntryHold>> hold_entry(const std::string& path) {
  STRATA_TRY_ASSIGN(std::optional<UniqueFd> fd, open_entry(path));
  if (!fd) return std::optional<EntryHold>();
  while (::flock(fd->get(), LOCK_SH) != 0) {
    if (errno != EINTR) return Error::sys(fmt::format("flock {}", path), errno);
  }
  if (!still_named(fd->get(), path)) return std::optional<EntryHold>();
  return std::optional<EntryHold>(std::make_shared<const UniqueFd>(*std::move(fd)));
}

Result<std::optional<UniqueFd>> try_claim_entry(const std::string& path) {
  STRATA_TRY_ASSIGN(std::optional<UniqueFd> fd, open_entry(path));
  if (!fd) return std::optional<UniqueFd>();
  if (::flock(fd->get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK || errno == EINTR) return std::optional<UniqueFd>();
    return Error::sys(fmt::format("flock {}", path), errno);
  }
  if (!still_named(fd->get(), path)) return std::optional<UniqueFd>();
  return fd;
}

void touch_last_use(const std::string& stamp) {
  // UTIME_NOW for both: the atime too, so `ls -lu` agrees; relatime mounts would not.
  const struct timespec now[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
  (void)::utimensat(AT_FDCWD, stamp.c_str(), now, AT_SYMLINK_NOFOLLOW);
}

}  // namespace strata::builder::cache
