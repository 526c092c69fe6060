// strata-det/2 zstd: one frame from libzstd's streaming API at level 3, with a content
// checksum, compressed by libzstd's own worker threads (ZSTD_c_nbWorkers = jobs >= 1).
// libzstd's multi-threaded output depends on the parameters, not on nbWorkers, so it is the
// same for any job count; nbWorkers = 0 (single-threaded mode) would give other bytes and is
// never used. Input is always passed with ZSTD_e_continue: a first call with ZSTD_e_end would
// make libzstd compress a small input single-threaded, with its size in the frame header.
// The end is a ZSTD_e_flush until everything is out, then ZSTD_e_end: a last section that
// libzstd had not yet handed to a worker when ZSTD_e_end came would be compressed as the
// frame's last block, one that it had would get an empty last block after it (3 bytes more);
// which of the two happens depends on thread timing. After the flush it is always the second.
#include <fmt/format.h>
#include <zstd.h>

#include <algorithm>
#include <string>

#include "builder/tar/compressor.h"

namespace strata::builder {
namespace {

constexpr int kZstdLevel = 3;
constexpr int64_t kMaxJobs = 64;

class ZstdStream : public Compressor {
 public:
  explicit ZstdStream(Sink sink) : sink_(std::move(sink)), out_(ZSTD_CStreamOutSize(), '\0') {}
  ~ZstdStream() override { ZSTD_freeCCtx(cctx_); }
  ZstdStream(const ZstdStream&) = delete;
  ZstdStream& operator=(const ZstdStream&) = delete;

  Result<void> open(int64_t jobs);
  bool push(const void* data, size_t size) override;
  Result<void> finish() override;
  std::optional<Error> abort() override { return std::exchange(error_, std::nullopt); }

 private:
  // One call of ZSTD_compressStream2; passes what it produced to the sink. Returns libzstd's
  // remaining-to-flush hint, or nullopt on failure (error_ set).
  std::optional<size_t> step(ZSTD_inBuffer& in, ZSTD_EndDirective end);

  Sink sink_;
  std::string out_;
  ZSTD_CCtx* cctx_ = nullptr;
  std::optional<Error> error_;
  bool failed_ = false;
};

Result<void> ZstdStream::open(int64_t jobs) {
  cctx_ = ZSTD_createCCtx();
  if (cctx_ == nullptr) return Error::io("zstd: out of memory");
  int workers = static_cast<int>(std::clamp<int64_t>(jobs, 1, kMaxJobs));
  for (auto [param, value] :
       {std::pair{ZSTD_c_compressionLevel, kZstdLevel}, std::pair{ZSTD_c_checksumFlag, 1},
        std::pair{ZSTD_c_nbWorkers, workers}}) {
    size_t rc = ZSTD_CCtx_setParameter(cctx_, param, value);
    if (ZSTD_isError(rc)) {
      return Error::io(fmt::format("zstd: setting parameter {} to {}: {}", static_cast<int>(param),
                                   value, ZSTD_getErrorName(rc)));
    }
  }
  return Ok{};
}

std::optional<size_t> ZstdStream::step(ZSTD_inBuffer& in, ZSTD_EndDirective end) {
  ZSTD_outBuffer out{out_.data(), out_.size(), 0};
  size_t rc = ZSTD_compressStream2(cctx_, &out, &in, end);
  if (ZSTD_isError(rc)) {
    error_ = Error::io(fmt::format("zstd: compressing: {}", ZSTD_getErrorName(rc)));
    failed_ = true;
    return std::nullopt;
  }
  if (out.pos > 0 && !sink_(out_.data(), out.pos)) {
    failed_ = true;
    return std::nullopt;
  }
  return rc;
}

bool ZstdStream::push(const void* data, size_t size) {
  if (failed_) return false;
  ZSTD_inBuffer in{data, size, 0};
  while (in.pos < in.size) {
    if (!step(in, ZSTD_e_continue)) return false;
  }
  return true;
}

Result<void> ZstdStream::finish() {
  if (failed_) {
    if (error_) return *std::exchange(error_, std::nullopt);
    return Error::io("compressing the layer (zstd) failed");
  }
  ZSTD_inBuffer in{nullptr, 0, 0};
  for (ZSTD_EndDirective end : {ZSTD_e_flush, ZSTD_e_end}) {
    for (;;) {
      std::optional<size_t> left = step(in, end);
      if (!left) {
        if (error_) return *std::exchange(error_, std::nullopt);
        return Error::io("compressing the layer (zstd) failed");
      }
      if (*left == 0) break;
    }
  }
  return Ok{};
}

}  // namespace

Result<std::unique_ptr<Compressor>> start_zstd(int64_t jobs, Compressor::Sink sink) {
  auto c = std::make_unique<ZstdStream>(std::move(sink));
  STRATA_TRY(c->open(jobs));
  return std::unique_ptr<Compressor>(std::move(c));
}

}  // namespace strata::builder
