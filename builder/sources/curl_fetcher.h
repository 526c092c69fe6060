// CurlFetcher: the Fetcher for http://, https:// and file:// URLs, and the one file that
// wraps libcurl (docs/style.md §4): its handle, options, callbacks and error codes stay here.
#pragma once

#include "builder/sources/fetcher.h"

namespace strata::builder::sources {

// Follows redirects (to http and https only), fails on HTTP status >= 400 ("HTTP 404 from
// URL"), detects stalls with a low-speed limit, retries transient failures with backoff, and
// reports progress to options.progress. libcurl is initialized once per process, on first
// use. Safe to use from several threads, each with its own fetch() call.
class CurlFetcher : public Fetcher {
 public:
  Result<void> fetch(const std::string& url, int fd, const FetchOptions& options) override;
};

// What a failed libcurl transfer (no HTTP status) means to a caller deciding whether to try
// again (kConnect, kTimeout, kTruncated are transient) or to fall back from TLS to HTTP.
enum class TransportFailure { kNone, kConnect, kTls, kTimeout, kTruncated, kOther };
// The failure a CURLcode (passed as int, so this header needs no curl.h) stands for.
TransportFailure classify_curl_code(int code);
bool is_transient(TransportFailure failure);

// Loads libcurl and runs curl_global_init, exactly once per process (libcurl.h); every
// libcurl user (this fetcher, the registry client) calls it before its first handle.
Result<void> init_libcurl();

}  // namespace strata::builder::sources
