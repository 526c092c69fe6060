#include "builder/environment/unpack.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <set>

#include "builder/base/beneath.h"
#include "builder/base/path.h"
#include "builder/tar/archive.h"

namespace strata::builder::environment {
namespace {

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueWhiteout = ".wh..wh..opq";
// aufs bookkeeping names (.wh..wh.plnk, .wh..wh.aufs) that old Docker layers carry; they
// hold nothing to apply, so like Docker we skip them.
constexpr std::string_view kMetaPrefix = ".wh..wh.";

class LayerApplier {
 public:
  LayerApplier(int root_fd, const ApplyOptions& options) : root_fd_(root_fd), options_(options) {}

  Result<void> apply(archive* a, archive_entry* h);

 private:
  Result<void> apply_whiteout(const std::vector<std::string>& parent, const std::string& name);
  Result<void> hide_lower(int dir_fd, const std::string& rel, const std::string& name);
  Result<void> make_directory(int parent_fd, const std::string& name, archive_entry* h);
  Result<void> make_regular(archive* a, int parent_fd, const std::string& name, archive_entry* h);
  Result<void> make_symlink(int parent_fd, const std::string& name, archive_entry* h);
  Result<void> make_hardlink(int parent_fd, const std::string& name, const std::string& rel,
                             const char* target);
  Result<void> set_attributes(int fd, archive_entry* h, bool is_dir);
  void mark_written(const std::string& rel);

  int root_fd_;
  const ApplyOptions& options_;
  // Paths this layer wrote, and their ancestors: its own whiteouts never hide them.
  std::set<std::string> written_;
  std::set<std::string> ancestors_;
};

timespec mtime_of(archive_entry* h) {
  return {.tv_sec = archive_entry_mtime(h), .tv_nsec = archive_entry_mtime_nsec(h)};
}

Result<void> LayerApplier::apply(archive* a, archive_entry* h) {
  const char* raw_name = archive_entry_pathname(h);
  if (raw_name == nullptr) return Error::io("entry without a name");
  STRATA_TRY_ASSIGN(std::vector<std::string> parts, split_beneath(raw_name));
  // The root's attributes are unspecified (layer.md); the cache sets them.
  if (parts.empty()) return Ok{};
  std::string name = std::move(parts.back());
  parts.pop_back();
  if (name.starts_with(kWhiteoutPrefix)) return apply_whiteout(parts, name);

  const char* hardlink = archive_entry_hardlink(h);
  mode_t type = archive_entry_filetype(h);
  // Devices, fifos and sockets are skipped: the sandbox mounts its own minimal /dev, and
  // creating device nodes would need privileges an unprivileged builder lacks.
  if (!hardlink && type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK) return Ok{};

  STRATA_TRY_ASSIGN(UniqueFd parent, open_dir_beneath(root_fd_, parts, true));
  std::string rel = join_path(join_components(parts), name);
  if (hardlink) {
    STRATA_TRY(make_hardlink(parent.get(), name, rel, hardlink));
  } else if (type == AE_IFDIR) {
    STRATA_TRY(make_directory(parent.get(), name, h));
  } else if (type == AE_IFLNK) {
    STRATA_TRY(make_symlink(parent.get(), name, h));
  } else {
    STRATA_TRY(make_regular(a, parent.get(), name, h));
  }
  mark_written(rel);
  return Ok{};
}

Result<void> LayerApplier::apply_whiteout(const std::vector<std::string>& parent,
                                          const std::string& name) {
  std::string dir_rel = join_components(parent);
  if (name == kOpaqueWhiteout) {
    STRATA_TRY_ASSIGN(UniqueFd dir, open_dir_beneath(root_fd_, parent, true));
    mark_written(join_path(dir_rel, name));  // keeps the directory itself
    STRATA_TRY_ASSIGN(std::vector<std::string> children, list_dir(dir.get()));
    for (const std::string& child : children) {
      STRATA_TRY(hide_lower(dir.get(), join_path(dir_rel, child), child));
    }
    return Ok{};
  }
  if (name.starts_with(kMetaPrefix)) return Ok{};
  std::string target = name.substr(kWhiteoutPrefix.size());
  if (target.empty() || target == "." || target == "..") {
    return Error::io(fmt::format("invalid whiteout '{}'", name));
  }
  auto dir = open_dir_beneath(root_fd_, parent, false);
  if (!dir.ok() && dir.error().sys_errno() == ENOENT) return Ok{};  // nothing below to hide
  STRATA_TRY(dir);
  return hide_lower(dir->get(), join_path(dir_rel, target), target);
}

// Removes `name` as far as it comes from lower layers: entirely, unless this layer wrote it
// or something below it; then, for a directory, its children the same way.
Result<void> LayerApplier::hide_lower(int dir_fd, const std::string& rel, const std::string& name) {
  if (!written_.contains(rel) && !ancestors_.contains(rel)) return remove_beneath(dir_fd, name);
  struct stat st;
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode)) {
    return Ok{};
  }
  STRATA_TRY_ASSIGN(UniqueFd sub, open_subdir(dir_fd, name));
  STRATA_TRY_ASSIGN(std::vector<std::string> children, list_dir(sub.get()));
  for (const std::string& child : children) {
    STRATA_TRY(hide_lower(sub.get(), join_path(rel, child), child));
  }
  return Ok{};
}

