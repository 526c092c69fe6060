// The layer compressors (docs/compression.md). The tar producer pushes the uncompressed
// stream in order; the compressor hands the compressed bytes, in order, to a sink. The bytes
// depend only on the input, the compression and the determinism profile: never on `jobs`,
// the machine, its CPU count or affinity, or how the input was split into pushes.
//
//   strata-det/2 gzip: the stream cut into 1 MiB blocks, each compressed by libdeflate at
//     level 6 into its own gzip member (mtime 0, no name), on `jobs` threads, emitted in order.
//   strata-det/2 zstd: one zstd frame from libzstd at level 3 with a checksum, compressed by
//     `jobs` (>= 1) worker threads: libzstd's output is the same for any nbWorkers >= 1.
//   strata-det/1 (kept so `strata verify` can rebuild images recorded with it): one stream
//     from libarchive's gzip (zlib level 6) or zstd (level 3, single-threaded) filter.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "builder/base/result.h"

namespace strata::builder {

enum class Compression { kGzip, kZstd, kNone };

// The byte contract of the layers strata writes (docs/image-format.md), recorded in
// provenance as "strata-det/N". strata-det/2 changed the compressed streams only: the tar,
// and so every DiffID and directory digest, is the same as strata-det/1's.
enum class DeterminismProfile { kDet1, kDet2 };
inline constexpr DeterminismProfile kCurrentProfile = DeterminismProfile::kDet2;
std::string_view profile_name(DeterminismProfile profile);  // "strata-det/2"
Result<DeterminismProfile> parse_profile(std::string_view name);

// The gzip block: a fixed part of the profile (changing it changes the bytes).
inline constexpr size_t kGzipBlockBytes = 1 << 20;

class Compressor {
 public:
  // Receives the compressed bytes, in order; returning false stops the compression. Called
  // on the pushing thread, except for strata-det/1, which calls it on its own thread.
  using Sink = std::function<bool(const void* data, size_t size)>;

  virtual ~Compressor() = default;
  // Compresses `data` (the compressor keeps what it needs). False once compression failed
  // or the sink refused bytes; finish() or abort() then tell why.
  virtual bool push(const void* data, size_t size) = 0;
  // Ends the stream and flushes it to the sink. Call once, after the last push.
  virtual Result<void> finish() = 0;
  // Stops without finishing (after an error elsewhere); returns the compressor's own error,
  // if it had one.
  virtual std::optional<Error> abort() = 0;
};

struct CompressorOptions {
  Compression compression = Compression::kGzip;  // gzip or zstd
  DeterminismProfile profile = kCurrentProfile;
  int64_t jobs = 1;  // threads compressing; never changes the bytes
};

Result<std::unique_ptr<Compressor>> start_compressor(const CompressorOptions& options,
                                                     Compressor::Sink sink);

// Each compressor on its own, for tests and benchmarks: start_compressor picks one.
Result<std::unique_ptr<Compressor>> start_parallel_gzip(int64_t jobs, Compressor::Sink sink);
Result<std::unique_ptr<Compressor>> start_zstd(int64_t jobs, Compressor::Sink sink);
Result<std::unique_ptr<Compressor>> start_libarchive_compressor(Compression compression,
                                                                Compressor::Sink sink);

// "libdeflate/1.14 libzstd/1.5.4": the compression libraries strata-det/2's bytes depend on.
std::string compressor_versions();

}  // namespace strata::builder
