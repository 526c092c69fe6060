// Unpacking a stored source into a directory a build can use: archives extracted safely
// with libarchive (nothing outside the destination, no devices), plain files copied.
#pragma once

#include <string>

#include "builder/sources/store.h"

namespace strata::builder::sources {

// Creates `dest_dir` (which must not exist; its parent must) holding `stored`'s content:
// - kArchive and kDirectory: the entries with the first source.strip components removed
//   ("." components are ignored; entries with no more components are skipped). Modes keep
//   their rwx bits (setuid, setgid and sticky are dropped; directories stay u+rwx), mtimes
//   come from the archive, owners are the caller's.
// - kFile: dest_dir/<file_name>, mode 0644, mtime 0.
// Refused, naming the archive and the entry ("source 'x' (x.tar.gz): entry '../evil': path
// escapes the source tree"): absolute paths, ".." components, symlinks whose target leaves
// the tree (followed through the archive's other symlinks), hardlinks to anything but a file
// unpacked before, writes through a symlink, devices, fifos and sockets. The work happens in
// a temporary sibling renamed to dest_dir at the end: after an error dest_dir does not exist.
Result<void> unpack_source(const StoredSource& stored, const std::string& dest_dir);

}  // namespace strata::builder::sources
