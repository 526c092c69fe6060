#include "builder/sources/curl_fetcher.h"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <optional>
#include <thread>

#include "builder/base/fd.h"
#include "builder/base/fs.h"
#include "builder/sources/libcurl.h"

namespace strata::builder::sources {
namespace {

struct EasyFree {
  void operator()(CURL* c) const { libcurl::api().easy_cleanup(c); }
};
using CurlEasy = std::unique_ptr<CURL, EasyFree>;

// What the callbacks see of one transfer.
struct Transfer {
  int fd = -1;
  std::string label;
  ProgressSink* progress = nullptr;
  std::optional<Error> write_error;
};

// Callbacks are called from C: they never throw (docs/style.md §3).
size_t on_write(char* data, size_t size, size_t count, void* user) noexcept {
  auto* transfer = static_cast<Transfer*>(user);
  size_t bytes = size * count;
  try {
    Result<void> written = write_all(transfer->fd, {data, bytes}, "the download file");
    if (written.ok()) return bytes;
    transfer->write_error = std::move(written).error();
  } catch (...) {
    transfer->write_error = Error(ErrorCode::kInternal, "writing the download file failed");
  }
  return 0;  // makes libcurl stop with CURLE_WRITE_ERROR
}

int on_progress(void* user, curl_off_t total, curl_off_t done, curl_off_t, curl_off_t) noexcept {
  auto* transfer = static_cast<Transfer*>(user);
  try {
    transfer->progress->update(transfer->label, done, total);
  } catch (...) {
    // A progress display that fails must not fail the download.
  }
  return 0;
}

struct Attempt {
  Result<void> result;
  bool transient = false;  // worth another attempt
};

bool is_transient_http(long status) { return status == 408 || status == 429 || status >= 500; }

CURLcode set_options(CURL* h, const std::string& url, const FetchOptions& options,
                     Transfer& transfer, char* error_buffer) {
  CURLcode rc = CURLE_OK;
  // Every value passed through the variadic curl_easy_setopt must have the exact type the
  // option documents (long, pointer or function pointer).
  auto set = [&](CURLoption option, auto value) {
    if (rc == CURLE_OK) rc = libcurl::api().easy_setopt(h, option, value);
  };
  set(CURLOPT_URL, url.c_str());
  set(CURLOPT_ERRORBUFFER, error_buffer);
  set(CURLOPT_NOSIGNAL, 1L);  // we are multithreaded: no SIGALRM for DNS timeouts
  set(CURLOPT_PROTOCOLS_STR, "http,https,file");
  // A redirect may never lead to a local file.
  set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  set(CURLOPT_FOLLOWLOCATION, 1L);
  set(CURLOPT_MAXREDIRS, static_cast<long>(options.max_redirects));
  set(CURLOPT_FAILONERROR, 1L);
  set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout_ms));
  set(CURLOPT_LOW_SPEED_LIMIT, static_cast<long>(options.low_speed_bytes_per_s));
  set(CURLOPT_LOW_SPEED_TIME, static_cast<long>(options.low_speed_time_s));
  set(CURLOPT_USERAGENT, "strata/" STRATA_VERSION_STRING);
  set(CURLOPT_WRITEFUNCTION, &on_write);
  set(CURLOPT_WRITEDATA, static_cast<void*>(&transfer));
  if (options.progress != nullptr) {
    set(CURLOPT_XFERINFOFUNCTION, &on_progress);
    set(CURLOPT_XFERINFODATA, static_cast<void*>(&transfer));
    set(CURLOPT_NOPROGRESS, 0L);
  }
  return rc;
}

// "HTTP 404 from URL", naming where redirects led when that differs.
std::string http_failure(CURL* h, const std::string& url, long status) {
  char* effective = nullptr;
  libcurl::api().easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &effective);
  if (effective != nullptr && url != effective) {
    return fmt::format("HTTP {} from {} (redirected to {})", status, url, effective);
  }
  return fmt::format("HTTP {} from {}", status, url);
}

Attempt attempt_once(const std::string& url, int fd, const FetchOptions& options) {
  CurlEasy h(libcurl::api().easy_init());
  if (!h) return {Error(ErrorCode::kInternal, "curl_easy_init failed"), false};
  Transfer transfer{.fd = fd, .label = basename_of(url), .progress = options.progress};
  char error_buffer[CURL_ERROR_SIZE] = {};
  CURLcode rc = set_options(h.get(), url, options, transfer, error_buffer);
  if (rc != CURLE_OK) {
    return {Error(ErrorCode::kUnsupported,
                  fmt::format("configuring libcurl: {}", libcurl::api().easy_strerror(rc))),
            false};
  }
  rc = libcurl::api().easy_perform(h.get());
  if (rc == CURLE_OK) return {Ok{}, false};
  if (transfer.write_error) return {std::move(*transfer.write_error), false};
  if (rc == CURLE_HTTP_RETURNED_ERROR) {
    long status = 0;
    libcurl::api().easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &status);
    return {Error::io(http_failure(h.get(), url, status)), is_transient_http(status)};
  }
  std::string cause = error_buffer[0] != '\0' ? error_buffer : libcurl::api().easy_strerror(rc);
  if (rc == CURLE_TOO_MANY_REDIRECTS) {
    cause = fmt::format("more than {} redirects", options.max_redirects);
  }
  return {Error::io(fmt::format("fetching {}: {}", url, cause)),
          is_transient(classify_curl_code(rc))};
}

// Empties the file so a retry starts from the first byte.
Result<void> rewind_file(int fd) {
  if (::ftruncate(fd, 0) != 0) return Error::sys("truncate the download file", errno);
  if (::lseek(fd, 0, SEEK_SET) != 0) return Error::sys("seek in the download file", errno);
  return Ok{};
}

}  // namespace

TransportFailure classify_curl_code(int code) {
  switch (static_cast<CURLcode>(code)) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
      return TransportFailure::kConnect;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_USE_SSL_FAILED:
      return TransportFailure::kTls;
    case CURLE_OPERATION_TIMEDOUT:
      return TransportFailure::kTimeout;
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return TransportFailure::kTruncated;
    default:
      return TransportFailure::kOther;
  }
}

bool is_transient(TransportFailure f) {
  return f == TransportFailure::kConnect || f == TransportFailure::kTimeout ||
         f == TransportFailure::kTruncated;
}

// libcurl.h loads libcurl and runs curl_global_init exactly once.
Result<void> init_libcurl() {
  STRATA_TRY(libcurl::load());
  return Ok{};
}

Result<void> CurlFetcher::fetch(const std::string& url, int fd, const FetchOptions& options) {
  STRATA_TRY(init_libcurl());
  int64_t backoff_ms = options.retry_backoff_ms;
  int64_t attempts = std::max<int64_t>(options.max_attempts, 1);
  for (int64_t attempt = 1;; ++attempt) {
    STRATA_TRY(rewind_file(fd));
    Attempt result = attempt_once(url, fd, options);
    if (options.progress != nullptr) options.progress->finish(basename_of(url));
    if (result.result.ok() || !result.transient) return std::move(result.result);
    if (attempt >= attempts) {
      Error error = std::move(result.result).error();
      if (attempts > 1)
        error = Error::io(fmt::format("{} (gave up after {} attempts)", error.message(), attempts));
      return error;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
    backoff_ms *= 2;
  }
}

}  // namespace strata::builder::sources