Result<void> LayerApplier::make_directory(int parent_fd, const std::string& name,
                                          archive_entry* h) {
  struct stat st;
  if (::fstatat(parent_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode)) {
    STRATA_TRY(remove_beneath(parent_fd, name));
  }
  if (::mkdirat(parent_fd, name.c_str(), 0700) != 0 && errno != EEXIST) {
    return Error::sys("mkdir", errno);
  }
  STRATA_TRY_ASSIGN(UniqueFd dir, open_subdir(parent_fd, name));
  return set_attributes(dir.get(), h, true);
}

Result<void> LayerApplier::make_regular(archive* a, int parent_fd, const std::string& name,
                                        archive_entry* h) {
  STRATA_TRY(remove_beneath(parent_fd, name));
  int raw_fd =
      ::openat(parent_fd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (raw_fd < 0) return Error::sys("create", errno);
  UniqueFd fd(raw_fd);
  const void* buf = nullptr;
  size_t size = 0;
  la_int64_t offset = 0;
  int64_t position = 0;
  int rc;
  while ((rc = archive_read_data_block(a, &buf, &size, &offset)) == ARCHIVE_OK) {
    // Sparse entries come as blocks at offsets; the gaps stay holes.
    if (offset != position && ::lseek(fd.get(), offset, SEEK_SET) < 0) {
      return Error::sys("seek", errno);
    }
    STRATA_TRY(write_all(fd.get(), {static_cast<const char*>(buf), size}, "write"));
    position = offset + static_cast<int64_t>(size);
  }
  if (rc != ARCHIVE_EOF) {
    STRATA_TRY(archive_check(a, rc, "reading content"));
    return Error::io(fmt::format("reading content: {}", archive_error_string(a)));
  }
  if (position < archive_entry_size(h) && ::ftruncate(fd.get(), archive_entry_size(h)) != 0) {
    return Error::sys("truncate", errno);
  }
  STRATA_TRY(set_attributes(fd.get(), h, false));
  return fd.close("close");
}

Result<void> LayerApplier::make_symlink(int parent_fd, const std::string& name, archive_entry* h) {
  const char* target = archive_entry_symlink(h);
  if (target == nullptr) return Error::io("symlink without a target");
  STRATA_TRY(remove_beneath(parent_fd, name));
  if (::symlinkat(target, parent_fd, name.c_str()) != 0) return Error::sys("symlink", errno);
  if (options_.preserve_owners &&
      ::fchownat(parent_fd, name.c_str(), static_cast<uid_t>(archive_entry_uid(h)),
                 static_cast<gid_t>(archive_entry_gid(h)), AT_SYMLINK_NOFOLLOW) != 0) {
    return Error::sys("chown", errno);
  }
  timespec times[2] = {mtime_of(h), mtime_of(h)};
  if (::utimensat(parent_fd, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    return Error::sys("set mtime", errno);
  }
  return Ok{};
}

Result<void> LayerApplier::make_hardlink(int parent_fd, const std::string& name,
                                         const std::string& rel, const char* target) {
  auto parts = split_beneath(target);
  if (!parts.ok()) return std::move(parts).error().context("hardlink target");
  if (parts->empty()) return Error::io("hardlink to the root");
  if (join_components(*parts) == rel) return Error::io("hardlink to itself");
  std::string target_name = std::move(parts->back());
  parts->pop_back();
  auto target_dir = open_dir_beneath(root_fd_, *parts, false);
  if (!target_dir.ok()) {
    return std::move(target_dir).error().context(fmt::format("hardlink target '{}'", target));
  }
  struct stat st;
  if (::fstatat(target_dir->get(), target_name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return Error::sys(fmt::format("hardlink target '{}'", target), errno);
  }
  if (S_ISDIR(st.st_mode)) {
    return Error::io(fmt::format("hardlink target '{}' is a directory", target));
  }
  STRATA_TRY(remove_beneath(parent_fd, name));
  // Flags 0: a symlink target is linked itself, never followed.
  if (::linkat(target_dir->get(), target_name.c_str(), parent_fd, name.c_str(), 0) != 0) {
    return Error::sys(fmt::format("link to '{}'", target), errno);
  }
  return Ok{};
}

Result<void> LayerApplier::set_attributes(int fd, archive_entry* h, bool is_dir) {
  auto mode = static_cast<mode_t>(archive_entry_perm(h) & 07777);
  // No setuid or setgid bit lands on the host: a setuid-root file in an unpacked tree would
  // make root of anyone who reaches it. Inside the sandbox no_new_privs makes the bits
  // inert anyway, and the image's layers keep them in their bytes; only this copy drops them.
  mode &= ~static_cast<mode_t>(S_ISUID | S_ISGID);
  if (options_.preserve_owners) {
    if (::fchown(fd, static_cast<uid_t>(archive_entry_uid(h)),
                 static_cast<gid_t>(archive_entry_gid(h))) != 0) {
      return Error::sys("chown", errno);
    }
  } else if (is_dir) {
    mode |= 0700;
  }
  if (::fchmod(fd, mode) != 0) return Error::sys("chmod", errno);
  timespec times[2] = {mtime_of(h), mtime_of(h)};
  if (::futimens(fd, times) != 0) return Error::sys("set mtime", errno);
  return Ok{};
}

void LayerApplier::mark_written(const std::string& rel) {
  written_.insert(rel);
  for (size_t slash = rel.find('/'); slash != std::string::npos; slash = rel.find('/', slash + 1)) {
    ancestors_.insert(rel.substr(0, slash));
  }
}

Result<void> verify_blob(const std::string& blob_path, const Digest& expected) {
  STRATA_TRY_ASSIGN(Digest actual, sha256_file(blob_path));
  if (actual != expected) {
    return Error(ErrorCode::kDigestMismatch,
                 fmt::format("layer {}: digest mismatch: expected {}, actual {}", blob_path,
                             expected.str(), actual.str()));
  }
  return Ok{};
}

// Reads every entry of the inner tar reader and applies it.
Result<void> apply_entries(archive* inner, LayerApplier& applier, const std::string& blob_path) {
  for (;;) {
    archive_entry* h = nullptr;
    int rc = archive_read_next_header(inner, &h);
    if (rc == ARCHIVE_EOF) return Ok{};
    STRATA_TRY(archive_check(inner, rc, fmt::format("reading layer {}", blob_path)));
    auto applied = applier.apply(inner, h);
    if (!applied.ok()) {
      const char* name = archive_entry_pathname(h);
      return std::move(applied).error().context(
          fmt::format("layer {}: entry '{}'", blob_path, name ? name : ""));
    }
  }
}

}  // namespace

bool running_as_root() { return ::geteuid() == 0; }

Result<void> apply_layer(const std::string& blob_path, const std::string& root_dir,
                         const ApplyOptions& options) {
  if (options.blob_digest) STRATA_TRY(verify_blob(blob_path, *options.blob_digest));
  STRATA_TRY_ASSIGN(UniqueFd root, open_fd(root_dir, O_RDONLY | O_DIRECTORY));
  ScopedUtf8Locale utf8;
  STRATA_TRY_ASSIGN(std::unique_ptr<DiffIdTarReader> reader,
                    DiffIdTarReader::open(blob_path, fmt::format("reading layer {}", blob_path)));
  LayerApplier applier(root.get(), options);
  STRATA_TRY(apply_entries(reader->tar(), applier, blob_path));
  STRATA_TRY_ASSIGN(Digest diff_id, reader->finish());
  if (options.diff_id && diff_id != *options.diff_id) {
    return Error(ErrorCode::kDigestMismatch,
                 fmt::format("layer {}: diff_id mismatch: expected {}, actual {}", blob_path,
                             options.diff_id->str(), diff_id.str()));
  }
  return Ok{};
}

}  // namespace strata::builder::environment
