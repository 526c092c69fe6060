// The registry client (docs/registries.md): one per command, shared by every image it
// touches. It picks the scheme (HTTPS; plain HTTP only for loopback hosts and
// --insecure-registry ones), authenticates (anonymous, Basic, Bearer tokens cached per
// realm, service and scope until they expire; insufficient_scope asks again with the wider
// scope), and retries 408/429/500/502/503/504 and dropped connections with backoff,
// honouring Retry-After, a bounded number of times.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "builder/registry/credentials.h"
#include "builder/registry/http.h"
#include "specs/registry_ref.h"

namespace strata::builder::registry {

struct RegistryOptions {
  // --insecure-registry HOST[:PORT]: plain HTTP allowed (after HTTPS was tried), as for
  // loopback hosts. TLS is never used unverified.
  std::vector<std::string> insecure_registries;
  // --cert-dir DIR: CAs for DIR/HOST:PORT/*.crt instead of /etc/containers/certs.d and
  // /etc/docker/certs.d.
  std::string cert_dir;
  CredentialOptions credentials;
  HelperRunner helpers;  // unset: program_helper_runner(credentials.path)
  int64_t max_attempts = 5;
  int64_t retry_backoff_ms = 500;  // doubles after each attempt
  int64_t max_retry_after_s = 60;  // a longer Retry-After gives up at once
  sources::ProgressSink* progress = nullptr;
  // Lines for the log (a blob pulled or pushed, a registry's Warning header once).
  std::function<void(const std::string&)> log;
};

// Where a body-carrying request is sent and with which rights.
struct Scope {
  const specs::RegistryRef* ref = nullptr;  // domain and repository
  std::string actions = "pull";             // "pull" or "pull,push"
  // Extra repositories the token must cover (cross-repository mounts): "repository:R:pull".
  std::vector<std::string> extra_scopes;
};

// A sink that can start over (a retry, or a resume that the server refused).
class RestartableSink : public BodySink {
 public:
  virtual Result<void> restart() = 0;
  // Before a retry: the offset to resume from (the retry asks "Range: bytes=N-"), or 0
  // after starting over. A sink that resumes checks the answer in begin() (P9: only a 206
  // with the matching Content-Range continues; a 200 starts over).
  virtual Result<int64_t> prepare_retry() {
    STRATA_TRY(restart());
    return int64_t{0};
  }
};

class RegistryClient {
 public:
  RegistryClient(HttpTransport& http, RegistryOptions options);

  // Sends `request` to the registry of `scope.ref`: request.url is a path ("/v2/…") or an
  // absolute URL the registry gave (a Location). Authenticates and retries as above; any
  // status is returned, the caller decides what it means. `sink`, when set, is the
  // request's sink and is asked before a retry whether to resume or start over.
  Result<HttpResponse> send(const Scope& scope, HttpRequest request,
                            RestartableSink* sink = nullptr);

  // "https://host:port" of the registry, pinging /v2/ on first use to learn the scheme.
  Result<std::string> base_url(const specs::RegistryRef& ref);

  // How messages name a registry: "registry 127.0.0.1:5000".
  static std::string describe(const specs::RegistryRef& ref);

 private:
  struct Host {
    std::string base_url;
    std::string ca_bundle;
    bool allow_http = false;
    bool basic = false;                                     // the registry asked for Basic auth
    std::optional<std::optional<Credentials>> credentials;  // looked up once
  };
  struct Token {
    std::string value;
    std::chrono::steady_clock::time_point expires;
  };

  Result<Host*> host(const specs::RegistryRef& ref);
  Result<std::optional<Credentials>> credentials(Host& h, const specs::RegistryRef& ref);
  Result<HttpResponse> send_with_retries(const specs::RegistryRef& ref, const HttpRequest& request,
                                         RestartableSink* sink);
  Result<void> authenticate(Host& h, const Scope& scope, const HttpResponse& challenge_response,
                            std::string& scope_key);
  Result<Token> fetch_token(Host& h, const Scope& scope, const std::string& realm,
                            const std::string& service, const std::vector<std::string>& scopes);
  std::optional<std::string> authorization(Host& h, const std::string& scope_key);
  void warn_once(const HttpResponse& response);

  HttpTransport& http_;
  RegistryOptions options_;
  std::map<std::string, Host> hosts_;              // by domain
  std::map<std::string, Token> tokens_;            // by domain + scopes
  std::map<std::string, std::string> scope_keys_;  // domain|repo|actions -> token key
  std::set<std::string> warnings_;
};

// Whether plain HTTP is allowed for the domain: loopback (127.0.0.0/8, ::1, localhost) or
// named in `insecure` (host or host:port).
bool allows_plain_http(const specs::RegistryRef& ref, const std::vector<std::string>& insecure);

// A Location header resolved against the request's URL (absolute, absolute-path or
// relative), its query kept.
std::string resolve_location(const std::string& request_url, const std::string& location);

// The next page of a paginated answer (tags/list, referrers): the URL of its
// `Link: <URL>; rel="next"` header, resolved against where the request ended up
// (`response.effective_url`, else `request_url`). nullopt on the last page.
std::optional<std::string> next_page(const HttpResponse& response, const std::string& request_url);

// "HTTP 404 (MANIFEST_UNKNOWN: manifest unknown)": the status and the registry's error
// codes, or the first bytes of a body that is not the distribution error JSON.
std::string describe_status(const HttpResponse& response);

}  // namespace strata::builder::registry
