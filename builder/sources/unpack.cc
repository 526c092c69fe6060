#include "builder/sources/unpack.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <optional>

#include "builder/base/fd.h"
#include "builder/base/fs.h"
#include "builder/base/path.h"
#include "builder/sources/internal/safe_tree.h"
#include "builder/tar/archive.h"

namespace strata::builder::sources {
namespace {

using internal::Components;
using internal::SafeTree;

Error bad_entry(std::string message) { return Error(ErrorCode::kInvalidInput, std::move(message)); }

// An archive entry's name as components with the first `strip` removed; nullopt when strip
// leaves nothing (the entry is skipped). The checks run before stripping: "../x" is refused
// even when strip would remove the "..".
Result<std::optional<Components>> entry_path(std::string_view name, int64_t strip) {
  if (name.empty()) return bad_entry("the entry has no name");
  switch (path_escape(name)) {
    case PathEscape::kAbsolute:
      return bad_entry("absolute paths are not allowed");
    case PathEscape::kDotDot:
      return bad_entry("path escapes the source tree");
    case PathEscape::kNone:
      break;
  }
  Components parts = path_components(name);
  if (static_cast<int64_t>(parts.size()) <= strip) return std::optional<Components>();
  parts.erase(parts.begin(), parts.begin() + strip);
  return std::optional<Components>(std::move(parts));
}

// Writes the entry's data blocks at their offsets (sparse entries have holes).
Result<void> write_data(archive* a, int fd, int64_t size) {
  const void* buf = nullptr;
  size_t length = 0;
  la_int64_t offset = 0;
  for (;;) {
    int rc = archive_read_data_block(a, &buf, &length, &offset);
    if (rc == ARCHIVE_EOF) break;
    STRATA_TRY(archive_check(a, rc, "reading the entry's data"));
    const char* data = static_cast<const char*>(buf);
    while (length > 0) {
      ssize_t n = ::pwrite(fd, data, length, offset);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Error::sys("write", errno);
      data += n;
      offset += n;
      length -= static_cast<size_t>(n);
    }
  }
  if (size > 0 && ::ftruncate(fd, size) != 0) return Error::sys("truncate", errno);
  return Ok{};
}

Result<void> extract_hardlink(const std::string& name, const char* target, int64_t strip,
                              SafeTree& tree) {
  STRATA_TRY_ASSIGN(std::optional<Components> path, entry_path(name, strip));
  Result<std::optional<Components>> target_path = entry_path(target, strip);
  if (!target_path.ok()) {
    return std::move(target_path).error().context(fmt::format("hardlink target '{}'", target));
  }
  if (!path) return Ok{};
  if (!*target_path) {
    return bad_entry(fmt::format("hardlink target '{}' is removed by strip", target));
  }
  return tree.add_hardlink(*path, **target_path);
}

Result<void> extract_entry(archive* a, archive_entry* h, const std::string& name, int64_t strip,
                           SafeTree& tree) {
  if (const char* target = archive_entry_hardlink(h)) {
    return extract_hardlink(name, target, strip, tree);
  }
  STRATA_TRY_ASSIGN(std::optional<Components> path, entry_path(name, strip));
  mode_t type = archive_entry_filetype(h);
  if (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK) {
    return bad_entry("device nodes, fifos and sockets are not allowed in sources");
  }
  if (!path) return Ok{};
  uint32_t mode = archive_entry_perm(h);
  int64_t mtime = archive_entry_mtime(h);
  if (type == AE_IFDIR) return tree.add_directory(*path, mode, mtime);
  if (type == AE_IFLNK) {
    const char* target = archive_entry_symlink(h);
    return tree.add_symlink(*path, target ? target : "", name, mtime);
  }
  STRATA_TRY_ASSIGN(UniqueFd fd, tree.create_file(*path, name));
  STRATA_TRY(write_data(a, fd.get(), archive_entry_size_is_set(h) ? archive_entry_size(h) : 0));
  STRATA_TRY(tree.finish_file(fd.get(), mode, mtime));
  return fd.close(name);
}

Result<void> extract_archive(const StoredSource& stored, const std::string& dir) {
  // Names are converted through the locale: fix it, as the layer writer does.
  ScopedUtf8Locale utf8;
  ArchiveReader reader = new_archive_reader();
  archive* a = reader.get();
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  if (stored.kind == SourceKind::kArchive) archive_read_support_format_zip(a);
  STRATA_TRY(archive_check(a, archive_read_open_filename(a, stored.blob_path.c_str(), 1 << 16),
                           "opening the archive"));
  STRATA_TRY_ASSIGN(SafeTree tree, SafeTree::open(dir));
  for (;;) {
    archive_entry* h = nullptr;
    int rc = archive_read_next_header(a, &h);
    if (rc == ARCHIVE_EOF) break;
    STRATA_TRY(archive_check(a, rc, "reading the archive"));
    const char* raw_name = archive_entry_pathname(h);
    std::string name = raw_name ? raw_name : "";
    STRATA_TRY_CONTEXT(extract_entry(a, h, name, stored.source.strip, tree),
                       fmt::format("entry '{}'", name));
  }
  return tree.finish();
}

Result<void> copy_file(const StoredSource& stored, const std::string& dir) {
  STRATA_TRY_ASSIGN(SafeTree tree, SafeTree::open(dir));
  STRATA_TRY_ASSIGN(UniqueFd out, tree.create_file({stored.file_name}, stored.file_name));
  STRATA_TRY_ASSIGN(UniqueFd in, open_fd(stored.blob_path, O_RDONLY));
  std::array<char, 1 << 16> buf;
  for (;;) {
    STRATA_TRY_ASSIGN(int64_t n, read_some(in.get(), buf.data(), buf.size(), stored.blob_path));
    if (n == 0) break;
    STRATA_TRY(write_all(out.get(), {buf.data(), static_cast<size_t>(n)}, stored.file_name));
  }
  // mtime 0, like a directory source's entries: nothing in the tree depends on when it was
  // unpacked.
  STRATA_TRY(tree.finish_file(out.get(), 0644, 0));
  return out.close(stored.file_name);
}

Result<void> unpack_into(const StoredSource& stored, const std::string& dest_dir) {
  struct stat st;
  if (::lstat(dest_dir.c_str(), &st) == 0) return Error::io(dest_dir + " already exists");
  if (errno != ENOENT) return Error::sys("stat " + dest_dir, errno);
  STRATA_TRY_ASSIGN(TempDir staging, TempDir::create(dirname_of(dest_dir), ".strata-unpack-"));
  if (::chmod(staging.path().c_str(), 0755) != 0) {
    return Error::sys("chmod " + staging.path(), errno);
  }
  if (stored.kind == SourceKind::kFile) {
    STRATA_TRY(copy_file(stored, staging.path()));
  } else {
    STRATA_TRY(extract_archive(stored, staging.path()));
  }
  if (::rename(staging.path().c_str(), dest_dir.c_str()) != 0) {
    return Error::sys(fmt::format("rename {} to {}", staging.path(), dest_dir), errno);
  }
  staging.release();
  return Ok{};
}

}  // namespace

Result<void> unpack_source(const StoredSource& stored, const std::string& dest_dir) {
  STRATA_TRY_CONTEXT(store_pending(stored),
                     fmt::format("source '{}' ({})", stored.source.name, stored.source.path));
  STRATA_TRY_CONTEXT(unpack_into(stored, dest_dir),
                     fmt::format("source '{}' ({})", stored.source.name, stored.file_name));
  return Ok{};
}

}  // namespace strata::builder::sources
