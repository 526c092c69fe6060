#include "builder/registry/http.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <memory>

#include "builder/base/fs.h"
#include "builder/sources/curl_fetcher.h"
#include "builder/sources/libcurl.h"

namespace strata::builder::registry {
namespace {

struct EasyFree {
  void operator()(CURL* c) const { sources::libcurl::api().easy_cleanup(c); }
};
struct ListFree {
  void operator()(curl_slist* l) const { sources::libcurl::api().slist_free_all(l); }
};

struct Transfer {
  const HttpRequest* request = nullptr;
  CURL* handle = nullptr;
  bool began = false;  // the sink's begin() was called
  HttpResponse response;
  int64_t sent = 0;  // request body bytes handed to libcurl
  std::optional<Error> error;
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// Callbacks are called from C: they never throw (docs/style.md §3).
size_t on_header(char* data, size_t size, size_t count, void* user) noexcept {
  auto* t = static_cast<Transfer*>(user);
  size_t bytes = size * count;
  try {
    std::string_view line(data, bytes);
    if (line.starts_with("HTTP/")) {
      t->response.headers.clear();  // a new response: a redirect's or a 100 Continue's end
    } else if (size_t colon = line.find(':'); colon != std::string_view::npos) {
      if (t->response.headers.size() < 1000) {
        t->response.headers.emplace_back(lower(trim(line.substr(0, colon))),
                                         std::string(trim(line.substr(colon + 1))));
      }
    }
  } catch (...) {
    return 0;
  }
  return bytes;
}

size_t on_write(char* data, size_t size, size_t count, void* user) noexcept {
  auto* t = static_cast<Transfer*>(user);
  size_t bytes = size * count;
  try {
    if (t->response.body_bytes + static_cast<int64_t>(bytes) > t->request->max_response_bytes) {
      t->error = Error::io(
          fmt::format("the response is longer than {} bytes", t->request->max_response_bytes));
      return 0;
    }
    t->response.body_bytes += static_cast<int64_t>(bytes);
    if (t->request->sink == nullptr) {
      t->response.body.append(data, bytes);
      return bytes;
    }
    if (!t->began) {
      t->began = true;
      long status = 0;
      sources::libcurl::api().easy_getinfo(t->handle, CURLINFO_RESPONSE_CODE, &status);
      Result<void> began = t->request->sink->begin(status, t->response);
      if (!began.ok()) {
        t->error = std::move(began).error();
        return 0;
      }
    }
    Result<void> written = t->request->sink->write({data, bytes});
    if (written.ok()) return bytes;
    t->error = std::move(written).error();
  } catch (...) {
    t->error = Error(ErrorCode::kInternal, "storing the response failed");
  }
  return 0;  // libcurl stops with CURLE_WRITE_ERROR
}

size_t on_read(char* buffer, size_t size, size_t count, void* user) noexcept {
  auto* t = static_cast<Transfer*>(user);
  const HttpRequest& r = *t->request;
  size_t want = size * count;
  int64_t total = r.body_fd >= 0 ? r.body_size : static_cast<int64_t>(r.body.size());
  int64_t left = total - t->sent;
  if (left <= 0) return 0;
  size_t n = static_cast<size_t>(std::min<int64_t>(left, static_cast<int64_t>(want)));
  if (r.body_fd < 0) {
    std::copy_n(r.body.data() + t->sent, n, buffer);
  } else {
    ssize_t got = ::pread(r.body_fd, buffer, n, r.body_offset + t->sent);
    if (got <= 0) {
      try {
        t->error = Error::sys("read the upload", got < 0 ? errno : EIO);
      } catch (...) {
      }
      return CURL_READFUNC_ABORT;
    }
    n = static_cast<size_t>(got);
  }
  t->sent += static_cast<int64_t>(n);
  return n;
}

int on_progress(void* user, curl_off_t down_total, curl_off_t down, curl_off_t up_total,
                curl_off_t up) noexcept {
  auto* t = static_cast<Transfer*>(user);
  try {
    if (up_total > 0) {
      t->request->progress->update(t->request->progress_label, up, up_total);
    } else {
      t->request->progress->update(t->request->progress_label, down, down_total);
    }
  } catch (...) {
    // A progress display that fails must not fail the transfer.
  }
  return 0;
}

CURLcode configure(CURL* h, const HttpRequest& r, Transfer& t, curl_slist* headers,
                   char* error_buffer) {
  CURLcode rc = CURLE_OK;
  // Every value passed through the variadic curl_easy_setopt must have the exact type the
  // option documents (long, pointer or function pointer).
  auto set = [&](CURLoption option, auto value) {
    if (rc == CURLE_OK) rc = sources::libcurl::api().easy_setopt(h, option, value);
  };
  set(CURLOPT_URL, r.url.c_str());
  set(CURLOPT_ERRORBUFFER, error_buffer);
  set(CURLOPT_NOSIGNAL, 1L);
  set(CURLOPT_PROTOCOLS_STR, "http,https");
  // An https request is never redirected to plain http.
  set(CURLOPT_REDIR_PROTOCOLS_STR, r.allow_http_redirect ? "http,https" : "https");
  set(CURLOPT_FOLLOWLOCATION, r.follow_redirects ? 1L : 0L);
  set(CURLOPT_MAXREDIRS, 10L);
  // Authorization never follows a redirect to another host, scheme or port: libcurl drops
  // the header unless CURLOPT_UNRESTRICTED_AUTH is set, and it is not.
  set(CURLOPT_UNRESTRICTED_AUTH, 0L);
  set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(r.connect_timeout_ms));
  set(CURLOPT_LOW_SPEED_LIMIT, static_cast<long>(r.low_speed_bytes_per_s));
  set(CURLOPT_LOW_SPEED_TIME, static_cast<long>(r.low_speed_time_s));
  set(CURLOPT_USERAGENT, "strata/" STRATA_VERSION_STRING);
  set(CURLOPT_HTTPHEADER, headers);
  set(CURLOPT_HEADERFUNCTION, &on_header);
  set(CURLOPT_HEADERDATA, static_cast<void*>(&t));
  set(CURLOPT_WRITEFUNCTION, &on_write);
  set(CURLOPT_WRITEDATA, static_cast<void*>(&t));
  if (!r.ca_bundle.empty()) {
    curl_blob blob{.data = const_cast<char*>(r.ca_bundle.data()),
                   .len = r.ca_bundle.size(),
                   .flags = CURL_BLOB_COPY};
    set(CURLOPT_CAINFO_BLOB, &blob);
  }
  bool has_body = r.body_fd >= 0 || !r.body.empty() || r.method == "PUT" || r.method == "PATCH" ||
                  r.method == "POST";
  if (r.method == "HEAD") {
    set(CURLOPT_NOBODY, 1L);
  } else if (has_body) {
    int64_t size = r.body_fd >= 0 ? r.body_size : static_cast<int64_t>(r.body.size());
    set(CURLOPT_UPLOAD, 1L);
    set(CURLOPT_READFUNCTION, &on_read);
    set(CURLOPT_READDATA, static_cast<void*>(&t));
    set(CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(size));
    set(CURLOPT_CUSTOMREQUEST, r.method.c_str());
  } else if (r.method != "GET") {
    set(CURLOPT_CUSTOMREQUEST, r.method.c_str());
  }
  if (r.progress != nullptr && !r.progress_label.empty()) {
    set(CURLOPT_XFERINFOFUNCTION, &on_progress);
    set(CURLOPT_XFERINFODATA, static_cast<void*>(&t));
    set(CURLOPT_NOPROGRESS, 0L);
  }
  return rc;
}

}  // namespace

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return std::nullopt;
}

