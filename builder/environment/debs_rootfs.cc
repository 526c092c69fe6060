#include "builder/environment/debs_rootfs.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <string_view>

#include "builder/base/beneath.h"
#include "builder/base/fd.h"
#include "builder/base/path.h"
#include "builder/debian/debs_stage.h"
#include "builder/debian/version.h"
#include "builder/environment/cache.h"
#include "builder/environment/unpack.h"

namespace strata::builder::environment {
namespace {

// The top-level directories that are symlinks into usr/ on a merged-/usr system.
constexpr std::array<std::string_view, 6> kMergedDirs = {"bin",   "sbin",  "lib",
                                                         "lib32", "lib64", "libx32"};
// Every regular file gets this mtime (1980-01-01, strata's default epoch): the tree's times
// then depend on the lock alone.
constexpr int64_t kTreeMtime = specs::kDefaultEpoch;

// What update-alternatives would have linked: LINK in usr/bin to the first TARGET (a name in
// usr/bin) the packages installed, unless a package ships LINK itself. Alternatives with
// versioned names (automake-1.16) are found by prefix in make_toolchain_links.
struct Alternative {
  std::string_view link;
  std::array<std::string_view, 3> targets;  // empty ones are unused
};
constexpr Alternative kAlternatives[] = {
    {"sh", {"dash", "bash"}},  // dash's postinst, on Debian since 2009
    {"cc", {"gcc", "clang"}},
    {"c++", {"g++", "clang++"}},
    {"c89", {"c89-gcc"}},
    {"c99", {"c99-gcc"}},
    {"awk", {"mawk", "gawk", "original-awk"}},
    {"yacc", {"bison.yacc", "byacc"}},
    {"lex", {"flex"}},
    {"which", {"which.debianutils"}},
};
// Links whose target is the highest PREFIX-VERSION in usr/bin (automake's postinst).
constexpr std::string_view kVersioned[] = {"automake", "aclocal"};

bool is_merged_dir(std::string_view name) {
  return std::find(kMergedDirs.begin(), kMergedDirs.end(), name) != kMergedDirs.end();
}

struct Parent {
  UniqueFd dir;
  std::string name;
};

// The directory holding the last of `parts` (made when `create`), and that last name.
Result<Parent> open_parent(int root_fd, std::vector<std::string> parts, bool create) {
  STRATA_CHECK(!parts.empty());
  std::string name = std::move(parts.back());
  parts.pop_back();
  STRATA_TRY_ASSIGN(UniqueFd dir, open_dir_beneath(root_fd, parts, create));
  return Parent{std::move(dir), std::move(name)};
}

// The file type at `name` in `dir_fd` (S_IFDIR, S_IFREG, ...), never following a symlink;
// 0 when nothing is there.
Result<mode_t> type_at(int dir_fd, const std::string& name) {
  struct stat st;
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return mode_t{0};
    return Error::sys("stat", errno);
  }
  return st.st_mode & S_IFMT;
}

Result<void> set_attributes(int fd, const LayerEntry& e, bool is_dir, bool root) {
  // No setuid or setgid bit on the host (as for an image rootfs, unpack.h).
  auto mode = static_cast<mode_t>(e.mode & 07777 & ~static_cast<uint32_t>(S_ISUID | S_ISGID));
  if (root) {
    if (::fchown(fd, static_cast<uid_t>(e.uid), static_cast<gid_t>(e.gid)) != 0) {
      return Error::sys("chown", errno);
    }
  } else if (is_dir) {
    mode |= 0700;  // later packages (and cache cleanup) write into it
  }
  if (::fchmod(fd, mode) != 0) return Error::sys("chmod", errno);
  return Ok{};
}

Result<void> write_regular(const Parent& p, const LayerEntry& e, bool root) {
  STRATA_CHECK(e.host_path.empty());  // read_deb holds every file's content
  int raw = ::openat(p.dir.get(), p.name.c_str(),
                     O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (raw < 0) return Error::sys("create", errno);
  UniqueFd fd(raw);
  STRATA_TRY(write_all(fd.get(), e.content, "write"));
  STRATA_TRY(set_attributes(fd.get(), e, false, root));
  timespec times[2] = {{.tv_sec = kTreeMtime, .tv_nsec = 0}, {.tv_sec = kTreeMtime, .tv_nsec = 0}};
  if (::futimens(fd.get(), times) != 0) return Error::sys("set mtime", errno);
  return fd.close("close");
}

Result<void> write_hardlink(int root_fd, const Parent& p, const LayerEntry& e) {
  STRATA_TRY_ASSIGN(std::vector<std::string> target, split_beneath(e.link_target));
  if (target.empty()) return Error::io("hardlink to the root");
  if (is_merged_dir(target[0])) target.insert(target.begin(), "usr");
  auto t = open_parent(root_fd, target, false);
  if (!t.ok())
    return std::move(t).error().context(fmt::format("hardlink target '{}'", e.link_target));
  STRATA_TRY_ASSIGN(mode_t type, type_at(t->dir.get(), t->name));
  if (type == 0 || type == S_IFDIR) {
    return Error::io(fmt::format("hardlink target '{}' is not a file", e.link_target));
  }
  // Flags 0: a symlink target is linked itself, never followed.
  if (::linkat(t->dir.get(), t->name.c_str(), p.dir.get(), p.name.c_str(), 0) != 0) {
    return Error::sys(fmt::format("link to '{}'", e.link_target), errno);
  }
  return Ok{};
}

Result<void> write_entry(int root_fd, const LayerEntry& e, bool root) {
  STRATA_TRY_ASSIGN(std::vector<std::string> parts, split_beneath(e.path));
  if (parts.empty()) return Ok{};  // the root's own attributes are the tree's
  if (is_merged_dir(parts[0])) {
    // The tree's own bin -> usr/bin replaces a package's link at that place.
    if (parts.size() == 1 && e.type == EntryType::kSymlink) return Ok{};
    parts.insert(parts.begin(), "usr");
  }
  STRATA_TRY_ASSIGN(Parent p, open_parent(root_fd, parts, true));
  STRATA_TRY_ASSIGN(mode_t existing, type_at(p.dir.get(), p.name));
  if (e.type == EntryType::kDirectory) {
    if (existing != 0 && existing != S_IFDIR) {
      return Error::io("a directory where an earlier package installed a file");
    }
    if (existing == 0 && ::mkdirat(p.dir.get(), p.name.c_str(), 0700) != 0) {
      return Error::sys("mkdir", errno);
    }
    STRATA_TRY_ASSIGN(UniqueFd dir, open_subdir(p.dir.get(), p.name));
    return set_attributes(dir.get(), e, true, root);
  }
  if (existing == S_IFDIR) return Error::io("a file where an earlier package made a directory");
  // A file of an earlier package: this one replaces it (the later name wins, as with
  // Replaces; merged-/usr packages may ship /bin/x and /usr/bin/x).
  if (existing != 0 && ::unlinkat(p.dir.get(), p.name.c_str(), 0) != 0) {
    return Error::sys("remove", errno);
  }
  switch (e.type) {
    case EntryType::kRegular:
      return write_regular(p, e, root);
    case EntryType::kSymlink:
      if (::symlinkat(e.link_target.c_str(), p.dir.get(), p.name.c_str()) != 0) {
        return Error::sys("symlink", errno);
      }
      if (root && ::fchownat(p.dir.get(), p.name.c_str(), static_cast<uid_t>(e.uid),
                             static_cast<gid_t>(e.gid), AT_SYMLINK_NOFOLLOW) != 0) {
        return Error::sys("chown", errno);
      }
      return Ok{};
    case EntryType::kHardlink:
      return write_hardlink(root_fd, p, e);
    case EntryType::kDirectory:
      break;
  }
  STRATA_CHECK(false);
  return Ok{};
}

// Whether `rel` (below `tree`) names something, following symlinks only while they stay in
// the tree: a link to a missing or escaping target does not count.
bool exists_in(const std::string& tree, const std::string& rel) {
  return resolve_beneath(tree, rel).ok();
}

// The highest PREFIX-VERSION name in `names` (dpkg's version order), or "".
std::string highest_versioned(const std::vector<std::string>& names, std::string_view prefix) {
  std::string best;
  std::string_view best_version;
  for (const std::string& n : names) {
    if (n.size() <= prefix.size() + 1 || !n.starts_with(prefix) || n[prefix.size()] != '-') {
      continue;
    }
    std::string_view version = std::string_view(n).substr(prefix.size() + 1);
    if (version.empty() || version[0] < '0' || version[0] > '9') continue;
    if (best.empty() || debian::compare_versions(version, best_version) > 0) {
      best = n;
      best_version = std::string_view(best).substr(prefix.size() + 1);
    }
  }
  return best;
}

}  // namespace

std::string debs_rootfs_entry_dir(const std::string& cache_dir, const Digest& environment_digest) {
  return fmt::format("{}/rootfs/debs/{}", cache_dir, environment_digest.hex);
}

Result<void> write_deb_entries(int root_fd, const std::vector<LayerEntry>& entries) {
  bool root = running_as_root();
  for (const LayerEntry& e : entries) {
    STRATA_TRY_CONTEXT(write_entry(root_fd, e, root), fmt::format("'{}'", e.path));
  }
  return Ok{};
}

Result<std::vector<std::string>> make_toolchain_links(const std::string& tree) {
  STRATA_TRY_ASSIGN(UniqueFd root, open_fd(tree, O_RDONLY | O_DIRECTORY));
  std::vector<std::string> made;
  auto link = [&](int dir_fd, const std::string& where, const std::string& name,
                  const std::string& target) -> Result<void> {
    STRATA_TRY_ASSIGN(mode_t existing, type_at(dir_fd, name));
    if (existing != 0) return Ok{};
    if (::symlinkat(target.c_str(), dir_fd, name.c_str()) != 0) {
      return Error::sys(fmt::format("symlink {}{} -> {}", where, name, target), errno);
    }
    made.push_back(fmt::format("{}{} -> {}", where, name, target));
    return Ok{};
  };
  for (std::string_view dir : kMergedDirs) {
    std::string usr_dir = fmt::format("usr/{}", dir);
    Result<mode_t> type = [&]() -> Result<mode_t> {
      auto usr = open_subdir(root.get(), "usr");
      if (!usr.ok()) return mode_t{0};
      return type_at(usr->get(), std::string(dir));
    }();
    STRATA_TRY(type);
    if (*type == S_IFDIR) STRATA_TRY(link(root.get(), "", std::string(dir), usr_dir));
  }
  auto usr_bin = open_dir_beneath(root.get(), std::vector<std::string>{"usr", "bin"}, false);
  if (!usr_bin.ok()) return made;  // no programs at all: nothing to link
  for (const Alternative& a : kAlternatives) {
    for (std::string_view target : a.targets) {
      if (target.empty() || !exists_in(tree, fmt::format("usr/bin/{}", target))) continue;
      STRATA_TRY(link(usr_bin->get(), "usr/bin/", std::string(a.link), std::string(target)));
      break;
    }
  }
  STRATA_TRY_ASSIGN(std::vector<std::string> names, list_dir(usr_bin->get()));
  for (std::string_view prefix : kVersioned) {
    std::string target = highest_versioned(names, prefix);
    if (!target.empty() && exists_in(tree, "usr/bin/" + target)) {
      STRATA_TRY(link(usr_bin->get(), "usr/bin/", std::string(prefix), target));
    }
  }
  return made;
}

Result<std::string> ensure_debs_rootfs(const debian::LockedEnvironment& environment,
                                       const DebsRootfsOptions& options) {
  STRATA_CHECK(options.fetcher != nullptr);
  Digest digest = debian::environment_digest(environment);
  std::string entry = debs_rootfs_entry_dir(options.cache_dir, digest);
  auto fill = [&](const std::string& tree) -> Result<void> {
    sources::SourceStore store(options.sources);
    STRATA_TRY_ASSIGN(UniqueFd root, open_fd(tree, O_RDONLY | O_DIRECTORY));
    // In the lock's order (by name), so a file two packages ship is always the same one's.
    for (const debian::LockedPackage& p : environment.packages) {
      STRATA_TRY_ASSIGN(debian::DebContents deb,
                        debian::fetch_locked_deb(p, store, options.spec_dir, *options.fetcher));
      STRATA_TRY_CONTEXT(write_deb_entries(root.get(), deb.entries),
                         fmt::format("deb '{}' {}", p.name, p.version));
    }
    STRATA_TRY(make_toolchain_links(tree));
    return Ok{};
  };
  return ensure_rootfs_entry(options.cache_dir, entry, digest, "environment.debs rootfs " + entry,
                             fill);
}

Result<DebsRootfs> ensure_spec_debs_rootfs(const specs::Spec& spec,
                                           const DebsRootfsOptions& options) {
  STRATA_TRY_ASSIGN(debian::Lock lock, debian::load_lock(spec));
  if (!lock.environment) {
    return Error(ErrorCode::kSpec,
                 fmt::format("{}: error: {} has no environment section; run `strata lock {}`",
                             spec.file, debian::lock_path(spec), spec.file));
  }
  DebsRootfs out{.digest = debian::environment_digest(*lock.environment)};
  out.entry = debs_rootfs_entry_dir(options.cache_dir, out.digest);
  STRATA_TRY_ASSIGN(out.tree, ensure_debs_rootfs(*lock.environment, options));
  out.packages = std::move(lock.environment->packages);
  return out;
}

}  // namespace strata::builder::environment
