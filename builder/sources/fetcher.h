// Fetcher: the one interface through which sources reach the network (docs/style.md §1), so the
// store can be tested with fakes. CurlFetcher (curl_fetcher.h) is the real one.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "builder/base/result.h"

namespace strata::builder::sources {

// Receives download progress; TerminalProgress (progress.h) draws it on a terminal.
class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  // `total_bytes` is 0 while the size is unknown.
  virtual void update(std::string_view label, int64_t done_bytes, int64_t total_bytes) = 0;
  // The transfer of `label` ended (successfully or not).
  virtual void finish(std::string_view label) = 0;
};

struct FetchOptions {
  int64_t connect_timeout_ms = 30'000;
  // A transfer slower than low_speed_bytes_per_s for low_speed_time_s seconds has stalled
  // and fails (then it may be retried).
  int64_t low_speed_bytes_per_s = 1;
  int64_t low_speed_time_s = 60;
  int64_t max_redirects = 10;
  // Attempts for transient failures (connection refused or reset, timeouts, truncated bodies,
  // HTTP 408, 429 and 5xx); never for other 4xx, bad URLs or redirect loops.
  int64_t max_attempts = 3;
  int64_t retry_backoff_ms = 1'000;  // before the second attempt; doubles after each attempt
  ProgressSink* progress = nullptr;  // not owned; null: no progress display
};

class Fetcher {
 public:
  virtual ~Fetcher() = default;
  // Replaces the contents of `fd` (a regular file open for reading and writing) with the
  // body of `url` (http://, https:// or file://). The error names the URL and the cause,
  // e.g. "HTTP 404 from http://host/x.tar.gz". The caller verifies the digest.
  virtual Result<void> fetch(const std::string& url, int fd, const FetchOptions& options) = 0;
};

}  // namespace strata::builder::sources
