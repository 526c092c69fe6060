// The check's copy of its inputs: the same contents, created in another order, with other
// permission bits and other times.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "builder/base/result.h"

namespace strata::builder {

struct VariedCopyOptions {
  // Paths relative to the source to copy, each a file or a whole tree, with the directories
  // leading to them; empty copies the whole source.
  std::vector<std::string> only;
  std::vector<std::string> skip;  // absolute paths never copied (build 1's outputs, say)
  uint32_t umask = 077;           // masks the copies' permission bits; the owner's are kept
  int64_t now_s = 0;              // every mtime is set to a different time before this
  uint64_t seed = 0;              // picks those times
};

// Copies the tree at `from` (absolute) into a new directory `to`. Entries are created in
// reverse byte order of their relative paths (the reverse of what a checkout or `cp -r`
// does), contents and symlink targets are kept, permission bits are masked by
// `options.umask`, and every entry's mtime is set to now_s minus between one second and
// about three years, a different time per entry. Sockets, fifos and devices are skipped.
// Returns the relative paths copied, in the order they were created. Errors name the call
// and path.
Result<std::vector<std::string>> copy_tree_varied(const std::string& from, const std::string& to,
                                                  const VariedCopyOptions& options);

}  // namespace strata::builder