std::vector<std::string> HttpResponse::headers_named(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : headers) {
    if (k == name) out.push_back(v);
  }
  return out;
}

HttpResult CurlTransport::send(const HttpRequest& request) {
  if (Result<void> init = sources::init_libcurl(); !init.ok()) {
    return {std::move(init).error(), TransportFailure::kOther};
  }
  std::unique_ptr<CURL, EasyFree> h(sources::libcurl::api().easy_init());
  if (!h) return {Error(ErrorCode::kInternal, "curl_easy_init failed"), TransportFailure::kOther};
  curl_slist* list = nullptr;
  for (const std::string& header : request.headers)
    list = sources::libcurl::api().slist_append(list, header.c_str());
  // No "Expect: 100-continue" round trip before uploads.
  list = sources::libcurl::api().slist_append(list, "Expect:");
  std::unique_ptr<curl_slist, ListFree> headers(list);
  Transfer t{.request = &request, .handle = h.get()};
  char error_buffer[CURL_ERROR_SIZE] = {};
  CURLcode rc = configure(h.get(), request, t, headers.get(), error_buffer);
  if (rc != CURLE_OK) {
    return {Error(ErrorCode::kUnsupported, fmt::format("configuring libcurl: {}",
                                                       sources::libcurl::api().easy_strerror(rc))),
            TransportFailure::kOther};
  }
  rc = sources::libcurl::api().easy_perform(h.get());
  if (request.progress != nullptr && !request.progress_label.empty()) {
    request.progress->finish(request.progress_label);
  }
  char* effective = nullptr;
  sources::libcurl::api().easy_getinfo(h.get(), CURLINFO_EFFECTIVE_URL, &effective);
  if (effective != nullptr) t.response.effective_url = effective;
  if (t.error) return {std::move(*t.error), TransportFailure::kOther};
  if (rc != CURLE_OK) {
    std::string cause =
        error_buffer[0] != '\0' ? error_buffer : sources::libcurl::api().easy_strerror(rc);
    if (rc == CURLE_TOO_MANY_REDIRECTS) cause = "more than 10 redirects";
    return {Error::io(fmt::format("{} {}: {}", request.method, request.url, cause)),
            sources::classify_curl_code(rc)};
  }
  sources::libcurl::api().easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &t.response.status);
  if (request.sink != nullptr && !t.began) {
    if (Result<void> began = request.sink->begin(t.response.status, t.response); !began.ok()) {
      return {std::move(began).error(), TransportFailure::kOther};
    }
  }
  return {std::move(t.response), TransportFailure::kNone};
}

std::string system_ca_bundle() {
  static const std::string bundle = [] {
    if (!sources::init_libcurl().ok()) return std::string();
    std::unique_ptr<CURL, EasyFree> h(sources::libcurl::api().easy_init());
    char* path = nullptr;
    if (!h || sources::libcurl::api().easy_getinfo(h.get(), CURLINFO_CAINFO, &path) != CURLE_OK ||
        path == nullptr) {
      return std::string();
    }
    Result<std::string> text = read_file_limited(path, 16 << 20);
    return text.ok() ? *text : std::string();
  }();
  return bundle;
}

}  // namespace strata::builder::registry
