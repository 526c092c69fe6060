#include "builder/check/varied_copy.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "builder/base/fd.h"
#include "builder/base/fs.h"
#include "builder/check/inputs.h"
#include "builder/check/seed.h"

namespace strata::builder {
namespace {

namespace fs = std::filesystem;

struct CopyEntry {
  std::string rel;
  fs::file_type type = fs::file_type::none;
  uint32_t mode = 0;
};

bool is_skipped(const std::string& path, const std::vector<std::string>& skip) {
  return std::any_of(skip.begin(), skip.end(),
                     [&](const std::string& s) { return is_within(path, s); });
}

// `follow`: an input named in the spec that is a symlink is copied as what it points to,
// as strata reads it; a relative link would otherwise dangle in the copy.
Result<CopyEntry> entry_for(const std::string& from, const std::string& rel, bool follow = false) {
  std::error_code ec;
  fs::path path = fs::path(from) / rel;
  fs::file_status st = follow ? fs::status(path, ec) : fs::symlink_status(path, ec);
  if (ec) return Error::sys(fmt::format("stat {}/{}", from, rel), ec.value());
  return CopyEntry{
      .rel = rel, .type = st.type(), .mode = static_cast<uint32_t>(st.permissions()) & 07777};
}

// Every entry of the tree at from/rel ("" = from itself), skipped paths left out.
Result<void> list_subtree(const std::string& from, const std::string& rel,
                          const std::vector<std::string>& skip, std::vector<CopyEntry>& out) {
  std::string top = rel.empty() ? from : from + "/" + rel;
  std::error_code ec;
  fs::recursive_directory_iterator it(top, fs::directory_options::none, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::string path = normal_path(it->path());
    if (is_skipped(path, skip)) {
      it.disable_recursion_pending();
      continue;
    }
    STRATA_TRY_ASSIGN(CopyEntry e,
                      entry_for(from, normal_path(fs::path(path).lexically_relative(from))));
    out.push_back(std::move(e));
  }
  if (ec) return Error::sys("listing " + top, ec.value());
  return {};
}

// The entries to copy: each `only` path, its parent directories and (for a directory) its
// whole tree; every entry once, in reverse byte order of the relative path.
Result<std::vector<CopyEntry>> list_tree(const std::string& from, const VariedCopyOptions& o) {
  std::vector<CopyEntry> entries;
  if (o.only.empty()) STRATA_TRY(list_subtree(from, "", o.skip, entries));
  for (const std::string& rel : o.only) {
    for (fs::path p = fs::path(rel).parent_path(); !p.empty(); p = p.parent_path()) {
      STRATA_TRY_ASSIGN(CopyEntry dir, entry_for(from, p.string()));
      entries.push_back(std::move(dir));
    }
    STRATA_TRY_ASSIGN(CopyEntry e, entry_for(from, rel, /*follow=*/true));
    if (e.type == fs::file_type::directory) STRATA_TRY(list_subtree(from, rel, o.skip, entries));
    entries.push_back(std::move(e));
  }
  std::erase_if(entries, [](const CopyEntry& e) {
    return e.type != fs::file_type::directory && e.type != fs::file_type::regular &&
           e.type != fs::file_type::symlink;
  });
  std::sort(entries.begin(), entries.end(),
            [](const CopyEntry& a, const CopyEntry& b) { return a.rel > b.rel; });
  entries.erase(std::unique(entries.begin(), entries.end(),
                            [](const CopyEntry& a, const CopyEntry& b) { return a.rel == b.rel; }),
                entries.end());
  return entries;
}

Result<void> copy_file_contents(const std::string& from, const std::string& to, uint32_t mode) {
  STRATA_TRY_ASSIGN(UniqueFd in, open_fd(from, O_RDONLY));
  STRATA_TRY_ASSIGN(UniqueFd out, open_fd(to, O_WRONLY | O_CREAT | O_EXCL, static_cast<int>(mode)));
  char buf[65536];
  for (;;) {
    STRATA_TRY_ASSIGN(int64_t n, read_some(in.get(), buf, sizeof buf, from));
    if (n == 0) break;
    STRATA_TRY(write_all(out.get(), std::string_view(buf, static_cast<size_t>(n)), to));
  }
  return out.close(to);
}

Result<void> create_entry(const std::string& from, const std::string& to, const CopyEntry& e,
                          uint32_t mode) {
  std::string src = from + "/" + e.rel;
  std::string dst = to + "/" + e.rel;
  if (e.type == fs::file_type::directory) return make_dirs(dst);
  STRATA_TRY(make_dirs(dirname_of(dst)));
  if (e.type == fs::file_type::regular) return copy_file_contents(src, dst, mode);
  std::error_code ec;
  fs::path target = fs::read_symlink(src, ec);
  if (ec) return Error::sys("readlink " + src, ec.value());
  if (::symlink(target.c_str(), dst.c_str()) != 0) return Error::sys("symlink " + dst, errno);
  return {};
}

}  // namespace

Result<std::vector<std::string>> copy_tree_varied(const std::string& from, const std::string& to,
                                                  const VariedCopyOptions& options) {
  STRATA_TRY_ASSIGN(std::vector<CopyEntry> entries, list_tree(from, options));
  if (::mkdir(to.c_str(), 0700) != 0) return Error::sys("mkdir " + to, errno);
  // Reverse order creates children before their parents (make_dirs fills those in), the
  // opposite of what a checkout or `cp -r` does, so directory order on disk differs too.
  auto masked = [&](uint32_t mode) { return (mode & ~options.umask & 07777) | (mode & 0700); };
  for (const CopyEntry& e : entries) {
    STRATA_TRY(create_entry(from, to, e, masked(e.mode)));
  }
  // Modes and times last: creating a child changes its directory's mtime, and a directory
  // made read-only first could not receive its children.
  const int64_t kSpreadS = 3 * 365 * 86400;
  for (size_t i = 0; i < entries.size(); ++i) {
    const CopyEntry& e = entries[i];
    std::string dst = to + "/" + e.rel;
    if (e.type == fs::file_type::directory && ::chmod(dst.c_str(), masked(e.mode)) != 0) {
      return Error::sys("chmod " + dst, errno);
    }
    uint64_t r = mix_seed(options.seed ^ mix_seed(i));
    struct timespec times[2];
    times[0].tv_sec = times[1].tv_sec =
        options.now_s - 1 - static_cast<int64_t>(r % static_cast<uint64_t>(kSpreadS));
    times[0].tv_nsec = times[1].tv_nsec = static_cast<long>((r >> 32) % 1000000000);
    if (::utimensat(AT_FDCWD, dst.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
      return Error::sys("utimensat " + dst, errno);
    }
  }
  std::vector<std::string> created;
  for (const CopyEntry& e : entries) created.push_back(e.rel);
  return created;
}

}  // namespace strata::builder
