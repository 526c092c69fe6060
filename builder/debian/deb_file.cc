#include "builder/debian/deb_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <cerrno>
#include <map>
#include <set>

#include "builder/base/fd.h"
#include "builder/base/path.h"
#include "builder/tar/archive.h"

namespace strata::builder::debian {
namespace {

constexpr int64_t kMaxContentBytes = int64_t{4} << 30;
constexpr int64_t kMaxMemberBytes = int64_t{4} << 30;

Result<std::string> read_data(archive* a, int64_t limit, const std::string& what) {
  std::string out;
  char buf[1 << 16];
  while (true) {
    la_ssize_t n = archive_read_data(a, buf, sizeof buf);
    if (n < 0) STRATA_TRY(archive_check(a, static_cast<int>(n), what));
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (static_cast<int64_t>(out.size()) > limit) {
      return Error(ErrorCode::kInvalidInput, fmt::format("{}: more than {} bytes", what, limit));
    }
  }
  return out;
}

// The entry's data into the new file `path` (mode 0600, the archive's mtime, so that the layer
// cache's fingerprint finds it again next build), at most `limit` bytes; its size.
Result<int64_t> write_data(archive* a, int64_t limit, int64_t mtime, const std::string& path,
                           const std::string& what) {
  STRATA_TRY_ASSIGN(UniqueFd fd, open_fd(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  char buf[1 << 16];
  int64_t total = 0;
  while (true) {
    la_ssize_t n = archive_read_data(a, buf, sizeof buf);
    if (n < 0) STRATA_TRY(archive_check(a, static_cast<int>(n), what));
    if (n <= 0) break;
    total += n;
    if (total > limit) {
      return Error(ErrorCode::kInvalidInput, fmt::format("{}: more than {} bytes", what, limit));
    }
    STRATA_TRY(write_all(fd.get(), std::string_view(buf, static_cast<size_t>(n)), path));
  }
  struct timespec times[2] = {{.tv_sec = mtime, .tv_nsec = 0}, {.tv_sec = mtime, .tv_nsec = 0}};
  if (::futimens(fd.get(), times) != 0) return Error::sys("set the mtime of " + path, errno);
  STRATA_TRY(fd.close(path));
  return total;
}

ArchiveReader open_tar() {
  ArchiveReader a = new_archive_reader();
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  archive_read_support_format_gnutar(a.get());
  return a;
}

// The entry's path below the root, or an error for one that leaves it.
Result<std::string> entry_path(std::string_view name, const std::string& what) {
  std::string_view n = name;
  while (n.starts_with("./")) n.remove_prefix(2);
  if (n.starts_with('/')) {
    return Error(ErrorCode::kInvalidInput,
                 fmt::format("{}: entry '{}': absolute path", what, name));
  }
  if (path_escape(n) != PathEscape::kNone) {
    return Error(ErrorCode::kInvalidInput,
                 fmt::format("{}: entry '{}': path escapes the root (..)", what, name));
  }
  std::vector<std::string> parts = path_components(n);
  return join_components(parts);
}

// A relative symlink target may not climb above the root from the link's directory. An
// absolute one names a path of the image (it cannot leave the image's root).
Result<void> check_symlink(const std::string& path, std::string_view target,
                           const std::string& what) {
  if (target.empty()) {
    return Error(ErrorCode::kInvalidInput,
                 fmt::format("{}: entry '{}': symlink with an empty target", what, path));
  }
  if (target.starts_with('/')) return Ok{};
  int depth = static_cast<int>(path_components(path).size()) - 1;
  for (const std::string& c : path_components(target)) {
    depth += c == ".." ? -1 : 1;
    if (depth < 0) {
      return Error(
          ErrorCode::kInvalidInput,
          fmt::format("{}: entry '{}': symlink to '{}' escapes the root", what, path, target));
    }
  }
  return Ok{};
}

Result<void> read_control(const std::string& bytes, const std::string& what, DebContents& out) {
  ArchiveReader a = open_tar();
  STRATA_TRY(
      archive_check(a.get(), archive_read_open_memory(a.get(), bytes.data(), bytes.size()), what));
  archive_entry* e = nullptr;
  bool have_control = false;
  while (true) {
    int rc = archive_read_next_header(a.get(), &e);
    if (rc == ARCHIVE_EOF) break;
    STRATA_TRY(archive_check(a.get(), rc, what));
    const char* raw = archive_entry_pathname(e);
    std::string name = raw ? archive_member_path(raw) : "";
    if (archive_entry_filetype(e) != AE_IFREG) continue;
    static const std::set<std::string> kScripts = {"preinst", "postinst", "prerm",
                                                   "postrm",  "config",   "triggers"};
    if (name == "control") {
      STRATA_TRY_ASSIGN(out.control, read_data(a.get(), 1 << 20, what + " control"));
      while (!out.control.empty() && out.control.back() == '\n') out.control.pop_back();
      out.control += '\n';
      have_control = true;
    } else if (name == "md5sums") {
      STRATA_TRY_ASSIGN(out.md5sums, read_data(a.get(), 64 << 20, what + " md5sums"));
    } else if (kScripts.contains(name)) {
      out.scripts.push_back(name);
    }
  }
  if (!have_control) {
    return Error(ErrorCode::kInvalidInput,
                 fmt::format("{}: control.tar has no control file", what));
  }
  return Ok{};
}

Result<void> read_data_tar(const std::string& bytes, const std::string& what,
                           const std::string& content_dir, DebContents& out) {
  ArchiveReader a = open_tar();
  STRATA_TRY(
      archive_check(a.get(), archive_read_open_memory(a.get(), bytes.data(), bytes.size()), what));
  ScopedUtf8Locale locale;
  std::map<std::string, bool> regular;  // paths seen, and whether each is a regular file
  int64_t total = 0;
  archive_entry* e = nullptr;
  while (true) {
    int rc = archive_read_next_header(a.get(), &e);
    if (rc == ARCHIVE_EOF) break;
    STRATA_TRY(archive_check(a.get(), rc, what));
    const char* raw = archive_entry_pathname(e);
    if (raw == nullptr) {
      return Error(ErrorCode::kInvalidInput, fmt::format("{}: an entry without a name", what));
    }
    STRATA_TRY_ASSIGN(std::string path, entry_path(raw, what));
    if (path.empty()) continue;  // the root directory itself
    LayerEntry entry{.path = path,
                     .mode = static_cast<uint32_t>(archive_entry_perm(e)) & 07777,
                     .uid = archive_entry_uid(e),
                     .gid = archive_entry_gid(e)};
    if (const char* hl = archive_entry_hardlink(e)) {
      STRATA_TRY_ASSIGN(std::string target, entry_path(hl, what));
      auto it = regular.find(target);
      if (it == regular.end() || !it->second) {
        return Error(ErrorCode::kInvalidInput,
                     fmt::format("{}: entry '{}': hardlink to '{}', which is not a regular file "
                                 "before it",
                                 what, path, hl));
      }
      entry.type = EntryType::kHardlink;
      entry.link_target = target;
      out.entries.push_back(std::move(entry));
      regular[path] = false;
      continue;
    }
    switch (archive_entry_filetype(e)) {
      case AE_IFREG: {
        entry.type = EntryType::kRegular;
        std::string about = fmt::format("{}: entry '{}'", what, path);
        if (content_dir.empty()) {
          STRATA_TRY_ASSIGN(entry.content, read_data(a.get(), kMaxContentBytes - total, about));
          entry.size = static_cast<int64_t>(entry.content.size());
        } else {
          // Named by position, not by the archive's path: nothing the .deb says is a path here.
          entry.host_path = fmt::format("{}/{}", content_dir, out.entries.size());
          STRATA_TRY_ASSIGN(entry.size, write_data(a.get(), kMaxContentBytes - total,
                                                   archive_entry_mtime(e), entry.host_path, about));
        }
        total += entry.size;
        regular[path] = true;
        break;
      }
      case AE_IFDIR:
        entry.type = EntryType::kDirectory;
        regular[path] = false;
        break;
      case AE_IFLNK: {
        const char* target = archive_entry_symlink(e);
        entry.type = EntryType::kSymlink;
        entry.link_target = target ? target : "";
        entry.mode = 0777;
        STRATA_TRY(check_symlink(path, entry.link_target, what));
        regular[path] = false;
        break;
      }
      default:
        return Error(ErrorCode::kInvalidInput,
                     fmt::format("{}: entry '{}': a device node, fifo or socket (a package "
                                 "layer holds files, directories and links only)",
                                 what, path));
    }
    out.entries.push_back(std::move(entry));
  }
  return Ok{};
}

}  // namespace

Result<DebContents> read_deb(const std::string& path, const std::string& what,
                             const std::string& content_dir) {
  ArchiveReader a = new_archive_reader();
  archive_read_support_format_ar(a.get());
  STRATA_TRY(archive_check(a.get(), archive_read_open_filename(a.get(), path.c_str(), 1 << 16),
                           what + ": not a .deb (ar archive)"));
  DebContents out;
  bool have_binary = false, have_control = false, have_data = false;
  archive_entry* e = nullptr;
  while (true) {
    int rc = archive_read_next_header(a.get(), &e);
    if (rc == ARCHIVE_EOF) break;
    STRATA_TRY(archive_check(a.get(), rc, what + ": not a .deb (ar archive)"));
    const char* raw = archive_entry_pathname(e);
    std::string name = raw ? raw : "";
    if (name == "debian-binary") {
      STRATA_TRY_ASSIGN(std::string v, read_data(a.get(), 64, what + " debian-binary"));
      if (!v.starts_with("2.")) {
        return Error(ErrorCode::kInvalidInput,
                     fmt::format("{}: format '{}' is not 2.x", what, v.substr(0, v.find('\n'))));
      }
      have_binary = true;
    } else if (name.starts_with("control.tar")) {
      STRATA_TRY_ASSIGN(std::string bytes, read_data(a.get(), 64 << 20, what + " " + name));
      STRATA_TRY(read_control(bytes, what + " " + name, out));
      have_control = true;
    } else if (name.starts_with("data.tar")) {
      STRATA_TRY_ASSIGN(std::string bytes, read_data(a.get(), kMaxMemberBytes, what + " " + name));
      STRATA_TRY(read_data_tar(bytes, what + " " + name, content_dir, out));
      have_data = true;
    }
  }
  if (!have_binary || !have_control || !have_data) {
    return Error(
        ErrorCode::kInvalidInput,
        fmt::format("{}: not a .deb: it lacks {}", what,
                    !have_binary ? "debian-binary" : (!have_control ? "control.tar" : "data.tar")));
  }
  return out;
}

}  // namespace strata::builder::debian
