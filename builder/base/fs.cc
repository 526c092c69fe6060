#include "builder/base/fs.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>
#include <vector>

#include "builder/base/fd.h"
#include "builder/base/owner.h"

namespace strata {

Result<std::string> read_file(const std::string& path) {
  STRATA_TRY_ASSIGN(UniqueFd fd, open_fd(path, O_RDONLY));
  std::string out;
  char buf[1 << 16];
  for (;;) {
    STRATA_TRY_ASSIGN(int64_t n, read_some(fd.get(), buf, sizeof buf, path));
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Result<std::string> read_file_limited(const std::string& path, int64_t max_bytes) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer before fstat can refuse it.
  STRATA_TRY_ASSIGN(UniqueFd fd, open_fd(path, O_RDONLY | O_NONBLOCK));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Error::sys(fmt::format("stat {}", path), errno);
  if (!S_ISREG(st.st_mode)) {
    return Error(ErrorCode::kInvalidInput, fmt::format("{} is not a regular file", path));
  }
  auto too_big = [&](int64_t size) {
    return Error(
        ErrorCode::kInvalidInput,
        fmt::format("{} is {} bytes, more than the limit of {} bytes", path, size, max_bytes));
  };
  if (st.st_size > max_bytes) return too_big(st.st_size);
  std::string out;
  out.reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  for (;;) {
    STRATA_TRY_ASSIGN(int64_t n, read_some(fd.get(), buf, sizeof buf, path));
    if (n == 0) break;
    if (static_cast<int64_t>(out.size()) + n > max_bytes) return too_big(out.size() + n);
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Result<void> write_file(const std::string& path, std::string_view data, int mode) {
  STRATA_TRY_ASSIGN(UniqueFd fd, open_fd(path, O_WRONLY | O_CREAT | O_TRUNC, mode));
  STRATA_TRY(write_all(fd.get(), data, path));
  if (::fsync(fd.get()) != 0) return Error::sys(fmt::format("fsync {}", path), errno);
  return fd.close(path);
}

Result<void> write_file_atomic(const std::string& path, std::string_view data, int mode) {
  STRATA_TRY_ASSIGN(AtomicFile file, AtomicFile::create(path, mode));
  STRATA_TRY(write_all(file.fd(), data, file.temp_path()));
  return file.commit(path);
}

Result<AtomicFile> AtomicFile::create(const std::string& near, int mode) {
  // The owner tag lets a later run remove the file if this process dies (owner.h).
  std::string tmpl =
      fmt::format("{}/{}{}-XXXXXX", dirname_of(near), kAtomicFilePrefix, self_owner_tag());
  int fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
  if (fd < 0)
    return Error::sys(fmt::format("create temporary file in {}", dirname_of(near)), errno);
  UniqueFd owned(fd);
  if (::fchmod(fd, static_cast<mode_t>(mode)) != 0) {
    int err = errno;
    ::unlink(tmpl.c_str());
    return Error::sys(fmt::format("chmod {}", tmpl), err);
  }
  return AtomicFile(std::move(owned), std::move(tmpl));
}

AtomicFile::~AtomicFile() {
  if (!temp_path_.empty()) ::unlink(temp_path_.c_str());
}

Result<void> AtomicFile::commit(const std::string& final_path) {
  if (::fsync(fd_.get()) != 0) return Error::sys(fmt::format("fsync {}", temp_path_), errno);
  STRATA_TRY(fd_.close(temp_path_));
  if (::rename(temp_path_.c_str(), final_path.c_str()) != 0) {
    return Error::sys(fmt::format("rename {} to {}", temp_path_, final_path), errno);
  }
  temp_path_.clear();
  return Ok{};
}

namespace {

// The one copy loop: `hash` (when set) sees every byte written, in order.
Result<int64_t> copy_fd(int from_fd, const std::string& from, int to_fd, const std::string& to,
                        Sha256* hash) {
  int64_t size = 0;
  // Without a hash to compute the kernel copies (and may share extents); where it cannot
  // (another filesystem before 5.3, a pipe, an O_APPEND file), the bytes go through here.
  while (hash == nullptr) {
    ssize_t n = ::copy_file_range(from_fd, nullptr, to_fd, nullptr, size_t{1} << 30, 0);
    if (n == 0) return size;
    if (n > 0) {
      size += n;
      continue;
    }
    if (errno == EINTR) continue;
    bool unsupported = errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
                       errno == EOPNOTSUPP || errno == EBADF || errno == EPERM;
    if (!unsupported || size > 0) {
      return Error::sys(fmt::format("copy {} to {}", from, to), errno);
    }
    break;
  }
  std::vector<char> buf(1 << 20);
  for (;;) {
    STRATA_TRY_ASSIGN(int64_t n, read_some(from_fd, buf.data(), std::ssize(buf), from));
    if (n == 0) return size;
    std::string_view chunk(buf.data(), static_cast<size_t>(n));
    if (hash) hash->update(chunk);
    STRATA_TRY(write_all(to_fd, chunk, to));
    size += n;
  }
}

}  // namespace

Result<void> copy_file_to(const std::string& from, int to_fd) {
  STRATA_TRY_ASSIGN(UniqueFd in, open_fd(from, O_RDONLY));
  STRATA_TRY(copy_fd(in.get(), from, to_fd, "the copy of " + from, nullptr));
  return Ok{};
}

Result<CopiedBytes> copy_and_hash(int from_fd, const std::string& from, int to_fd,
                                  const std::string& to) {
  Sha256 hash;
  STRATA_TRY_ASSIGN(int64_t size, copy_fd(from_fd, from, to_fd, to, &hash));
  return CopiedBytes{.digest = hash.finish(), .size = size};
}

bool path_exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

bool path_resolves(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

Result<void> make_dirs(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return Error::sys(fmt::format("create directory {}", path), ec.value());
  return Ok{};
}

Result<void> fsync_dir(const std::string& path) {
  STRATA_TRY_ASSIGN(UniqueFd fd, open_fd(path, O_RDONLY | O_DIRECTORY));
  if (::fsync(fd.get()) != 0) return Error::sys(fmt::format("fsync {}", path), errno);
  return Ok{};
}

Result<void> remove_tree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) return Error::sys(fmt::format("remove {}", path), ec.value());
  return Ok{};
}

namespace {

// publish_dir without RENAME_EXCHANGE: the old tree moves aside, the new one into place.
Result<void> publish_dir_in_steps(const std::string& staged, const std::string& final_path) {
  std::string aside = fmt::format("{}.old-{}", final_path, self_owner_tag());
  if (::rename(final_path.c_str(), aside.c_str()) != 0) {
    return Error::sys(fmt::format("rename {} to {}", final_path, aside), errno);
  }
  if (::rename(staged.c_str(), final_path.c_str()) != 0) {
    int err = errno;
    (void)::rename(aside.c_str(), final_path.c_str());  // put the old tree back
    return Error::sys(fmt::format("rename {} to {}", staged, final_path), err);
  }
  return remove_tree(aside);
}

}  // namespace

Result<void> publish_dir(const std::string& staged, const std::string& final_path) {
  if (::renameat2(AT_FDCWD, staged.c_str(), AT_FDCWD, final_path.c_str(), RENAME_EXCHANGE) == 0) {
    // `staged` now names the previous tree.
    STRATA_TRY(remove_tree(staged));
  } else if (errno == ENOENT) {
    if (::rename(staged.c_str(), final_path.c_str()) != 0) {
      return Error::sys(fmt::format("rename {} to {}", staged, final_path), errno);
    }
  } else if (errno == EINVAL) {
    STRATA_TRY(publish_dir_in_steps(staged, final_path));
  } else {
    return Error::sys(fmt::format("exchange {} with {}", staged, final_path), errno);
  }
  return fsync_dir(dirname_of(final_path));
}

int rename_noreplace(const std::string& from, const std::string& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL) return -1;
  struct stat st;
  if (::lstat(to.c_str(), &st) == 0) {
    errno = EEXIST;
    return -1;
  }
  return ::rename(from.c_str(), to.c_str());
}

Result<TempDir> TempDir::create(const std::string& parent, std::string_view prefix) {
  std::string tmpl = fmt::format("{}/{}{}-XXXXXX", parent, prefix, self_owner_tag());
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return Error::sys(fmt::format("create temporary directory in {}", parent), errno);
  }
  return TempDir(std::move(tmpl));
}

TempDir& TempDir::operator=(TempDir&& other) noexcept {
  if (this != &other) {
    if (!path_.empty()) (void)remove_tree(path_);
    path_ = std::exchange(other.path_, {});
  }
  return *this;
}

TempDir::~TempDir() {
  if (!path_.empty()) (void)remove_tree(path_);
}

}  // namespace strata
