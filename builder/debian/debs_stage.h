// The debs stage of a build: each locked package a `debs:` layer holds, downloaded into the
// content store (verified against the lock's sha256 and size), read (debian/deb_file.h),
// and turned into the layer's entries with what scanners read: the distroless convention
// var/lib/dpkg/status.d/NAME (the control stanza) and NAME.md5sums.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "builder/base/fs.h"
#include "builder/debian/deb_file.h"
#include "builder/debian/lock.h"
#include "builder/sources/store.h"
#include "builder/tar/tree.h"

namespace strata::builder::debian {

struct DebPackage {
  LockedPackage locked;
  std::vector<std::string> scripts;  // maintainer scripts that were not run
  std::vector<std::string> files;    // the regular files and hardlinks it installs, in order
  std::string license;               // from a machine-readable copyright file; may be empty
};

struct DebLayer {
  std::vector<DebPackage> packages;  // sorted by name
  std::vector<LayerEntry> entries;   // every package's, then status.d
  // Where the packages' file contents are (the entries' host_path): a scratch directory in
  // the cache, removed with the last DebLayer that holds it. Unset: in the entries' content.
  std::shared_ptr<TempDir> contents;
};

// One DebLayer per spec layer (empty for a layer without debs). With options.cache_dir, file
// contents go to a scratch directory under CACHE/packages/tmp/ rather than into memory, so
// memory holds the metadata only, whatever the packages' size. `warn` receives one line per
// package with maintainer scripts. Errors name the package: a download that fails, a blob
// whose sha256 or size is not the lock's (nothing is stored then), a hostile .deb.
Result<std::vector<DebLayer>> prepare_deb_layers(const specs::Spec& spec, const Lock& lock,
                                                 const sources::SourceOptions& options,
                                                 sources::Fetcher& fetcher,
                                                 const std::function<void(std::string)>& warn);

// One locked .deb: downloaded into `store` unless it holds it (verified against the lock's
// sha256 before it is stored, and its size), then read (deb_file.h). Errors name the package.
// With `content_dir`, as read_deb with one.
Result<DebContents> fetch_locked_deb(const LockedPackage& p, const sources::SourceStore& store,
                                     const std::string& spec_dir, sources::Fetcher& fetcher,
                                     const std::string& content_dir = "");

// The licence a machine-readable debian/copyright file (copyright-format 1.0) declares: its
// License fields' short names, in order of appearance, joined with " AND "; "" otherwise.
std::string copyright_license(std::string_view copyright);

}  // namespace strata::builder::debian
