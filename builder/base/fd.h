// UniqueFd: the move-only owner of a file descriptor, plus checked read/write helpers.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

#include "builder/base/result.h"

namespace strata {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  // Closes explicitly and reports the error (write paths must check close).
  Result<void> close(std::string_view what);

 private:
  int fd_ = -1;
};

// Both ends of a pipe.
struct Pipe {
  UniqueFd read;
  UniqueFd write;
};
// A pipe whose ends are both close-on-exec.
Result<Pipe> make_pipe();

// Opens `path`; the error names the path. `flags` always gets O_CLOEXEC added.
Result<UniqueFd> open_fd(const std::string& path, int flags, int mode = 0644);
// Writes all of `data`, retrying on EINTR and short writes.
Result<void> write_all(int fd, std::string_view data, std::string_view what);
// Reads up to `size` bytes; returns the count (0 at EOF), retrying on EINTR.
Result<int64_t> read_some(int fd, char* buf, int64_t size, std::string_view what);

}  // namespace strata
