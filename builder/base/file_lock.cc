#include "builder/base/file_lock.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include "builder/base/interrupt.h"

namespace strata {
namespace {

constexpr auto kPoll = std::chrono::milliseconds(50);

// One attempt: the locked descriptor when `fd` names the file now at `path`, nullopt when
// the lock is busy (LOCK_NB) or the file was unlinked or replaced meanwhile (retry).
Result<std::optional<UniqueFd>> lock_once(const std::string& path, bool* busy) {
  STRATA_TRY_ASSIGN(UniqueFd fd, open_fd(path, O_RDWR | O_CREAT, 0644));
  *busy = false;
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      *busy = true;
      return std::optional<UniqueFd>();
    }
    if (errno != EINTR) return Error::sys(fmt::format("lock {}", path), errno);
  }
  struct stat held, now;
  if (::fstat(fd.get(), &held) != 0) return Error::sys(fmt::format("stat {}", path), errno);
  if (::stat(path.c_str(), &now) != 0 || now.st_ino != held.st_ino || now.st_dev != held.st_dev) {
    return std::optional<UniqueFd>();
  }
  return std::optional<UniqueFd>(std::move(fd));
}

}  // namespace

Result<FileLock> FileLock::acquire(const std::string& path, const std::function<void()>& on_wait) {
  bool told = false;
  for (;;) {
    bool busy = false;
    STRATA_TRY_ASSIGN(std::optional<UniqueFd> fd, lock_once(path, &busy));
    if (fd) return FileLock(path, std::move(*fd));
    if (busy && !told && on_wait) on_wait();
    told = told || busy;
    STRATA_TRY_CONTEXT(check_interrupted(), fmt::format("waiting for the lock {}", path));
    if (busy) std::this_thread::sleep_for(kPoll);
  }
}

Result<std::optional<FileLock>> FileLock::try_acquire(const std::string& path) {
  for (;;) {
    bool busy = false;
    STRATA_TRY_ASSIGN(std::optional<UniqueFd> fd, lock_once(path, &busy));
    if (fd) return std::optional<FileLock>(FileLock(path, std::move(*fd)));
    if (busy) return std::optional<FileLock>();
  }
}

FileLock::~FileLock() {
  // Unlinked while still locked: a waiter then finds its inode gone and retries.
  if (fd_.valid() && !path_.empty()) ::unlink(path_.c_str());
}

}  // namespace strata
