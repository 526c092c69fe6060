#include "builder/base/fd.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace strata {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

Result<void> UniqueFd::close(std::string_view what) {
  int fd = release();
  if (fd >= 0 && ::close(fd) != 0) return Error::sys(fmt::format("close {}", what), errno);
  return Ok{};
}

Result<Pipe> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Error::sys("pipe2", errno);
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

Result<UniqueFd> open_fd(const std::string& path, int flags, int mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return Error::sys(fmt::format("open {}", path), errno);
  return UniqueFd(fd);
}

Result<void> write_all(int fd, std::string_view data, std::string_view what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::sys(fmt::format("write {}", what), errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Ok{};
}

Result<int64_t> read_some(int fd, char* buf, int64_t size, std::string_view what) {
  for (;;) {
    ssize_t n = ::read(fd, buf, static_cast<size_t>(size));
    if (n >= 0) return static_cast<int64_t>(n);
    if (errno != EINTR) return Error::sys(fmt::format("read {}", what), errno);
  }
}

}  // namespace strata
