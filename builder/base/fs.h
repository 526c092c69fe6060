// Filesystem helpers: whole-file reads, atomic writes, temporary directories that clean up
// after themselves, and publishing a finished directory in one rename.
#pragma once

#include <string>
#include <string_view>

#include "builder/base/digest.h"
#include "builder/base/fd.h"
#include "builder/base/path.h"
#include "builder/base/result.h"

namespace strata {

Result<std::string> read_file(const std::string& path);
// read_file for input that may be hostile (an image's documents): `path` must be a regular
// file of at most `max_bytes` (checked before reading, and again while reading, in case it
// grows), else kInvalidInput naming the path, its size and the limit. A FIFO, a device such
// as /dev/zero or a directory is refused without reading a byte.
Result<std::string> read_file_limited(const std::string& path, int64_t max_bytes);
// Writes `data` to `path` (mode 0644), fsyncs it; the error names the path.
Result<void> write_file(const std::string& path, std::string_view data, int mode = 0644);
// Writes to a temporary sibling, fsyncs, then renames over `path`: readers see old or new.
Result<void> write_file_atomic(const std::string& path, std::string_view data, int mode = 0644);
// Appends the file at `from` to `to_fd`, in bounded memory.
Result<void> copy_file_to(const std::string& from, int to_fd);
// What copy_and_hash copied: the SHA-256 of the bytes and their count.
struct CopiedBytes {
  Digest digest;
  int64_t size = 0;
};
// Appends everything readable from `from_fd` to `to_fd`, hashing the bytes on the way, so
// what was written is what was hashed. `from` and `to` name the two in errors.
Result<CopiedBytes> copy_and_hash(int from_fd, const std::string& from, int to_fd,
                                  const std::string& to);
// mkdir -p with mode 0755 for every created component.
Result<void> make_dirs(const std::string& path);
// Whether `path` names an entry, a dangling symlink included (lstat).
bool path_exists(const std::string& path);
// Whether `path` resolves to something: symlinks followed, a dangling one does not (stat).
bool path_resolves(const std::string& path);
Result<void> fsync_dir(const std::string& path);
// rm -rf that never follows symlinks and never throws.
Result<void> remove_tree(const std::string& path);

// Replaces `final_path` by the directory `staged` atomically: with renameat2(RENAME_EXCHANGE)
// when `final_path` exists (then the old tree is removed), with rename(2) otherwise. Both
// paths must be on the same filesystem. Filesystems that reject RENAME_EXCHANGE (EINVAL:
// FUSE ones such as disorderfs, some network filesystems) get the old tree renamed aside
// first: then there is a moment when `final_path` does not exist.

Result<void> publish_dir(const std::string& staged, const std::string& final_path);

// rename(2) that never replaces `to`: renameat2(RENAME_NOREPLACE), or on filesystems that
// reject the flag (EINVAL, as above) lstat + rename, which a concurrent creator could race.
// Returns 0, or -1 with errno set (EEXIST when `to` exists) like the system call.
int rename_noreplace(const std::string& from, const std::string& to);

// A file written under a temporary name next to its destination (.strata-tmp-@PID.START-XXXXXX,
// with the owner tag of owner.h); commit() fsyncs it and renames it into place, so readers
// never see a partial file. Destroyed without commit(), the temporary file is removed.
class AtomicFile {
 public:
  // `near` is a path in the directory the file will be committed to.
  static Result<AtomicFile> create(const std::string& near, int mode = 0644);
  AtomicFile(AtomicFile&& other) noexcept
      : fd_(std::move(other.fd_)), temp_path_(std::exchange(other.temp_path_, {})) {}
  AtomicFile& operator=(AtomicFile&&) = delete;
  AtomicFile(const AtomicFile&) = delete;
  ~AtomicFile();

  int fd() const { return fd_.get(); }
  const std::string& temp_path() const { return temp_path_; }
  Result<void> commit(const std::string& final_path);

 private:
  AtomicFile(UniqueFd fd, std::string temp_path)
      : fd_(std::move(fd)), temp_path_(std::move(temp_path)) {}
  UniqueFd fd_;
  std::string temp_path_;
};

// A directory made with mkdtemp under `parent` (PARENT/PREFIX@PID.START-XXXXXX: the owner tag
// of owner.h, so a later run can remove it if this process dies), removed with its contents
// on destruction unless release() was called.
class TempDir {
 public:
  static Result<TempDir> create(const std::string& parent, std::string_view prefix);
  TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  const std::string& path() const { return path_; }
  std::string release() { return std::exchange(path_, {}); }

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace strata
