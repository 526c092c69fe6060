// Comparing entry lists: one layer against another (with entry order), or two merged
// filesystems (--semantic), and building a merged filesystem from layers with whiteouts.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "builder/diff/image_diff.h"

namespace strata::builder::diff {

// What differs between two entries for one path, in FileDiff's order and spelling ("order"
// is decided by diff_entries, not here). Semantic mode skips mtime, uname, gname and the
// mode of symlinks, which builders set differently and which do not change what runs.
std::vector<std::string> changed_aspects(const ReadEntry& a, const ReadEntry& b, bool semantic);

// The paths that differ between two entry lists (normalised paths, archive order), sorted by
// path. When a path occurs more than once the last occurrence counts, as on extraction.
// Unless semantic, paths both sides hold that are out of relative order get the aspect
// "order": everything outside one longest run both sides agree on.
std::vector<FileDiff> diff_entries(const std::vector<ReadEntry>& a, const std::vector<ReadEntry>& b,
                                   bool semantic);

// A filesystem built by applying layers in order, as an unpacker would: ".wh.NAME" removes
// NAME from the layers below, ".wh..wh..opq" empties its directory of them, a non-directory
// replacing a directory removes what was below it, missing parents appear as 0755 root
// directories, and a hardlink becomes a copy of what it links to. The root entry "." is
// left out: every runtime makes its own.
class MergedFilesystem {
 public:
  void apply_layer(const std::vector<ReadEntry>& entries);
  // The entries, sorted by path.
  std::vector<ReadEntry> entries() const;

 private:
  void remove_tree(const std::string& path);
  void remove_children(const std::string& dir);
  void add_parents(const std::string& path);

  std::map<std::string, ReadEntry> files_;
};

}  // namespace strata::builder::diff
