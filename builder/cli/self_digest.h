// This binary's sha256, which the provenance records as its builder (`builder-binary`) and
// `strata verify` compares. A debug build's binary is hundreds of megabytes, so the digest is
// remembered in CACHE/self/ under the file's identity: its device, inode, size, mtime and
// ctime (rewriting or replacing the binary changes its ctime). Like every local cache entry
// it is only as trustworthy as the cache directory's permissions.
#pragma once

#include <string>

#include "builder/base/digest.h"
#include "builder/base/result.h"

namespace strata::builder::cli {

// The digest of /proc/self/exe, from CACHE/self/ when `cache_dir` has it for this file,
// else hashed (and noted there, best effort).
Result<Digest> own_digest(const std::string& cache_dir);

}  // namespace strata::builder::cli
