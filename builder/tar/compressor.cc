#include "builder/tar/compressor.h"

#include "builder/tar/tar_writer.h"

namespace strata::builder {
namespace {

// At most this many chunks wait for the compressor (each up to one tar block, 64 KiB), so
// memory stays bounded whatever the layer's size.
constexpr size_t kMaxQueuedChunks = 16;

}  // namespace

Result<std::unique_ptr<CompressorThread>> CompressorThread::start(Compression compression,
                                                                  Sink sink) {
  std::unique_ptr<CompressorThread> c(new CompressorThread(std::move(sink)));
  STRATA_TRY(c->open(compression));
  c->thread_ = std::thread([raw = c.get()] { raw->run(); });
  return c;
}

// libarchive's "raw" format (one unnamed stream) with a gzip or zstd filter. strata-det/1:
// gzip level 6 with no name and mtime 0 (libarchive writes OS=3); zstd level 3, one thread.
Result<void> CompressorThread::open(Compression compression) {
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

la_ssize_t CompressorThread::write_cb(archive* a, void* self, const void* buf, size_t n) noexcept {
  if (!static_cast<CompressorThread*>(self)->sink_(buf, n)) {
    archive_set_error(a, EIO, "writing the layer blob failed");
    return -1;
  }
  return static_cast<la_ssize_t>(n);
}

void CompressorThread::run() noexcept {
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

bool CompressorThread::push(const void* data, size_t size) {
  std::unique_lock lock(mu_);
  not_full_.wait(lock, [this] { return chunks_.size() < kMaxQueuedChunks || failed_; });
  if (failed_) return false;
  chunks_.emplace_back(static_cast<const char*>(data), size);
  lock.unlock();
  not_empty_.notify_one();
  return true;
}

void CompressorThread::abort() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    chunks_.clear();
  }
  not_empty_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Result<void> CompressorThread::finish() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  not_empty_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (error_) return std::move(*error_);
  return archive_check(archive_.get(), archive_write_close(archive_.get()),
                       "finishing compression");
}

CompressorThread::~CompressorThread() { abort(); }

}  // namespace strata::builder
