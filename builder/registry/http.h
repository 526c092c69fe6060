// HTTP for the registry client: one request in, one response out, on libcurl (the one file
// of builder/registry/ that wraps it, as curl_fetcher.cc does for sources). Redirects are
// followed, and libcurl drops Authorization on a redirect to another host, scheme or port
// (CURLOPT_UNRESTRICTED_AUTH stays off); bodies are capped; nothing here retries or
// authenticates (client.h does).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "builder/base/result.h"
#include "builder/sources/curl_fetcher.h"
#include "builder/sources/fetcher.h"

namespace strata::builder::registry {

struct HttpResponse;

// Where a response body goes when it is not kept in memory (blobs).
class BodySink {
 public:
  virtual ~BodySink() = default;
  // Called once per response that reaches the sink, before its first byte (or after the
  // transfer when it has none), with the final status and headers: a sink may refuse it
  // (the transfer fails with the error) or decide how to treat the body.
  virtual Result<void> begin(long status, const HttpResponse& response) {
    (void)status;
    (void)response;
    return Ok{};
  }
  virtual Result<void> write(std::string_view bytes) = 0;
};

struct HttpRequest {
  std::string method = "GET";  // GET, HEAD, PUT, POST, PATCH, DELETE
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  // The request body: `body`, or `body_size` bytes of `body_fd` from `body_offset`.
  std::string body;
  int body_fd = -1;
  int64_t body_offset = 0;
  int64_t body_size = 0;
  // A response body longer than this fails the request (hostile or broken servers).
  int64_t max_response_bytes = 1 << 20;
  BodySink* sink = nullptr;  // null: the body is kept in HttpResponse::body
  bool follow_redirects = true;
  // Redirects may lead to http as well as https (only for requests sent over http).
  bool allow_http_redirect = false;
  std::string ca_bundle;       // PEM: the CAs to trust; empty: the system's
  std::string progress_label;  // non-empty: progress is reported under it
  sources::ProgressSink* progress = nullptr;
  int64_t connect_timeout_ms = 30'000;
  // Stalls: slower than low_speed_bytes_per_s for low_speed_time_s seconds fails.
  int64_t low_speed_bytes_per_s = 1;
  int64_t low_speed_time_s = 60;
};

struct HttpResponse {
  long status = 0;
  // The final response's headers (after redirects), names lowercased, values trimmed.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;           // when the request had no sink
  int64_t body_bytes = 0;     // bytes received, either way
  std::string effective_url;  // where the last redirect led

  std::optional<std::string> header(std::string_view name) const;  // the first, if any
  std::vector<std::string> headers_named(std::string_view name) const;
};

// A transport failure (no HTTP status): kind and message, so the client can tell what is
// worth a retry and what means "not TLS".
using sources::TransportFailure;

struct HttpResult {
  Result<HttpResponse> response;
  TransportFailure failure = TransportFailure::kNone;
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  virtual HttpResult send(const HttpRequest& request) = 0;
};

class CurlTransport : public HttpTransport {
 public:
  HttpResult send(const HttpRequest& request) override;
};

// The system CA bundle libcurl uses by default, as PEM (empty when it cannot be read).
std::string system_ca_bundle();

}  // namespace strata::builder::registry
