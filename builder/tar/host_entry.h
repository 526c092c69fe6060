// One host file as a layer entry: what LayerTree adds for it and what a streamed layer's
// walk yields (builder/tar/layer_entries.cc), made by one function so the two agree.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "builder/base/fd.h"
#include "builder/tar/tree.h"

namespace strata::builder {

struct HostEntry {
  LayerEntry entry;
  // A regular file with more than one link: its inode, for hardlink groups.
  bool multi_link = false;
  dev_t dev = 0;
  ino_t ino = 0;
};

// Refuses a name no strata-det/1 tar may hold: not UTF-8, or a path over PATH_MAX.
Result<void> check_host_name(const std::string& host_path, const std::string& dest,
                             const Loc& origin);

// The entry for `host_path` (lstat'ed as `st`) at `dest`, with `options`' modes and owner;
// devices, sockets and fifos are refused, located at `origin`. A symlink's target is read
// at `name` in `dir_fd` when one is given, else at `host_path`.
Result<HostEntry> read_host_entry(const std::string& host_path, const struct stat& st,
                                  std::string dest, const HostCopyOptions& options,
                                  const Loc& origin, int dir_fd = -1, const char* name = nullptr);

// "a file", "a directory", …: an entry type in an error message.
const char* entry_type_name(EntryType type);

// A spec error at `origin` (kSpec without one), as LayerTree reports a path conflict; and
// the " (first from FILE:LINE:COL)" naming where the other entry came from.
Error layer_tree_error(const Loc& origin, std::string message);
std::string first_from(const Loc& origin);

// The entries below one host directory, in strata-det/1 order: a directory's subtree comes
// right after it and before its next sibling, so a stack of sorted listings (one per level)
// is all a walk holds. The directory itself is not among them. Names are looked up in their
// directory's descriptor (fstatat, not lstat of the whole path: with a million files, the
// kernel's path walks were most of a pass). `options` and `origin` must outlive the walk.
class HostWalk {
 public:
  HostWalk(std::string host_dir, std::string dest, const HostCopyOptions& options,
           const Loc& origin);
  // Lists the directory; before next().
  Result<void> start();
  // The next entry into `out`; false once the walk is done.
  Result<bool> next(HostEntry& out);

 private:
  struct Frame {
    std::string host_dir, dest;
    std::vector<std::string> names;
    size_t next = 0;
    UniqueFd fd;  // the directory, while open (see next())
  };
  Result<void> open_top();
  const HostCopyOptions& options_;
  const Loc& origin_;
  std::vector<Frame> stack_;
};

}  // namespace strata::builder
