#include "builder/diff/layer_scan.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>

#include "builder/base/fd.h"
#include "builder/base/path.h"
#include "builder/tar/archive.h"

namespace strata::builder::diff {
namespace {

// The blob as libarchive reads it: every byte passes through the hash of the stored form
// on the way to the decompressor, so one read of the file yields both digests.
struct HashingSource {
  int fd = -1;
  Sha256 hash;
  int64_t size_bytes = 0;
  std::vector<char> buffer = std::vector<char>(1 << 16);
};

la_ssize_t read_hashed(archive* a, void* data, const void** out) noexcept {
  auto* source = static_cast<HashingSource*>(data);
  ssize_t n;
  do {
    n = ::read(source->fd, source->buffer.data(), source->buffer.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    archive_set_error(a, errno, "read: %s", std::strerror(errno));
    return -1;
  }
  source->hash.update(source->buffer.data(), static_cast<size_t>(n));
  source->size_bytes += n;
  *out = source->buffer.data();
  return n;
}

// The DiffID of the whole stream, read through `source` (which hashes the compressed bytes).
// The raw format treats any byte stream as one entry, so plain tars work as well as
// compressed ones.
Result<Digest> diff_id_of(HashingSource& source) {
  ArchiveReader r = new_raw_reader();
  STRATA_TRY(archive_check(
      r.get(), archive_read_open(r.get(), &source, nullptr, read_hashed, nullptr), "opening"));
  return hash_decompressed(r.get(), std::numeric_limits<int64_t>::max(), "the blob");
}

}  // namespace

BlobScan scan_blob(const std::string& path) {
  BlobScan scan;
  auto fd = open_fd(path, O_RDONLY);
  if (!fd.ok()) {
    scan.error = fd.error().message();
    return scan;
  }
  HashingSource source{.fd = fd->get()};
  auto diff_id = diff_id_of(source);
  if (!diff_id.ok()) {
    scan.error = diff_id.error().message();
    return scan;
  }
  // The decompressor may stop before the end (trailing bytes after a gzip member); the
  // stored digest covers every byte of the file.
  for (;;) {
    auto n = read_some(source.fd, source.buffer.data(), static_cast<int64_t>(source.buffer.size()),
                       path);
    if (!n.ok()) {
      scan.error = n.error().message();
      return scan;
    }
    if (*n == 0) break;
    source.hash.update(source.buffer.data(), static_cast<size_t>(*n));
    source.size_bytes += *n;
  }
  scan.is_readable = true;
  scan.digest = source.hash.finish();
  scan.size_bytes = source.size_bytes;
  scan.diff_id = *diff_id;
  return scan;
}

Result<std::vector<ReadEntry>> read_entries(const std::string& path) {
  std::vector<ReadEntry> entries;
  STRATA_TRY(read_layer_file(path, [&](const ReadEntry& e) -> Result<void> {
    ReadEntry copy = e;
    copy.path = archive_member_path(e.path);
    if (copy.type == EntryType::kHardlink) copy.link_target = archive_member_path(e.link_target);
    entries.push_back(std::move(copy));
    return Ok{};
  }));
  return entries;
}

}  // namespace strata::builder::diff
