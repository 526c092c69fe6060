#include "builder/registry/client.h"

#include <fmt/format.h>

#include <algorithm>
#include <thread>

#include "builder/base/base64.h"
#include "builder/base/beneath.h"
#include "builder/base/fs.h"
#include "builder/base/json.h"
#include "builder/registry/challenge.h"

namespace strata::builder::registry {
namespace {

constexpr int64_t kMaxTokenResponseBytes = 1 << 20;
constexpr int64_t kMaxErrorBodyBytes = 1 << 20;
constexpr int kMaxAuthRounds = 3;

bool is_retryable_status(long status) {
  return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 ||
         status == 504;
}

std::string url_encode(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

// "host:port" (or "host") of an absolute URL, as --insecure-registry names it.
std::string url_host_port(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  std::string_view rest = url.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (size_t at = rest.rfind('@'); at != std::string_view::npos) rest = rest.substr(at + 1);
  return std::string(rest);
}

// The host of an absolute URL ("https://[::1]:5/x" -> "::1"), or empty.
std::string url_host(std::string_view url) {
  std::string rest = url_host_port(url);
  if (rest.starts_with('[')) return rest.substr(1, rest.find(']') - 1);
  return rest.substr(0, rest.find(':'));
}

bool is_loopback_host(std::string_view host) {
  if (host == "localhost" || host == "::1") return true;
  if (!host.starts_with("127.")) return false;
  int dots = 0;
  for (char c : host) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dots == 3;
}

// The CAs for a host: the system's plus every *.crt in CERTS/HOST:PORT/ (containers-certs.d).
std::string ca_bundle_for(const specs::RegistryRef& ref, const std::string& cert_dir) {
  std::vector<std::string> roots =
      cert_dir.empty() ? std::vector<std::string>{"/etc/containers/certs.d", "/etc/docker/certs.d"}
                       : std::vector<std::string>{cert_dir};
  std::string extra;
  for (const std::string& root : roots) {
    std::string dir = root + "/" + ref.domain;
    Result<std::vector<std::string>> names = list_dir(dir);
    if (!names.ok()) continue;
    for (const std::string& name : *names) {
      if (!name.ends_with(".crt")) continue;
      Result<std::string> pem = read_file_limited(dir + "/" + name, 1 << 20);
      if (pem.ok()) extra += *pem + "\n";
    }
  }
  if (extra.empty()) return {};
  return system_ca_bundle() + "\n" + extra;
}

int64_t retry_after_seconds(const HttpResponse& r) {
  std::optional<std::string> v = r.header("retry-after");
  if (!v || v->empty() || v->size() > 9) return -1;
  int64_t n = 0;
  for (char c : *v) {
    if (c < '0' || c > '9') return -1;  // an HTTP-date: use the backoff instead
    n = n * 10 + (c - '0');
  }
  return n;
}

// Plain HTTP to `host` (its name, and "host:port" when a port was given) is allowed.
bool plain_http_allowed(std::string_view host, std::string_view host_port,
                        const std::vector<std::string>& insecure) {
  if (is_loopback_host(host)) return true;
  return std::find(insecure.begin(), insecure.end(), host_port) != insecure.end() ||
         std::find(insecure.begin(), insecure.end(), host) != insecure.end();
}

}  // namespace

bool allows_plain_http(const specs::RegistryRef& ref, const std::vector<std::string>& insecure) {
  return plain_http_allowed(ref.host(), ref.domain, insecure);
}

std::optional<std::string> next_page(const HttpResponse& response, const std::string& request_url) {
  for (const std::string& link : response.headers_named("link")) {
    size_t open = link.find('<');
    size_t close = link.find('>', open);
    if (open == std::string::npos || close == std::string::npos) continue;
    std::string params = link.substr(close + 1);
    if (params.find("rel=\"next\"") == std::string::npos &&
        params.find("rel=next") == std::string::npos) {
      continue;
    }
    return resolve_location(response.effective_url.empty() ? request_url : response.effective_url,
                            link.substr(open + 1, close - open - 1));
  }
  return std::nullopt;
}

std::string resolve_location(const std::string& request_url, const std::string& location) {
  if (location.starts_with("http://") || location.starts_with("https://")) return location;
  size_t scheme = request_url.find("://");
  size_t path_start = request_url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  std::string origin =
      path_start == std::string::npos ? request_url : request_url.substr(0, path_start);
  if (location.starts_with("//")) return request_url.substr(0, scheme + 1) + location;
  if (location.starts_with('/')) return origin + location;
  std::string path = path_start == std::string::npos ? "/" : request_url.substr(path_start);
  path = path.substr(0, path.find_first_of("?#"));
  return origin + path.substr(0, path.rfind('/') + 1) + location;
}

std::string describe_status(const HttpResponse& r) {
  std::string out = fmt::format("HTTP {}", r.status);
  if (r.body.empty()) return out;
  Result<Json> j = parse_json(r.body, "error body");
  std::vector<std::string> errors;
  if (j.ok()) {
    for (const Json& e : member(*j, "errors")) {
      std::string code = string_member(e, "code");
      std::string message = string_member(e, "message");
      if (!code.empty() || !message.empty()) errors.push_back(code + ": " + message);
    }
  }
  if (!errors.empty()) return fmt::format("{} ({})", out, fmt::join(errors, "; "));
  // Any other body: its first printable bytes.
  std::string text;
  for (char c : r.body.substr(0, 120)) text += (c >= 0x20 && c < 0x7f) ? c : ' ';
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text.empty() ? out : fmt::format("{}: {}", out, text);
}

RegistryClient::RegistryClient(HttpTransport& http, RegistryOptions options)
    : http_(http), options_(std::move(options)) {
  if (!options_.helpers) options_.helpers = program_helper_runner(options_.credentials.path);
}

std::string RegistryClient::describe(const specs::RegistryRef& ref) {
  return "registry " + ref.domain;
}

Result<RegistryClient::Host*> RegistryClient::host(const specs::RegistryRef& ref) {
  auto it = hosts_.find(ref.domain);
  if (it != hosts_.end()) return &it->second;
  Host h;
  h.allow_http = allows_plain_http(ref, options_.insecure_registries);
  h.ca_bundle = ca_bundle_for(ref, options_.cert_dir);
  // Ping /v2/ over HTTPS; a host that may speak plain HTTP gets a second try with it when
  // TLS or the connection failed. Any HTTP answer (200, 401, …) settles the scheme.
  std::string https = "https://" + ref.api_host();
  HttpRequest ping{
      .url = https + "/v2/", .max_response_bytes = kMaxErrorBodyBytes, .ca_bundle = h.ca_bundle};
  HttpResult r = http_.send(ping);
  if (r.response.ok()) {
    h.base_url = https;
  } else if (h.allow_http &&
             (r.failure == TransportFailure::kTls || r.failure == TransportFailure::kConnect)) {
    std::string http = "http://" + ref.api_host();
    HttpRequest plain{.url = http + "/v2/",
                      .max_response_bytes = kMaxErrorBodyBytes,
                      .allow_http_redirect = true};
    HttpResult p = http_.send(plain);
    if (!p.response.ok()) {
      return std::move(p.response).error().context(describe(ref));
    }
    h.base_url = http;
  } else {
    Error e = std::move(r.response).error().context(describe(ref));
    if (r.failure == TransportFailure::kTls && !h.allow_http) {
      return Error::io(
          fmt::format("{} (a registry that speaks plain HTTP needs "
                      "--insecure-registry {}; a private CA goes in "
                      "/etc/containers/certs.d/{}/ca.crt)",
                      e.message(), ref.domain, ref.domain));
    }
    return e;
  }
  return &hosts_.emplace(ref.domain, std::move(h)).first->second;
}

Result<std::string> RegistryClient::base_url(const specs::RegistryRef& ref) {
  STRATA_TRY_ASSIGN(Host * h, host(ref));
  return h->base_url;
}

Result<std::optional<Credentials>> RegistryClient::credentials(Host& h,
                                                               const specs::RegistryRef& ref) {
  if (!h.credentials) {
    STRATA_TRY_ASSIGN(
        std::optional<Credentials> c,
        find_credentials(options_.credentials, ref.domain, ref.repository, options_.helpers));
    h.credentials = std::move(c);
  }
  return *h.credentials;
}

std::optional<std::string> RegistryClient::authorization(Host& h, const std::string& scope_key) {
  auto it = tokens_.find(scope_key);
  if (it != tokens_.end() && std::chrono::steady_clock::now() < it->second.expires) {
    return "Authorization: Bearer " + it->second.value;
  }
  if (h.basic && h.credentials && *h.credentials) {
    const Credentials& c = **h.credentials;
    return "Authorization: Basic " + base64_encode(c.username + ":" + c.password);
  }
  return std::nullopt;
}

void RegistryClient::warn_once(const HttpResponse& response) {
  if (!options_.log) return;
  for (const std::string& w : response.headers_named("warning")) {
    if (warnings_.insert(w).second) options_.log("registry warning: " + w);
  }
}

Result<HttpResponse> RegistryClient::send_with_retries(const specs::RegistryRef& ref,
                                                       const HttpRequest& request,
                                                       RestartableSink* sink) {
  int64_t backoff_ms = options_.retry_backoff_ms;
  int64_t attempts = std::max<int64_t>(options_.max_attempts, 1);
  for (int64_t attempt = 1;; ++attempt) {
    int64_t resume_at = 0;
    if (sink != nullptr && attempt > 1) {
      STRATA_TRY_ASSIGN(resume_at, sink->prepare_retry());
    }
    HttpResult r = [&] {
      if (resume_at == 0) return http_.send(request);
      HttpRequest resumed = request;
      resumed.headers.push_back(fmt::format("Range: bytes={}-", resume_at));
      return http_.send(resumed);
    }();
    std::string why;
    int64_t wait_ms = backoff_ms;
    if (r.response.ok()) {
      warn_once(*r.response);
      if (!is_retryable_status(r.response->status)) return std::move(r.response);
      why = describe_status(*r.response);
      int64_t after = retry_after_seconds(*r.response);
      if (after > options_.max_retry_after_s) {
        return Error::io(fmt::format("{}: {} for {} {}, and it asks to retry after {} s",
                                     describe(ref), why, request.method, request.url, after));
      }
      if (after >= 0) wait_ms = after * 1000;
    } else if (!sources::is_transient(r.failure)) {
      return std::move(r.response).error().context(describe(ref));
    } else {
      why = r.response.error().message();
    }
    if (attempt >= attempts) {
      return Error::io(fmt::format("{}: {} for {} {} (gave up after {} attempts)", describe(ref),
                                   why, request.method, request.url, attempts));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
    backoff_ms *= 2;
  }
}

Result<RegistryClient::Token> RegistryClient::fetch_token(Host& h, const Scope& scope,
                                                          const std::string& realm,
                                                          const std::string& service,
                                                          const std::vector<std::string>& scopes) {
  const specs::RegistryRef& ref = *scope.ref;
  if (!realm.starts_with("https://") && !realm.starts_with("http://")) {
    return Error::io(
        fmt::format("{}: the token realm '{}' is not an http(s) URL", describe(ref), realm));
  }
  // Credentials go to a plain-HTTP realm only on a host where plain HTTP is allowed.
  if (realm.starts_with("http://") &&
      !plain_http_allowed(url_host(realm), url_host_port(realm), options_.insecure_registries)) {
    return Error::io(
        fmt::format("{}: the token realm {} is plain HTTP (name its host with "
                    "--insecure-registry to allow it)",
                    describe(ref), realm));
  }
  STRATA_TRY_ASSIGN(std::optional<Credentials> creds, credentials(h, ref));
  HttpRequest req{.max_response_bytes = kMaxTokenResponseBytes, .ca_bundle = h.ca_bundle};
  req.allow_http_redirect = realm.starts_with("http://");
  std::string query;
  if (!service.empty()) query += "service=" + url_encode(service);
  for (const std::string& s : scopes)
    query += (query.empty() ? "" : "&") + ("scope=" + url_encode(s));
  if (creds && !creds->identity_token.empty()) {
    // OAuth2 refresh-token grant (distribution's oauth.md), what docker login stored.
    req.method = "POST";
    req.url = realm;
    req.headers.push_back("Content-Type: application/x-www-form-urlencoded");
    req.body = "grant_type=refresh_token&client_id=strata&refresh_token=" +
               url_encode(creds->identity_token) + (query.empty() ? "" : "&" + query);
  } else {
    req.url = realm + (realm.find('?') == std::string::npos ? "?" : "&") + query;
    if (creds) {
      req.headers.push_back("Authorization: Basic " +
                            base64_encode(creds->username + ":" + creds->password));
    }
  }
  STRATA_TRY_ASSIGN(HttpResponse r, send_with_retries(ref, req, nullptr));
  if (r.status != 200) {
    std::string who = creds ? fmt::format(" with the credentials from {}", creds->origin)
                            : std::string(" anonymously");
    return Error::io(fmt::format("{}: the token server {} refused a token for {}{}: {}",
                                 describe(ref), realm, fmt::join(scopes, " "), who,
                                 describe_status(r)));
  }
  STRATA_TRY_ASSIGN(Json j, parse_json(r.body, "the token server's answer"));
  std::string token = string_member(j, "token");
  if (token.empty()) token = string_member(j, "access_token");
  if (token.empty()) {
    return Error::io(
        fmt::format("{}: the token server {} answered no token", describe(ref), realm));
  }
  int64_t expires_in = 60;  // distribution's token.md default
  const Json& e = member(j, "expires_in");
  if (e.is_number_integer() && e.get<int64_t>() > 0) expires_in = e.get<int64_t>();
  // Renewed a little early, so a token never expires on the way.
  int64_t valid_s = std::max<int64_t>(expires_in - 5, 1);
  return Token{token, std::chrono::steady_clock::now() + std::chrono::seconds(valid_s)};
}

Result<void> RegistryClient::authenticate(Host& h, const Scope& scope, const HttpResponse& r,
                                          std::string& scope_key) {
  const specs::RegistryRef& ref = *scope.ref;
  std::vector<Challenge> challenges = parse_challenges(r.headers_named("www-authenticate"));
  if (std::optional<Challenge> bearer = find_challenge(challenges, "bearer")) {
    std::vector<std::string> scopes = {
        fmt::format("repository:{}:{}", ref.repository, scope.actions)};
    for (const std::string& s : scope.extra_scopes) scopes.push_back(s);
    // insufficient_scope (or any scope the registry names) is asked for as well.
    std::string wanted = bearer->param("scope");
    size_t start = 0;
    while (start < wanted.size()) {
      size_t space = wanted.find(' ', start);
      if (space == std::string::npos) space = wanted.size();
      std::string s = wanted.substr(start, space - start);
      if (!s.empty() && std::find(scopes.begin(), scopes.end(), s) == scopes.end()) {
        scopes.push_back(s);
      }
      start = space + 1;
    }
    STRATA_TRY_ASSIGN(
        Token t, fetch_token(h, scope, bearer->param("realm"), bearer->param("service"), scopes));
    scope_key = ref.domain + "|" + fmt::format("{}", fmt::join(scopes, " "));
    tokens_[scope_key] = std::move(t);
    return Ok{};
  }
  if (find_challenge(challenges, "basic")) {
    STRATA_TRY_ASSIGN(std::optional<Credentials> creds, credentials(h, ref));
    if (!creds) {
      std::vector<std::string> files;
      for (const AuthFile& f : auth_files(options_.credentials)) files.push_back(f.path);
      return Error::io(
          fmt::format("{} requires a login and strata found no credentials for {} "
                      "(looked in {})",
                      describe(ref), ref.domain, fmt::join(files, ", ")));
    }
    if (h.basic) {
      return Error::io(fmt::format("{} refused the credentials from {}: {}", describe(ref),
                                   creds->origin, describe_status(r)));
    }
    h.basic = true;
    return Ok{};
  }
  return Error::io(
      fmt::format("{}: {} without a Basic or Bearer challenge", describe(ref), describe_status(r)));
}

Result<HttpResponse> RegistryClient::send(const Scope& scope, HttpRequest request,
                                          RestartableSink* sink) {
  const specs::RegistryRef& ref = *scope.ref;
  STRATA_TRY_ASSIGN(Host * h, host(ref));
  if (!request.url.starts_with("http://") && !request.url.starts_with("https://")) {
    request.url = h->base_url + request.url;
  }
  request.ca_bundle = h->ca_bundle;
  request.allow_http_redirect = h->base_url.starts_with("http://");
  request.progress = options_.progress;
  request.sink = sink;
  std::string key_of_scope = ref.domain + "|" + ref.repository + "|" + scope.actions +
                             fmt::format("|{}", fmt::join(scope.extra_scopes, " "));
  std::string& scope_key = scope_keys_[key_of_scope];
  std::vector<std::string> base_headers = request.headers;
  for (int round = 0;; ++round) {
    request.headers = base_headers;
    if (std::optional<std::string> auth = authorization(*h, scope_key)) {
      request.headers.push_back(*auth);
    }
    STRATA_TRY_ASSIGN(HttpResponse r, send_with_retries(ref, request, sink));
    bool denied =
        r.status == 401 ||
        (r.status == 403 && std::find_if(r.headers.begin(), r.headers.end(), [](const auto& hv) {
                              return hv.first == "www-authenticate" &&
                                     hv.second.find("insufficient_scope") != std::string::npos;
                            }) != r.headers.end());
    if (!denied) return r;
    if (round + 1 >= kMaxAuthRounds) {
      return Error::io(fmt::format("{} denied {} {}: {}", describe(ref), request.method,
                                   request.url, describe_status(r)));
    }
    STRATA_TRY(authenticate(*h, scope, r, scope_key));
    if (sink != nullptr) STRATA_TRY(sink->restart());
  }
}

}  // namespace strata::builder::registry
