// A .deb read (deb(5)): an ar archive of debian-binary, control.tar.* and data.tar.* (gz, xz,
// zst, bz2 or none), with the data archive's entries as layer entries. Nothing of the
// archive's paths touches the filesystem: a hostile archive is refused entry by entry.
#pragma once

#include <string>
#include <vector>

#include "builder/base/result.h"
#include "builder/tar/tree.h"

namespace strata::builder::debian {

struct DebContents {
  std::string control;  // the control file, ending in one newline
  std::string md5sums;  // empty when the package has none
  // The maintainer scripts it carries (preinst, postinst, prerm, postrm, config, triggers),
  // which strata does not run.
  std::vector<std::string> scripts;
  // data.tar's entries: paths relative to the root ("usr/bin/x"), modes, owners and link
  // targets as in the archive. Regular files hold their content, or with a content_dir
  // name the file there that holds it (host_path).
  std::vector<LayerEntry> entries;
};

// Reads the .deb at `path`; `what` names it in errors ("deb 'hello' 1.0-1"). Refused, naming
// the entry: a missing or unknown member, an entry with an absolute path or a ".."
// component, a symlink whose relative target climbs above the root, a hardlink to anything
// but an earlier regular file, a device, fifo or socket, and more than 4 GiB of content.
// With `content_dir` (an existing, empty directory), regular files' contents are written
// there, one file per entry named by its position, so memory holds only the metadata;
// otherwise they are read into memory.
Result<DebContents> read_deb(const std::string& path, const std::string& what,
                             const std::string& content_dir = "");

}  // namespace strata::builder::debian
