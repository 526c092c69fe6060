// Path handling for unpacking untrusted layers below a root directory: entry names checked
// to stay below the root, and directories opened one component at a time with O_NOFOLLOW,
// so nothing a layer wrote (a symlink to /etc, say) is ever followed.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "builder/base/fd.h"

namespace strata::builder::environment {

// Splits a tar entry name into components: "./a//b/" -> {"a", "b"}; "." and "./" -> {}.
// Absolute names and ".." components are errors.
Result<std::vector<std::string>> split_entry_path(std::string_view name);

// "a/b" from {"a", "b"}.
std::string join_path(std::span<const std::string> components);

// Opens the directory `components` names below `root_fd` one component at a time
// (openat O_DIRECTORY|O_NOFOLLOW). With `create`, missing directories are made (mode 0755,
// owned by the caller). A symlink or a non-directory on the way is an error.
Result<UniqueFd> open_dir_beneath(int root_fd, std::span<const std::string> components,
                                  bool create);

// Opens the existing directory `name` in `dir_fd` without following a symlink.
Result<UniqueFd> open_subdir(int dir_fd, const std::string& name);

// Removes `name` in `dir_fd` and, for a directory, everything below it. Never follows a
// symlink; a missing `name` is not an error.
Result<void> remove_beneath(int dir_fd, const std::string& name);

// The names in a directory, without "." and "..", sorted.
Result<std::vector<std::string>> list_dir(int dir_fd);

}  // namespace strata::builder::environment
