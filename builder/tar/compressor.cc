#include "builder/tar/compressor.h"

#include <fmt/format.h>
#include <libdeflate.h>
#include <zstd.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "builder/tar/archive.h"

namespace strata::builder {
namespace {

// strata-det/1's compressor: libarchive's "raw" format (one unnamed stream) with a gzip or
// zstd filter, on its own thread, so producing the tar and compressing it use two cores as
// `tar | gzip` does. gzip level 6 with no name and mtime 0 (libarchive writes OS=3); zstd
// level 3, one thread.
class LibarchiveCompressor : public Compressor {
 public:
  explicit LibarchiveCompressor(Sink sink) : sink_(std::move(sink)) {}
  ~LibarchiveCompressor() override { abort(); }
  LibarchiveCompressor(const LibarchiveCompressor&) = delete;
  LibarchiveCompressor& operator=(const LibarchiveCompressor&) = delete;

  Result<void> open(Compression compression);
  void start() {
    thread_ = std::thread([this] { run(); });
  }
  bool push(const void* data, size_t size) override;
  Result<void> finish() override;
  std::optional<Error> abort() override;

 private:
  // At most this many chunks wait for the compressor (each up to one tar block, 64 KiB), so
  // memory stays bounded whatever the layer's size.
  static constexpr size_t kMaxQueuedChunks = 16;

  void run() noexcept;
  static la_ssize_t write_cb(archive* a, void* self, const void* buf, size_t n) noexcept;

  Sink sink_;
  ArchiveWriter archive_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::deque<std::string> chunks_;
  bool closed_ = false;
  bool failed_ = false;
  std::optional<Error> error_;  // set by the thread when compression fails
};

Result<void> LibarchiveCompressor::open(Compression compression) {
  archive_ = new_archive_writer();
  archive* a = archive_.get();
  STRATA_TRY(archive_check(a, archive_write_set_format_raw(a), "raw format"));
  if (compression == Compression::kGzip) {
    STRATA_TRY(archive_check(a, archive_write_add_filter_gzip(a), "gzip filter"));
    STRATA_TRY(
        archive_check(a, archive_write_set_options(a, "gzip:!timestamp,gzip:compression-level=6"),
                      "gzip options"));
  } else {
    STRATA_TRY(archive_check(a, archive_write_add_filter_zstd(a), "zstd filter"));
    STRATA_TRY(
        archive_check(a, archive_write_set_options(a, "zstd:compression-level=3"), "zstd options"));
  }
  // Unblocked output: the blob is exactly the compressor's stream, never padded.
  STRATA_TRY(archive_check(a, archive_write_set_bytes_per_block(a, 0), "block size"));
  STRATA_TRY(archive_check(a, archive_write_open2(a, this, nullptr, write_cb, nullptr, nullptr),
                           "open compressor"));
  ArchiveEntry e = new_archive_entry();
  archive_entry_set_pathname(e.get(), "layer.tar");
  archive_entry_set_filetype(e.get(), AE_IFREG);
  return archive_check(a, archive_write_header(a, e.get()), "compressor header");
}

la_ssize_t LibarchiveCompressor::write_cb(archive* a, void* self, const void* buf,
                                          size_t n) noexcept {
  if (!static_cast<LibarchiveCompressor*>(self)->sink_(buf, n)) {
    archive_set_error(a, EIO, "writing the layer blob failed");
    return -1;
  }
  return static_cast<la_ssize_t>(n);
}

void LibarchiveCompressor::run() noexcept {
  // libarchive converts nothing here, but keep the thread's locale as fixed as the writer's.
  ScopedUtf8Locale utf8;
  for (;;) {
    std::string chunk;
    {
      std::unique_lock lock(mu_);
      not_empty_.wait(lock, [this] { return !chunks_.empty() || closed_; });
      if (chunks_.empty()) return;
      chunk = std::move(chunks_.front());
      chunks_.pop_front();
    }
    not_full_.notify_one();
    la_ssize_t n = archive_write_data(archive_.get(), chunk.data(), chunk.size());
    if (n != static_cast<la_ssize_t>(chunk.size())) {
      std::lock_guard lock(mu_);
      error_ = archive_check(archive_.get(), ARCHIVE_FATAL, "compressing").error();
      failed_ = true;
      chunks_.clear();
      not_full_.notify_all();
      return;
    }
  }
}

bool LibarchiveCompressor::push(const void* data, size_t size) {
  std::unique_lock lock(mu_);
  not_full_.wait(lock, [this] { return chunks_.size() < kMaxQueuedChunks || failed_; });
  if (failed_) return false;
  chunks_.emplace_back(static_cast<const char*>(data), size);
  lock.unlock();
  not_empty_.notify_one();
  return true;
}

std::optional<Error> LibarchiveCompressor::abort() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    chunks_.clear();
  }
  not_empty_.notify_all();
  if (thread_.joinable()) thread_.join();
  return std::exchange(error_, std::nullopt);
}

Result<void> LibarchiveCompressor::finish() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  not_empty_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (error_) return *std::exchange(error_, std::nullopt);
  return archive_check(archive_.get(), archive_write_close(archive_.get()),
                       "finishing compression");
}

}  // namespace

std::string_view profile_name(DeterminismProfile profile) {
  switch (profile) {
    case DeterminismProfile::kDet1:
      return "strata-det/1";
    case DeterminismProfile::kDet2:
      return "strata-det/2";
  }
  return "";
}

Result<DeterminismProfile> parse_profile(std::string_view name) {
  for (DeterminismProfile p : {DeterminismProfile::kDet1, DeterminismProfile::kDet2}) {
    if (profile_name(p) == name) return p;
  }
  return Error(ErrorCode::kVerification,
               fmt::format("determinism profile '{}' is unknown to this strata, which writes "
                           "strata-det/1 and strata-det/2: use the strata release that recorded it",
                           name));
}

Result<std::unique_ptr<Compressor>> start_libarchive_compressor(Compression compression,
                                                                Compressor::Sink sink) {
  auto c = std::make_unique<LibarchiveCompressor>(std::move(sink));
  STRATA_TRY(c->open(compression));
  c->start();
  return std::unique_ptr<Compressor>(std::move(c));
}

Result<std::unique_ptr<Compressor>> start_compressor(const CompressorOptions& options,
                                                     Compressor::Sink sink) {
  STRATA_CHECK(options.compression != Compression::kNone);
  if (options.profile == DeterminismProfile::kDet1) {
    return start_libarchive_compressor(options.compression, std::move(sink));
  }
  if (options.compression == Compression::kGzip) {
    return start_parallel_gzip(options.jobs, std::move(sink));
  }
  return start_zstd(options.jobs, std::move(sink));
}

std::string compressor_versions() {
  return fmt::format("libdeflate/{} libzstd/{}", LIBDEFLATE_VERSION_STRING, ZSTD_versionString());
}

}  // namespace strata::builder
