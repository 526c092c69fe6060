// A compressor that runs on its own thread, so producing the tar (reading files, hashing the
// DiffID) and compressing it use two cores, as `tar | gzip` does. The output bytes are the
// same as compressing inline: one stream, compressed in order.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "builder/tar/archive.h"

namespace strata::builder {

enum class Compression;

class CompressorThread {
 public:
  // Receives the compressed bytes, on the compressor thread; returning false stops it.
  using Sink = std::function<bool(const void* data, size_t size)>;

  // Starts compressing with `compression` (gzip or zstd), per strata-det/1.
  static Result<std::unique_ptr<CompressorThread>> start(Compression compression, Sink sink);
  ~CompressorThread();
  CompressorThread(const CompressorThread&) = delete;
  CompressorThread& operator=(const CompressorThread&) = delete;

  // Queues a copy of `data`; blocks while the queue is full. False once compression failed.
  bool push(const void* data, size_t size);
  // Flushes, stops the thread and finishes the stream. Call once, after the last push.
  Result<void> finish();
  // Stops the thread without finishing the stream (after an error elsewhere).
  void abort();

 private:
  explicit CompressorThread(Sink sink) : sink_(std::move(sink)) {}
  Result<void> open(Compression compression);
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

}  // namespace strata::builder
