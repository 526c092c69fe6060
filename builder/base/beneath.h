// Opening paths beneath a root directory descriptor, so that nothing an untrusted archive or
// layer wrote (a symlink to /etc, "..", an absolute name) makes strata read or write outside
// it; plus listing and removing directories by descriptor. The one copy of these checks.
#pragma once

#include <dirent.h>

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "builder/base/fd.h"
#include "builder/base/result.h"

namespace strata {

// How a path beneath a root is resolved. kAuto: one openat2(RESOLVE_BENEATH) call when the
// kernel has it (has_openat2), else kWalk. kWalk: one openat(O_NOFOLLOW) per component from
// the root down. Both refuse the same paths; tests force kWalk to cover it on every kernel.
enum class Resolve { kAuto, kWalk };

// Whether openat2(2) works here, probed once: false before Linux 5.6 (ENOSYS), on kernels
// without the resolve flags (EINVAL) and under seccomp filters that refuse it (EPERM).
bool has_openat2();

// Opens `components` (from split_beneath: none empty, ".", ".." or holding '/') below
// `root_fd` with `flags` (O_CLOEXEC added) and `mode`; no components opens the root itself.
// No symlink is ever followed, on the way or as the last component, so O_CREAT never
// creates through one. Errors: kIo "'a/b' is a symlink: symlinks are never followed" or
// "'a/b' is not a directory" naming the path up to the component that failed; otherwise a
// system error naming the path.
Result<UniqueFd> open_beneath(int root_fd, std::span<const std::string> components, int flags,
                              int mode = 0, Resolve how = Resolve::kAuto);
// The same for a relative path's text, split with split_beneath first (whose errors refuse
// absolute paths and "..").
Result<UniqueFd> open_beneath(int root_fd, std::string_view path, int flags, int mode = 0,
                              Resolve how = Resolve::kAuto);

// Opens the directory `components` names below `root_fd`, as open_beneath does. With
// `create`, missing directories are made (mode 0755 less the umask) one component at a time.
Result<UniqueFd> open_dir_beneath(int root_fd, std::span<const std::string> components, bool create,
                                  Resolve how = Resolve::kAuto);

// Resolves `path` (relative to the directory `root`) the way the kernel would,
// following symlinks only while they stay beneath `root`, and returns the host path it names
// with no symlink left in it. This is how strata reads a spec's inputs: a symlink beside the
// spec may point at another file of the spec's directory, never outside it. kAuto resolves
// with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) when the kernel has it; kWalk (and
// every refusal, to explain it) follows the components one by one; an absolute symlink
// whose text names a path below the (canonical) root is followed too. Errors name the path
// up to the component that failed: kInvalidInput "'a/b' is a symlink to '/etc', which leads
// out of ROOT" or "'..' leads out of ROOT"; kIo "'a/b' does not exist", "'a/b' is not a
// directory", "'a/b': too many levels of symlinks". The answer begins with `root` made
// canonical (realpath).
Result<std::string> resolve_beneath(const std::string& root, std::string_view path,
                                    Resolve how = Resolve::kAuto);

// Opens the existing directory `name` in `dir_fd` without following a symlink; errors as
// open_beneath's.
Result<UniqueFd> open_subdir(int dir_fd, const std::string& name);

// Removes `name` in `dir_fd` and, for a directory, everything below it. Never follows a
// symlink; a missing `name` is not an error.
Result<void> remove_beneath(int dir_fd, const std::string& name);

// The owner of a DIR* stream.
struct DirCloser {
  void operator()(DIR* dir) const { ::closedir(dir); }
};
using UniqueDir = std::unique_ptr<DIR, DirCloser>;

// The names in a directory, without "." and "..", sorted by byte value.
Result<std::vector<std::string>> list_dir(int dir_fd);
Result<std::vector<std::string>> list_dir(const std::string& path);

}  // namespace strata
