#include "builder/tar/tar_writer.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "builder/base/fd.h"
#include "builder/base/fs.h"
#include "builder/base/utf8.h"
#include "builder/tar/archive.h"
#include "builder/tar/compressor.h"

namespace strata::builder {
namespace {

constexpr size_t kCopyBufferBytes = 256 * 1024;

// An ordered byte stream handed from the thread that produces it to one consumer thread in
// chunks of kChunkBytes (128 KiB), so that producing (reading files, writing the tar, hashing their
// contents) and consuming (hashing the DiffID, compressing, writing the blob) run on two
// cores. At most kMaxChunks chunks wait, so memory stays bounded. A stream shorter than one
// chunk never starts the thread: close() consumes it on the caller's thread. The consumer
// sees the bytes in order and in the same chunks whatever the timing; what it computes
// cannot depend on the threads.
class ChunkPipe {
 public:
  // Returns false to stop the stream (its error kept by the caller, read after close()).
  using Consumer = std::function<bool(const char* data, size_t size)>;

  explicit ChunkPipe(Consumer consumer) : consumer_(std::move(consumer)) {}
  ~ChunkPipe() { stop(); }
  ChunkPipe(const ChunkPipe&) = delete;
  ChunkPipe& operator=(const ChunkPipe&) = delete;

  // False once the consumer refused bytes, or after close() or stop().
  bool write(const void* data, size_t size) {
    if (done_) return false;
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
      if (current_.capacity() < kChunkBytes) current_.reserve(kChunkBytes);
      size_t n = std::min(size, kChunkBytes - current_.size());
      current_.append(p, n);
      p += n;
      size -= n;
      if (current_.size() == kChunkBytes && !hand_off()) return false;
    }
    return true;
  }

  // Passes the rest to the consumer and waits until it has taken everything. True if the
  // consumer accepted every byte. After close(), the consumer's effects are visible here.
  bool close() {
    if (done_) return !failed_;
    done_ = true;
    if (!thread_.joinable()) {
      bool ok = !failed_ && (current_.empty() || consumer_(current_.data(), current_.size()));
      current_.clear();
      failed_ = !ok;
      return ok;
    }
    if (!current_.empty() && !hand_off()) {
      stop();
      return false;
    }
    current_ = std::string();
    {
      std::lock_guard lock(mu_);
      closed_ = true;
    }
    not_empty_.notify_one();
    thread_.join();
    return !failed_;
  }

  // Drops what is queued and waits for the consumer thread (after an error elsewhere).
  void stop() {
    done_ = true;
    {
      std::lock_guard lock(mu_);
      closed_ = true;
      queue_.clear();
    }
    not_empty_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

 private:
  // Small enough that a chunk is still in the caches when the consumer thread takes it:
  // measured on the 2-core machine, 1 MiB chunks cost 25% more CPU than 128 KiB ones.
  static constexpr size_t kChunkBytes = 128 << 10;
  static constexpr size_t kMaxChunks = 8;

  bool hand_off() {
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
    std::string next;
    {
      std::unique_lock lock(mu_);
      not_full_.wait(lock, [this] { return queue_.size() < kMaxChunks || failed_; });
      if (failed_) return false;
      queue_.push_back(std::move(current_));
      if (!spare_.empty()) {
        next = std::move(spare_.back());
        spare_.pop_back();
      }
    }
    not_empty_.notify_one();
    current_ = std::move(next);
    current_.clear();
    return true;
  }

  void run() noexcept {
    for (;;) {
      std::string chunk;
      {
        std::unique_lock lock(mu_);
        not_empty_.wait(lock, [this] { return !queue_.empty() || closed_; });
        if (queue_.empty()) return;
        chunk = std::move(queue_.front());
        queue_.pop_front();
      }
      bool ok = consumer_(chunk.data(), chunk.size());
      {
        std::lock_guard lock(mu_);
        if (!ok) {
          failed_ = true;
          queue_.clear();
        } else if (spare_.size() < kMaxChunks) {
          spare_.push_back(std::move(chunk));
        }
      }
      not_full_.notify_one();
      if (!ok) return;
    }
  }

  Consumer consumer_;
  std::string current_;  // being filled by the producer
  bool done_ = false;    // producer side: closed or stopped
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::deque<std::string> queue_;
  std::vector<std::string> spare_;  // emptied chunks, reused
  bool closed_ = false;
  bool failed_ = false;  // the consumer refused bytes (written under mu_ by the thread)
};

// One layer write in flight, on three threads besides the compressor's: the caller's
// reads the files and writes the tar; the tar pipe's hashes the tar (DiffID) and hands it to
// the compressor (or, uncompressed, writes it); the blob pipe's hashes the compressor's
// output (blob digest) and writes it to the BlobOutput.
struct LayerStream {
  explicit LayerStream(BlobOutput& o)
      : out(o),
        tar_pipe([this](const char* b, size_t n) { return take_tar(b, n); }),
        blob_pipe([this](const char* b, size_t n) { return take_blob(b, n); }) {}

