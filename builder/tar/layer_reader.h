// Reading a layer blob back (gzip, zstd or plain tar): each entry's metadata and the digest
// of its content. Used by `strata inspect`, the tests, and later by `strata diff`.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "builder/base/digest.h"
#include "builder/tar/tar_writer.h"
#include "builder/tar/tree.h"

namespace strata::builder {

struct ReadEntry {
  std::string path;  // as stored in the tar, trailing '/' of directories removed
  EntryType type = EntryType::kRegular;
  bool is_other_type = false;  // device, fifo or socket (never written by strata)
  uint32_t mode = 0;
  int64_t uid = 0;
  int64_t gid = 0;
  std::string uname;
  std::string gname;
  int64_t size = 0;
  int64_t mtime = 0;
  bool has_atime = false;
  bool has_ctime = false;
  std::string link_target;
  Digest content_digest;  // regular files: sha256 of the content
  std::map<std::string, std::string> xattrs;
};

using EntryVisitor = std::function<Result<void>(const ReadEntry&)>;

// Visits every entry of the layer at `path` in archive order; returns the entry count. With
// `diff_id`, also the layer's DiffID (the sha256 of the decompressed tar, hashed in the same
// pass) is stored there.
Result<int64_t> read_layer_file(const std::string& path, const EntryVisitor& visit,
                                Digest* diff_id = nullptr);
// The DiffID of the layer blob at `path` (gzip, zstd or plain): the sha256 of its decompressed
// bytes, without parsing them as a tar. More than `max_bytes` of them is an error (a blob from
// elsewhere that expands without bound is refused, not read to its end); `what` names the
// blob in errors.
Result<Digest> decompressed_digest(const std::string& path, int64_t max_bytes,
                                   std::string_view what);
// The entries of the layer blob at `path` in tar order as strata's writer records them
// (blob.files: a hardlink with its target's digest and size; devices, fifos and sockets only
// counted), with blob.entry_count, blob.diff_id and blob.tar_size from the same pass. More
// than `max_tar_bytes` decompressed is an error. The other members are left as they are.
Result<void> read_layer_files(const std::string& path, int64_t max_tar_bytes, LayerBlob& blob);
// The same for a layer held in memory.
Result<int64_t> read_layer_bytes(std::string_view bytes, const EntryVisitor& visit);

}  // namespace strata::builder
