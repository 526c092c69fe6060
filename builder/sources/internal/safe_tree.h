// SafeTree: a directory filled entry by entry from an untrusted archive. Every write goes
// through descriptors opened beneath the root, one component at a time, without following
// symlinks, so no entry can reach outside the root. Private to builder/sources.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "builder/base/fd.h"
#include "builder/base/path.h"
#include "builder/base/result.h"

namespace strata::builder::sources::internal {

// A relative path split into components (split_beneath), none empty, "." or "..".
using Components = std::vector<std::string>;

class SafeTree {
 public:
  // `root` must be an existing directory; the tree never writes above it.
  static Result<SafeTree> open(const std::string& root);

  // Each adder replaces an existing non-directory of the same name; a directory is only
  // ever replaced by a directory. Missing parents are created (0755). `name` is the
  // entry's name in the archive, kept for error messages. Errors say what is wrong with the
  // entry, without naming it: the caller adds "entry 'NAME': ".
  Result<void> add_directory(const Components& path, uint32_t mode, int64_t mtime);
  // Creates an empty file (0600) to be filled through the returned descriptor, then
  // finished with finish_file.
  Result<UniqueFd> create_file(const Components& path, const std::string& name);
  // Sets the final mode (suid, sgid and sticky dropped) and mtime of a created file.
  Result<void> finish_file(int fd, uint32_t mode, int64_t mtime);
  // `target` must resolve inside the root, through the symlinks added so far.
  Result<void> add_symlink(const Components& path, const std::string& target,
                           const std::string& name, int64_t mtime);
  // `target` must be a regular file added earlier.
  Result<void> add_hardlink(const Components& path, const Components& target);

  // Checks every symlink again against the finished tree (a later entry may have turned a
  // directory on a link's way into another link), then applies directory modes and mtimes.
  // On error, names the offending entry: "entry 'NAME': ...".
  Result<void> finish();

 private:
  enum class Kind { kDirectory, kRegular, kSymlink };
  struct Node {
    Kind kind = Kind::kDirectory;
    std::string link_target;  // kSymlink
    std::string name;         // the archive entry, for messages
  };
  struct DirAttributes {
    uint32_t mode = 0755;
    int64_t mtime = 0;
  };

  explicit SafeTree(UniqueFd root) : root_(std::move(root)) {}
  // Opens the directory holding `path`'s last component, creating missing directories.
  Result<UniqueFd> open_parent(const Components& path, bool create);
  Result<UniqueFd> open_dir(const Components& dir, bool create);
  // Removes a non-directory at `name` in `parent`; an error if it is a directory.
  Result<void> clear_slot(int parent, const std::string& name, bool keep_directory,
                          bool* is_directory);
  // `target` resolved from directory `from` through known symlinks; nullopt if it leaves
  // the root (or loops).
  std::optional<Components> resolve(Components from, const std::string& target, int& budget) const;
  Result<void> check_symlink(const Components& path, const std::string& target) const;

  UniqueFd root_;
  std::map<std::string, Node> nodes_;
  std::map<std::string, DirAttributes> directories_;
};

}  // namespace strata::builder::sources::internal