  BlobOutput& out;
  Compressor* compressor = nullptr;  // null for Compression::kNone
  Sha256 tar_hash;                   // the tar pipe's thread
  Sha256 blob_hash;                  // the blob pipe's thread
  int64_t tar_size = 0;              // the caller's thread
  int64_t blob_size = 0;             // the compressor's sink
  // The BlobOutput's error, written by a pipe's thread: read it only after stop_all() or
  // after both pipes closed.
  std::optional<Error> output_error;
  ChunkPipe tar_pipe;
  ChunkPipe blob_pipe;

  // Uncompressed, the blob is the tar: its digest is the DiffID, hashed once.
  bool take_tar(const char* buf, size_t n) noexcept {
    tar_hash.update(buf, n);
    if (compressor != nullptr) return compressor->push(buf, n);
    return write_out(buf, n);
  }
  // The compressor's sink (on the thread that pushes or finishes, or strata-det/1's own).
  bool emit_blob(const void* buf, size_t n) noexcept {
    blob_size += static_cast<int64_t>(n);
    return blob_pipe.write(buf, n);
  }
  bool take_blob(const char* buf, size_t n) noexcept {
    blob_hash.update(buf, n);
    return write_out(buf, n);
  }
  bool write_out(const char* buf, size_t n) noexcept {
    auto written = out.write({buf, n});
    if (!written.ok()) {
      output_error = std::move(written).error();
      return false;
    }
    return true;
  }
  // Stops every thread that could still touch this stream, in the order the bytes flow.
  std::optional<Error> stop_all() {
    tar_pipe.stop();
    std::optional<Error> compressing;
    if (compressor != nullptr) compressing = compressor->abort();
    blob_pipe.stop();
    return compressing;
  }
};

la_ssize_t tar_write_cb(archive* a, void* client, const void* buf, size_t n) noexcept {
  auto* stream = static_cast<LayerStream*>(client);
  stream->tar_size += static_cast<int64_t>(n);
  if (!stream->tar_pipe.write(buf, n)) {
    archive_set_error(a, EIO, "writing the layer failed");
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
// file that changed since then would make the header lie, so it is an error. Returns the
// digest of what it streamed.
Result<PackedDigest> copy_host_file(archive* tar, const LayerEntry& e, std::string& buffer) {
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
  return content_hash.finish_packed();
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
  Sha256 content_hash;
  content_hash.update(e.content);
  record.sha256 = content_hash.finish_packed();
  return record;
}

// The digests and sizes of the regular files that hardlinks name, taken as the files go by
// in tar order. Only the targets are held: a map of every file would cost some 60 bytes per
// file, for a layer that usually has no hardlink at all. The names wanted must outlive this.
class LinkTargets {
 public:
  void want(std::string_view target) { targets_.try_emplace(std::string(target)); }
  // Keeps the regular file `f`'s digest and size for the links to it that follow.
  void note(const LayerFile& f) {
    targets_.insert_or_assign(f.path, Target{.sha256 = f.sha256, .size = f.size, .seen = true});
  }
  bool empty() const { return targets_.empty(); }
  // Notes `f` when it is a regular file a link wants (the last one of that path counts), or
  // gives a hardlink the digest and size of its `target`; false for a hardlink whose target
  // has not gone by.
  bool visit(LayerFile& f, std::string_view target) {
    if (f.type == EntryType::kRegular) {
      auto it = targets_.find(f.path);
      if (it != targets_.end()) it->second = {.sha256 = f.sha256, .size = f.size, .seen = true};
      return true;
    }
    if (f.type != EntryType::kHardlink) return true;
    auto it = targets_.find(target);
    if (it == targets_.end() || !it->second.seen) return false;
    f.sha256 = it->second.sha256;
    f.size = it->second.size;
    return true;
  }

 private:
  struct Target {
    PackedDigest sha256;
    int64_t size = 0;
    bool seen = false;
  };
  std::map<std::string, Target, std::less<>> targets_;
};

}  // namespace

size_t fill_hardlink_digests(std::vector<LayerFile>& files,
                             std::string_view (*target_path)(std::string_view)) {
  auto target_of = [&](const LayerFile& f) {
    return target_path ? target_path(f.link_target) : std::string_view(f.link_target);
  };
  LinkTargets targets;
  for (const LayerFile& f : files) {
    if (f.type == EntryType::kHardlink) targets.want(target_of(f));
  }
  size_t unresolved = 0;
  if (targets.empty()) return unresolved;
  for (LayerFile& f : files) unresolved += !targets.visit(f, target_of(f));
  return unresolved;
}

Result<void> FdBlobOutput::write(std::string_view bytes) {
  STRATA_TRY(write_all(fd_, bytes, what_));
  written_ += static_cast<int64_t>(bytes.size());
  constexpr int64_t kWritebackBytes = 8 << 20;
  if (start_writeback_ && written_ - writeback_from_ >= kWritebackBytes) {
    // Only a hint: the fsync that follows reports any write error. The output is appended at
    // the file's offset, which need not be 0 at the start.
    off_t end = ::lseek(fd_, 0, SEEK_CUR);
    if (end >= 0) {
      off_t from = end - static_cast<off_t>(written_ - writeback_from_);
      if (::sync_file_range(fd_, from, end - from, SYNC_FILE_RANGE_WRITE) != 0) {
        start_writeback_ = false;  // not a file (a pipe) or not supported: stop asking
      }
    }
    writeback_from_ = written_;
  }
  return Ok{};
}

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

Result<LayerBlob> write_layer(const LayerEntries& entries, const LayerWriteOptions& options,
                              BlobOutput& out) {
  ScopedUtf8Locale utf8;
  LayerStream stream(out);
  std::unique_ptr<Compressor> compressor;
  if (options.compression != Compression::kNone) {
    STRATA_TRY_ASSIGN(
        compressor,
        start_compressor(
            {.compression = options.compression, .profile = options.profile, .jobs = options.jobs},
            [&stream](const void* b, size_t n) { return stream.emit_blob(b, n); }));
    stream.compressor = compressor.get();
  }
  auto fail = [&](Error e) -> Error {
    std::optional<Error> compressing = stream.stop_all();
    if (stream.output_error) return std::move(*stream.output_error);
    if (compressing) return std::move(*compressing);
    return e;
  };
  auto opened = open_tar(stream);
  if (!opened.ok()) return fail(std::move(opened).error());
  ArchiveWriter tar = *std::move(opened);
  std::string buffer(kCopyBufferBytes, '\0');
  // A hardlink's record has its target's digest and size, taken as the records are made.
  LinkTargets targets;
  FileRecords files;
  if (!options.records_dir.empty()) files.spill_to(options.records_dir);
  int64_t count = 0;
  auto pass = entries.for_each([&](const LayerEntry& e, bool link_target) -> Result<void> {
    STRATA_TRY_ASSIGN(LayerFile written, write_entry(tar.get(), e, options.mtime, buffer));
    if (link_target && written.type == EntryType::kRegular) targets.note(written);
    // LayerTree orders each target before its links.
    if (written.type == EntryType::kHardlink) STRATA_CHECK(targets.visit(written, e.link_target));
    files.push_back(written);
    ++count;
    return Ok{};
  });
  if (!pass.ok()) return fail(std::move(pass).error());
  auto closed = archive_check(tar.get(), archive_write_close(tar.get()), "finishing tar");
  if (!closed.ok()) return fail(std::move(closed).error());
  if (!stream.tar_pipe.close()) return fail(Error::io("writing the layer failed"));
  if (compressor) {
    closed = compressor->finish();
    if (!closed.ok()) return fail(std::move(closed).error());
    if (!stream.blob_pipe.close()) return fail(Error::io("writing the layer blob failed"));
  }
  Digest diff_id = stream.tar_hash.finish();
  return LayerBlob{.digest = compressor ? stream.blob_hash.finish() : diff_id,
                   .diff_id = diff_id,
                   .size = compressor ? stream.blob_size : stream.tar_size,
                   .tar_size = stream.tar_size,
                   .entry_count = count,
                   .media_type = std::string(layer_media_type(options.compression)),
                   .files = std::move(files)};
}

Result<Digest> write_directory_tar(const std::string& dir, const HostCopyOptions& options,
                                   int64_t mtime, BlobOutput& out) {
  LayerTree tree;
  STRATA_TRY(tree.add_host_path(dir, "/", options, {}));
  STRATA_TRY_ASSIGN(LayerEntries entries, std::move(tree).entries());
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
