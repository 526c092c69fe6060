// strata-det/2 gzip: the tar stream cut into kGzipBlockBytes blocks, each compressed on its
// own by libdeflate (level 6) into one gzip member, by a pool of worker threads; the
// producer emits the members in stream order. A block's bytes depend on its input alone, so
// the output is the same for any number of threads, on any machine. Readers decompress the
// members as one stream (RFC 1952 §2.2: a gzip file is a series of members).
#include <libdeflate.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "builder/tar/compressor.h"

namespace strata::builder {
namespace {

constexpr int kGzipLevel = 6;
// RFC 1952 §2.3: ID1 ID2 CM FLG MTIME(4) XFL OS.
constexpr size_t kGzipOsByte = 9;
constexpr char kGzipOsUnix = 3;
// More threads than this would only add memory: the producer cannot feed them.
constexpr int64_t kMaxJobs = 64;

struct LibdeflateFree {
  void operator()(libdeflate_compressor* c) const { libdeflate_free_compressor(c); }
};
using LibdeflateCompressor = std::unique_ptr<libdeflate_compressor, LibdeflateFree>;

struct Block {
  std::string in;
  std::string out;
  bool done = false;
  bool failed = false;
};

class ParallelGzip : public Compressor {
 public:
  ParallelGzip(int64_t jobs, Sink sink)
      : sink_(std::move(sink)),
        jobs_(static_cast<size_t>(std::clamp<int64_t>(jobs, 1, kMaxJobs))),
        // Blocks in flight: enough to keep every worker busy while the producer emits the
        // oldest; memory stays at about 2 MiB per slot whatever the layer's size.
        window_(jobs_ + 2) {
    // Every block the window can hold, made on the thread that starts the compressor: the
    // thread that later pushes may be another (the layer writer's tar pipe), and blocks made
    // there would live in its own malloc arena, beside the ones it already has. The input
    // buffers are reserved, not touched, so a small layer costs no memory for them.
    for (size_t i = 0; i <= window_; ++i) {
      spare_.push_back(std::make_unique<Block>());
      spare_.back()->in.reserve(kGzipBlockBytes);
    }
  }
  ~ParallelGzip() override { abort(); }
  ParallelGzip(const ParallelGzip&) = delete;
  ParallelGzip& operator=(const ParallelGzip&) = delete;

  bool push(const void* data, size_t size) override;
  Result<void> finish() override;
  std::optional<Error> abort() override;

 private:
  bool submit();
  bool emit_oldest();
  void work() noexcept;
  void stop_workers();

  Sink sink_;
  const size_t jobs_;
  const size_t window_;
  std::unique_ptr<Block> current_;  // being filled by the producer
  bool submitted_any_ = false;
  bool failed_ = false;  // producer side: a block failed or the sink refused bytes
  std::vector<std::unique_ptr<Block>> spare_;  // emitted blocks, reused (producer only)

  std::mutex mu_;
  std::condition_variable work_ready_;
  std::condition_variable block_done_;
  std::deque<std::unique_ptr<Block>> in_flight_;  // stream order
  std::deque<Block*> todo_;                       // not yet taken by a worker
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

void ParallelGzip::work() noexcept {
  LibdeflateCompressor c(libdeflate_alloc_compressor(kGzipLevel));
  for (;;) {
    Block* b = nullptr;
    {
      std::unique_lock lock(mu_);
      work_ready_.wait(lock, [this] { return !todo_.empty() || stopping_; });
      if (todo_.empty()) return;
      b = todo_.front();
      todo_.pop_front();
    }
    bool ok = c != nullptr;
    if (ok) {
      b->out.resize(libdeflate_gzip_compress_bound(c.get(), b->in.size()));
      size_t n = libdeflate_gzip_compress(c.get(), b->in.data(), b->in.size(), b->out.data(),
                                          b->out.size());
      ok = n != 0;
      b->out.resize(n);
      // libdeflate writes OS=255 ("unknown"); gzip -n and strata-det/1 write 3 (Unix).
      if (ok) b->out[kGzipOsByte] = kGzipOsUnix;
    }
    {
      std::lock_guard lock(mu_);
      b->done = true;
      b->failed = !ok;
    }
    block_done_.notify_all();
  }
}

// Hands the current block to the workers, first emitting the oldest while the window is full.
bool ParallelGzip::submit() {
  std::unique_ptr<Block> b = std::move(current_);
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (in_flight_.size() < window_) break;
    }
    if (!emit_oldest()) return false;
  }
  {
    std::lock_guard lock(mu_);
    todo_.push_back(b.get());
    in_flight_.push_back(std::move(b));
    // One more worker while there is work for it: a small layer starts one thread.
    if (workers_.size() < jobs_ && workers_.size() < in_flight_.size()) {
      workers_.emplace_back([this] { work(); });
    }
  }
  submitted_any_ = true;
  work_ready_.notify_one();
  return true;
}

// Waits for the oldest block in flight and passes its member to the sink.
bool ParallelGzip::emit_oldest() {
  std::unique_ptr<Block> b;
  {
    std::unique_lock lock(mu_);
    block_done_.wait(lock, [this] { return in_flight_.front()->done; });
    b = std::move(in_flight_.front());
    in_flight_.pop_front();
  }
  if (b->failed || !sink_(b->out.data(), b->out.size())) {
    failed_ = true;
    return false;
  }
  b->in.clear();
  b->done = false;
  spare_.push_back(std::move(b));
  return true;
}

bool ParallelGzip::push(const void* data, size_t size) {
  if (failed_) return false;
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    if (!current_) {
      if (spare_.empty()) {
        current_ = std::make_unique<Block>();
      } else {
        current_ = std::move(spare_.back());
        spare_.pop_back();
      }
      current_->in.reserve(kGzipBlockBytes);
    }
    size_t n = std::min(size, kGzipBlockBytes - current_->in.size());
    current_->in.append(p, n);
    p += n;
    size -= n;
    if (current_->in.size() == kGzipBlockBytes && !submit()) return false;
  }
  return true;
}

void ParallelGzip::stop_workers() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    todo_.clear();
  }
  work_ready_.notify_all();
  for (std::thread& t : workers_) t.join();
  workers_.clear();
}

Result<void> ParallelGzip::finish() {
  // The last, partial block; an empty stream is one empty member, still a valid gzip file.
  bool ok = !failed_;
  if (ok && ((current_ && !current_->in.empty()) || !submitted_any_)) {
    if (!current_) current_ = std::make_unique<Block>();
    ok = submit();
  }
  while (ok) {
    {
      std::lock_guard lock(mu_);
      if (in_flight_.empty()) break;
    }
    ok = emit_oldest();
  }
  stop_workers();
  if (!ok) return Error::io("compressing the layer (gzip) failed");
  return Ok{};
}

std::optional<Error> ParallelGzip::abort() {
  stop_workers();
  return failed_ ? std::optional<Error>(Error::io("compressing the layer (gzip) failed"))
                 : std::nullopt;
}

}  // namespace

Result<std::unique_ptr<Compressor>> start_parallel_gzip(int64_t jobs, Compressor::Sink sink) {
  return std::unique_ptr<Compressor>(std::make_unique<ParallelGzip>(jobs, std::move(sink)));
}

}  // namespace strata::builder
