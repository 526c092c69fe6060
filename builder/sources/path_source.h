// `path:` sources: the digest a spec pins for a local file or directory, and the
// deterministic tar that stands for a directory in the store (docs/sources.md).
#pragma once

#include <string>

#include "builder/base/digest.h"
#include "specs/spec.h"

namespace strata::builder::sources {

// The sha256 a spec must pin for `path`: a file's bytes, or for a directory the bytes of its
// strata-det/1 tar (write_directory_tar). Symlinks to the path itself are followed.
Result<Digest> path_digest(const std::string& path);

// Writes the strata-det/1 tar of directory `dir` to `fd` and returns its digest: entries
// sorted by name, owners 0:0, mtimes 0, modes normalized (0755 for directories and files
// their owner may execute, else 0644), symlinks kept as links, no compression. So a
// checkout's umask, mtimes and owner do not change the digest. Devices, fifos and sockets
// inside `dir` are errors.
Result<Digest> write_directory_tar(const std::string& dir, int fd);

// Pins every `path:` source the spec wrote without sha256 by its contents now (path_digest of
// where it resolves beneath the spec's context), so that the plan, cache keys and provenance
// see a digest like any other, and the store's second read must match it. Each pinned source
// gets pinned_by_content, for the one-line warning the commands print.
Result<void> pin_path_sources(specs::Spec& spec);

}  // namespace strata::builder::sources
