// An exclusive flock(2) on a lock file that exists only while someone holds it: created on
// acquire, unlinked on release. The inode is checked after locking, so a waiter that locked a
// file its previous holder had just unlinked retries on the new one.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "builder/base/fd.h"
#include "builder/base/result.h"

namespace strata {

class FileLock {
 public:
  // Blocks until the lock on `path` is held. When another process holds it, `on_wait` (may
  // be empty) is called once before waiting. The wait polls is_interrupted() (interrupt.h)
  // and ends with its error after SIGINT/SIGTERM.
  static Result<FileLock> acquire(const std::string& path,
                                  const std::function<void()>& on_wait = {});
  // The lock when nobody holds it, nullopt when someone does.
  static Result<std::optional<FileLock>> try_acquire(const std::string& path);

  FileLock(FileLock&& other) noexcept
      : path_(std::exchange(other.path_, {})), fd_(std::move(other.fd_)) {}
  FileLock& operator=(FileLock&&) = delete;
  FileLock(const FileLock&) = delete;
  ~FileLock();

  const std::string& path() const { return path_; }

 private:
  FileLock(std::string path, UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
  std::string path_;
  UniqueFd fd_;
};

}  // namespace strata
