#include "builder/tar/tar_writer.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <optional>

#include "builder/base/fd.h"
#include "builder/base/fs.h"
#include "builder/base/utf8.h"
#include "builder/tar/archive.h"
#include "builder/tar/compressor.h"

namespace strata::builder {
namespace {

constexpr size_t kCopyBufferBytes = 256 * 1024;

// One layer write in flight: the tar stream is hashed (DiffID), handed to the compressor,
// and the compressor's output is hashed (blob digest) and passed to the BlobOutput.
struct LayerStream {
  BlobOutput& out;
  Compressor* compressor = nullptr;  // null for Compression::kNone
  Sha256 tar_hash;
  Sha256 blob_hash;
  int64_t tar_size = 0;
  int64_t blob_size = 0;
  // The BlobOutput's error, kept across the C callbacks. A strata-det/1 compressor writes it
  // on its own thread: read it only after the compressor finished or was aborted.
  std::optional<Error> output_error;

  // Uncompressed, the blob is the tar: its digest is the DiffID, hashed once.
  bool emit_blob(const void* buf, size_t n) noexcept {
    if (compressor != nullptr) blob_hash.update(buf, n);
    blob_size += static_cast<int64_t>(n);
    auto written = out.write({static_cast<const char*>(buf), n});
    if (!written.ok()) {
      output_error = std::move(written).error();
      return false;
    }
    return true;
  }
};

la_ssize_t tar_write_cb(archive* a, void* client, const void* buf, size_t n) noexcept {
  auto* stream = static_cast<LayerStream*>(client);
  stream->tar_hash.update(buf, n);
  stream->tar_size += static_cast<int64_t>(n);
  if (stream->compressor == nullptr) {
    if (!stream->emit_blob(buf, n)) {
      archive_set_error(a, EIO, "writing the layer blob failed");
      return -1;
    }
    return static_cast<la_ssize_t>(n);
  }
  if (!stream->compressor->push(buf, n)) {
    archive_set_error(a, EIO, "compressing the layer failed");
    return -1;
  }
  return static_cast<la_ssize_t>(n);
}

Result<ArchiveWriter> open_tar(LayerStream& stream) {
  ArchiveWriter t = new_archive_writer();
  archive* a = t.get();
  STRATA_TRY(archive_check(a, archive_write_set_format_pax_restricted(a), "pax_restricted format"));
  // strata-det/1 ends the archive with the two 512-byte zero blocks and no padding to a
  // 10240-byte record (as Go's archive/tar does): the layer's size is the content's size.
  // The block size only sets how the bytes are handed to the callback (no record padding).
  STRATA_TRY(archive_check(a, archive_write_set_bytes_per_block(a, 65536), "block size"));
  STRATA_TRY(archive_check(a, archive_write_set_bytes_in_last_block(a, 1), "last block"));
  STRATA_TRY(archive_check(
      a, archive_write_open2(a, &stream, nullptr, tar_write_cb, nullptr, nullptr), "open tar"));
  return t;
}

ArchiveEntry make_header(const LayerEntry& e, int64_t mtime) {
  ArchiveEntry ae = new_archive_entry();
  archive_entry* h = ae.get();
  archive_entry_set_pathname_utf8(h, e.path.c_str());
  archive_entry_set_perm(h, static_cast<mode_t>(e.mode & 07777));
  archive_entry_set_uid(h, e.uid);
  archive_entry_set_gid(h, e.gid);
  // strata-det/1: mtime = epoch; atime, ctime and names stay unset, so the pax writer adds
  // no records for them and uname/gname are empty.
  archive_entry_set_mtime(h, mtime, 0);
  switch (e.type) {
    case EntryType::kRegular:
      archive_entry_set_filetype(h, AE_IFREG);
      archive_entry_set_size(h, e.size);
      break;
    case EntryType::kDirectory:
      archive_entry_set_filetype(h, AE_IFDIR);
      break;
    case EntryType::kSymlink:
      archive_entry_set_filetype(h, AE_IFLNK);
      archive_entry_set_symlink_utf8(h, e.link_target.c_str());
      break;
    case EntryType::kHardlink:
      archive_entry_set_filetype(h, AE_IFREG);
      archive_entry_set_hardlink_utf8(h, e.link_target.c_str());
      archive_entry_set_size(h, 0);
      break;
  }
  for (const auto& [name, value] : e.xattrs) {
    archive_entry_xattr_add_entry(h, name.c_str(), value.data(), value.size());
  }
  return ae;
}

Result<void> write_data(archive* tar, const char* data, size_t n, const std::string& what) {
  la_ssize_t written = archive_write_data(tar, data, n);
  if (written != static_cast<la_ssize_t>(n)) {
    return archive_check(tar, ARCHIVE_FATAL, fmt::format("writing {}", what));
  }
  return Ok{};
}

// Streams a host file into the tar. The size was recorded when the tree was collected; a
// file that changed since then would make the header lie, so it is an error.
Result<Digest> copy_host_file(archive* tar, const LayerEntry& e, std::string& buffer) {
  STRATA_TRY_ASSIGN(UniqueFd fd, open_fd(e.host_path, O_RDONLY | O_NOFOLLOW));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Error::sys(fmt::format("fstat {}", e.host_path), errno);
  if (!S_ISREG(st.st_mode) || st.st_size != e.size) {
    return Error::io(fmt::format("{} changed while the layer was being written", e.host_path));
  }
  Sha256 content_hash;
  int64_t left = e.size;
  while (left > 0) {
    int64_t want = std::min<int64_t>(left, static_cast<int64_t>(buffer.size()));
    STRATA_TRY_ASSIGN(int64_t n, read_some(fd.get(), buffer.data(), want, e.host_path));
    if (n == 0) {
      return Error::io(fmt::format("{} changed while the layer was being written", e.host_path));
    }
    STRATA_TRY(write_data(tar, buffer.data(), static_cast<size_t>(n), e.host_path));
    content_hash.update(buffer.data(), static_cast<size_t>(n));
    left -= n;
  }
  return content_hash.finish();
}

// Writes one entry and returns its record; a regular file's content is hashed as it streams.
Result<LayerFile> write_entry(archive* tar, const LayerEntry& e, int64_t mtime,
                              std::string& buffer) {
  // libarchive would fail on these with "Can't translate pathname" or write '?' for the
  // bad bytes; LayerTree refuses them earlier, naming where they came from.
  if (!is_valid_utf8(e.path) || !is_valid_utf8(e.link_target)) {
    return Error(
        ErrorCode::kInvalidInput,
        fmt::format("/{}: file names and link targets must be UTF-8", escape_bytes(e.path)));
  }
  ArchiveEntry header = make_header(e, mtime);
  STRATA_TRY(archive_check(tar, archive_write_header(tar, header.get()),
                           fmt::format("writing /{}", e.path)));
  LayerFile record{.path = e.path,
                   .type = e.type,
                   .mode = e.mode,
                   .uid = e.uid,
                   .gid = e.gid,
                   .link_target = e.link_target};
  if (e.type != EntryType::kRegular) return record;
  record.size = e.size;
  if (!e.host_path.empty()) {
    STRATA_TRY_ASSIGN(record.sha256, copy_host_file(tar, e, buffer));
    return record;
  }
  STRATA_CHECK(static_cast<int64_t>(e.content.size()) == e.size);
  STRATA_TRY(write_data(tar, e.content.data(), e.content.size(), "/" + e.path));
  record.sha256 = sha256_of(e.content);
  return record;
}

// A hardlink's content is its target's, which comes earlier in the same layer.
void fill_hardlink_digests(std::vector<LayerFile>& files) {
  std::map<std::string_view, const LayerFile*> regular;
  for (LayerFile& f : files) {
    if (f.type == EntryType::kRegular) regular[f.path] = &f;
    if (f.type != EntryType::kHardlink) continue;
    auto it = regular.find(f.link_target);
    STRATA_CHECK(it != regular.end());
    f.sha256 = it->second->sha256;
    f.size = it->second->size;
  }
}

}  // namespace

Result<void> FdBlobOutput::write(std::string_view bytes) { return write_all(fd_, bytes, what_); }

std::string_view layer_media_type(Compression compression) {
  switch (compression) {
    case Compression::kGzip:
      return "application/vnd.oci.image.layer.v1.tar+gzip";
    case Compression::kZstd:
      return "application/vnd.oci.image.layer.v1.tar+zstd";
    case Compression::kNone:
      return "application/vnd.oci.image.layer.v1.tar";
  }
  return "";
}

std::string_view compression_name(Compression compression) {
  switch (compression) {
    case Compression::kGzip:
      return "gzip";
    case Compression::kZstd:
      return "zstd";
    case Compression::kNone:
      return "none";
  }
  return "";
}

Result<Compression> parse_compression(std::string_view name) {
  for (Compression c : {Compression::kGzip, Compression::kZstd, Compression::kNone}) {
    if (compression_name(c) == name) return c;
  }
  return Error(ErrorCode::kSpec,
               fmt::format("unknown compression '{}': use gzip, zstd or none", name));
}

Result<LayerBlob> write_layer(const std::vector<LayerEntry>& entries,
                              const LayerWriteOptions& options, BlobOutput& out) {
  ScopedUtf8Locale utf8;
  LayerStream stream{.out = out};
  std::unique_ptr<Compressor> compressor;
  if (options.compression != Compression::kNone) {
    STRATA_TRY_ASSIGN(
        compressor,
        start_compressor(
            {.compression = options.compression, .profile = options.profile, .jobs = options.jobs},
            [&stream](const void* b, size_t n) { return stream.emit_blob(b, n); }));
    stream.compressor = compressor.get();
  }
  STRATA_TRY_ASSIGN(ArchiveWriter tar, open_tar(stream));
  std::string buffer(kCopyBufferBytes, '\0');
  auto fail = [&](Error e) -> Error {
    std::optional<Error> compressing;
    if (compressor) compressing = compressor->abort();
    if (stream.output_error) return std::move(*stream.output_error);
    if (compressing) return std::move(*compressing);
    return e;
  };
  std::vector<LayerFile> files;
  files.reserve(entries.size());
  for (const LayerEntry& e : entries) {
    auto written = write_entry(tar.get(), e, options.mtime, buffer);
    if (!written.ok()) return fail(std::move(written).error());
    files.push_back(*std::move(written));
  }
  fill_hardlink_digests(files);
  auto closed = archive_check(tar.get(), archive_write_close(tar.get()), "finishing tar");
  if (!closed.ok()) return fail(std::move(closed).error());
  if (compressor) {
    closed = compressor->finish();
    if (!closed.ok()) return fail(std::move(closed).error());
  }
  Digest diff_id = stream.tar_hash.finish();
  return LayerBlob{.digest = compressor ? stream.blob_hash.finish() : diff_id,
                   .diff_id = diff_id,
                   .size = stream.blob_size,
                   .tar_size = stream.tar_size,
                   .entry_count = static_cast<int64_t>(entries.size()),
                   .media_type = std::string(layer_media_type(options.compression)),
                   .files = std::move(files)};
}

Result<Digest> write_directory_tar(const std::string& dir, const HostCopyOptions& options,
                                   int64_t mtime, BlobOutput& out) {
  LayerTree tree;
  STRATA_TRY(tree.add_host_path(dir, "/", options, {}));
  STRATA_TRY_ASSIGN(std::vector<LayerEntry> entries, std::move(tree).sorted_entries());
  STRATA_TRY_ASSIGN(LayerBlob blob,
                    write_layer(entries, {.compression = Compression::kNone, .mtime = mtime}, out));
  return blob.diff_id;
}

const char* blob_origin_name(BlobOrigin origin) {
  switch (origin) {
    case BlobOrigin::kWritten:
      return "written";
    case BlobOrigin::kLocalCache:
      return "local-cache";
    case BlobOrigin::kRegistryCache:
      return "registry-cache";
    case BlobOrigin::kBaseImage:
      return "base-image";
  }
  return "written";
}

Result<Digest> directory_tar_digest(const std::string& dir, const HostCopyOptions& options,
                                    int64_t mtime) {
  // Uncompressed, the blob is the tar: write_layer hashes what passes through.
  DiscardOutput out;
  return write_directory_tar(dir, options, mtime, out);
}

}  // namespace strata::builder
