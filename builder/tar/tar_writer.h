// Writing one layer: sorted entries -> a strata-det/1 tar, compressed, in one streaming pass
// that computes the DiffID (uncompressed) and the blob digest (compressed) on the way.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "builder/base/digest.h"
#include "builder/tar/compressor.h"
#include "builder/tar/file_records.h"
#include "builder/tar/tree.h"

namespace strata::builder {

// The OCI layer media type for a compression; "gzip" etc. parse back with parse_compression.
std::string_view layer_media_type(Compression compression);
std::string_view compression_name(Compression compression);
Result<Compression> parse_compression(std::string_view name);

struct LayerWriteOptions {
  Compression compression = Compression::kGzip;
  int64_t mtime = 0;  // SOURCE_DATE_EPOCH: every entry's mtime
  int64_t jobs = 1;   // compressor threads (--jobs); the bytes are the same for any value
  // strata-det/1 only to rebuild an image recorded with it (strata verify).
  DeterminismProfile profile = kCurrentProfile;
  // Where the layer's file records spill to (FileRecords::spill_to); empty: kept in memory.
  std::string records_dir;
};

// Gives each hardlink in `files` the digest and size of the regular file it links to: the
// last record of that path before it, the path being `target_path(link_target)` (the link
// text itself when null). Returns how many hardlinks have no such file; those are left as
// they are.
size_t fill_hardlink_digests(std::vector<LayerFile>& files,
                             std::string_view (*target_path)(std::string_view) = nullptr);

// Where a layer blob's bytes came from (strata build --json's "origin").
enum class BlobOrigin { kWritten, kLocalCache, kRegistryCache, kBaseImage };
const char* blob_origin_name(BlobOrigin origin);  // "written", "local-cache", ...

struct LayerBlob {
  Digest digest;   // of the blob as stored (compressed)
  Digest diff_id;  // of the uncompressed tar
  int64_t size = 0;
  int64_t tar_size = 0;
  int64_t entry_count = 0;
  std::string media_type;
  FileRecords files;  // every entry, in tar order
  BlobOrigin origin = BlobOrigin::kWritten;
};

// Receives the compressed blob bytes in order. Returning an Error stops the write.
class BlobOutput {
 public:
  virtual ~BlobOutput() = default;
  virtual Result<void> write(std::string_view bytes) = 0;
};

// A BlobOutput that keeps nothing: for a pass that wants only the digests.
class DiscardOutput : public BlobOutput {
 public:
  Result<void> write(std::string_view) override { return Ok{}; }
};

// A BlobOutput that appends to a file descriptor. With `start_writeback` (a file that will
// be fsynced), it asks the kernel to start writing each few MiB out as soon as they are
// written (sync_file_range), so the fsync at the end waits for little more than the tail.
class FdBlobOutput : public BlobOutput {
 public:
  FdBlobOutput(int fd, std::string what, bool start_writeback = false)
      : fd_(fd), what_(std::move(what)), start_writeback_(start_writeback) {}
  Result<void> write(std::string_view bytes) override;

 private:
  int fd_;
  std::string what_;
  bool start_writeback_;
  int64_t written_ = 0;         // bytes written through this output
  int64_t writeback_from_ = 0;  // the first byte not yet handed to writeback
};

// Writes `entries` (in strata-det/1 order, e.g. from LayerTree::entries) to `out`, in one
// pass over them. Memory stays bounded: file contents stream through a fixed buffer.
Result<LayerBlob> write_layer(const LayerEntries& entries, const LayerWriteOptions& options,
                              BlobOutput& out);

// The uncompressed strata-det/1 tar of the host directory `dir` (as the root: its children
// at the top level), written to `out`; returns its digest. Directory sources, package
// outputs and layout archives are all this tar, with different copy options and mtimes.
Result<Digest> write_directory_tar(const std::string& dir, const HostCopyOptions& options,
                                   int64_t mtime, BlobOutput& out);
// The digest of that tar, without keeping its bytes.
Result<Digest> directory_tar_digest(const std::string& dir, const HostCopyOptions& options,
                                    int64_t mtime);

}  // namespace strata::builder
