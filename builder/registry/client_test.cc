// The client's scheme choice, authentication and retries, against a scripted transport.
#include "builder/registry/client.h"

#include <gtest/gtest.h>

#include <functional>

#include "builder/base/base64.h"

namespace strata::builder::registry {
namespace {

using Handler = std::function<HttpResult(const HttpRequest&)>;

class FakeTransport : public HttpTransport {
 public:
  explicit FakeTransport(Handler h) : handler_(std::move(h)) {}
  HttpResult send(const HttpRequest& r) override {
    requests.push_back(r);
    return handler_(r);
  }
  std::vector<HttpRequest> requests;

 private:
  Handler handler_;
};

HttpResult answer(long status, std::vector<std::pair<std::string, std::string>> headers = {},
                  std::string body = "") {
  HttpResponse r{.status = status, .headers = std::move(headers), .body = std::move(body)};
  r.body_bytes = static_cast<int64_t>(r.body.size());
  return {std::move(r), TransportFailure::kNone};
}

HttpResult failure(TransportFailure f) { return {Error::io("transport failed"), f}; }

bool has_header(const HttpRequest& r, const std::string& header) {
  return std::find(r.headers.begin(), r.headers.end(), header) != r.headers.end();
}

RegistryOptions quick(CredentialOptions creds = {}) {
  RegistryOptions o{.credentials = std::move(creds), .max_attempts = 3, .retry_backoff_ms = 1};
  o.helpers = [](const std::string&, const std::string&) -> Result<std::optional<std::string>> {
    return std::optional<std::string>();
  };
  return o;
}

specs::RegistryRef ref_of(const std::string& text) { return *specs::parse_registry_ref(text); }

TEST(RegistryClient, LoopbackFallsBackToPlainHttpOtherHostsDoNot) {
  FakeTransport t([](const HttpRequest& r) {
    if (r.url.starts_with("https://")) return failure(TransportFailure::kTls);
    return answer(200);
  });
  RegistryClient client(t, quick());
  specs::RegistryRef local = ref_of("127.0.0.1:5000/a");
  EXPECT_EQ(*client.base_url(local), "http://127.0.0.1:5000");
  specs::RegistryRef remote = ref_of("reg.example/a");
  Result<std::string> url = client.base_url(remote);
  ASSERT_FALSE(url.ok());
  EXPECT_NE(url.error().message().find("needs --insecure-registry reg.example"), std::string::npos)
      << url.error().message();
  RegistryOptions o = quick();
  o.insecure_registries = {"reg.example"};
  RegistryClient insecure(t, o);
  EXPECT_EQ(*insecure.base_url(remote), "http://reg.example");
  EXPECT_TRUE(allows_plain_http(ref_of("localhost:1/a"), {}));
  EXPECT_TRUE(allows_plain_http(ref_of("[::1]:1/a"), {}));
  EXPECT_FALSE(allows_plain_http(ref_of("127.0.0.1.evil.io/a"), {}));
  EXPECT_FALSE(allows_plain_http(ref_of("10.0.0.1:5000/a"), {}));
}

TEST(RegistryClient, AnonymousBearerTokensAreCachedPerScope) {
  int token_requests = 0;
  FakeTransport t([&](const HttpRequest& r) {
    if (r.url == "https://reg.io/v2/") return answer(401);
    if (r.url.starts_with("https://auth.io/token")) {
      ++token_requests;
      EXPECT_EQ(r.url, "https://auth.io/token?service=reg.io&scope=repository%3Ateam%2Fapp%3Apull");
      return answer(200, {}, R"({"token":"T1","expires_in":300})");
    }
    if (has_header(r, "Authorization: Bearer T1")) return answer(200, {}, "ok");
    return answer(
        401,
        {{"www-authenticate",
          R"(Bearer realm="https://auth.io/token",service="reg.io",scope="repository:team/app:pull")"}});
  });
  RegistryClient client(t, quick());
  specs::RegistryRef ref = ref_of("reg.io/team/app");
  for (int i = 0; i < 3; ++i) {
    Result<HttpResponse> r = client.send({.ref = &ref}, {.url = "/v2/team/app/manifests/x"});
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(r->status, 200);
  }
  EXPECT_EQ(token_requests, 1);
}

TEST(RegistryClient, InsufficientScopeAsksForTheWiderScope) {
  std::vector<std::string> token_urls;
  FakeTransport t([&](const HttpRequest& r) {
    if (r.url.ends_with("/v2/")) return answer(200);
    if (r.url.starts_with("https://auth.io/")) {
      token_urls.push_back(r.url);
      return answer(
          200, {}, token_urls.size() == 1 ? R"({"token":"narrow"})" : R"({"access_token":"wide"})");
    }
    if (has_header(r, "Authorization: Bearer wide")) return answer(201);
    if (has_header(r, "Authorization: Bearer narrow")) {
      return answer(
          403,
          {{"www-authenticate",
            R"(Bearer realm="https://auth.io/",error="insufficient_scope",scope="repository:a:pull,push repository:b:pull")"}});
    }
    return answer(401, {{"www-authenticate", R"(Bearer realm="https://auth.io/")"}});
  });
  RegistryClient client(t, quick());
  specs::RegistryRef ref = ref_of("reg.io/a");
  Result<HttpResponse> r =
      client.send({.ref = &ref, .actions = "pull,push"}, {.method = "PUT", .url = "/v2/a/x"});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->status, 201);
  ASSERT_EQ(token_urls.size(), 2u);
  EXPECT_NE(token_urls[1].find("scope=repository%3Ab%3Apull"), std::string::npos) << token_urls[1];
}

TEST(RegistryClient, BasicAuthNeedsCredentialsAndSaysWhereItLooked) {
  FakeTransport t([](const HttpRequest& r) {
    if (has_header(r, "Authorization: Basic " + base64_encode("u:p"))) return answer(200);
    return answer(401, {{"www-authenticate", R"(Basic realm="Registry Realm")"}});
  });
  RegistryClient anonymous(t, quick({.authfile = "/nonexistent/auth.json"}));
  specs::RegistryRef ref = ref_of("reg.io/a");
  Result<HttpResponse> r = anonymous.send({.ref = &ref}, {.url = "/v2/a/tags/list"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(),
            "registry reg.io requires a login and strata found no credentials for reg.io "
            "(looked in /nonexistent/auth.json)");
}

TEST(RegistryClient, RetriesHonourRetryAfterAndGiveUpWithTheStatus) {
  int calls = 0;
  FakeTransport t([&](const HttpRequest& r) {
    if (r.url.ends_with("/v2/")) return answer(200);
    ++calls;
    if (calls == 1) return answer(429, {{"retry-after", "0"}});
    if (calls == 2) return failure(TransportFailure::kTruncated);
    if (calls == 3) return answer(200, {}, "done");
    return answer(503);
  });
  RegistryClient client(t, quick());
  specs::RegistryRef ref = ref_of("reg.io/a");
  Result<HttpResponse> r = client.send({.ref = &ref}, {.url = "/v2/a/blobs/x"});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->body, "done");
  Result<HttpResponse> again = client.send({.ref = &ref}, {.url = "/v2/a/blobs/y"});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().message(),
            "registry reg.io: HTTP 503 for GET https://reg.io/v2/a/blobs/y (gave up after 3 "
            "attempts)");
  // A Retry-After beyond the limit gives up at once.
  FakeTransport slow([](const HttpRequest& req) {
    if (req.url.ends_with("/v2/")) return answer(200);
    return answer(429, {{"retry-after", "3600"}});
  });
  RegistryClient patient(slow, quick());
  Result<HttpResponse> refused = patient.send({.ref = &ref}, {.url = "/v2/a/blobs/z"});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("asks to retry after 3600 s"), std::string::npos);
  EXPECT_EQ(slow.requests.size(), 2u);
}

TEST(RegistryClient, APlainHttpTokenRealmOnARemoteHostIsRefused) {
  FakeTransport t([](const HttpRequest& r) {
    if (r.url.ends_with("/v2/")) return answer(200);
    return answer(401, {{"www-authenticate", R"(Bearer realm="http://auth.example/token")"}});
  });
  RegistryClient client(t, quick());
  specs::RegistryRef ref = ref_of("reg.io/a");
  Result<HttpResponse> r = client.send({.ref = &ref}, {.url = "/v2/a/x"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("is plain HTTP"), std::string::npos);
  EXPECT_EQ(t.requests.size(), 2u);  // the ping and the request; no token request
}

TEST(RegistryClient, LocationsResolveAndStatusesDescribeThemselves) {
  EXPECT_EQ(resolve_location("http://h:1/v2/a/blobs/uploads/", "/v2/a/blobs/uploads/u?s=1"),
            "http://h:1/v2/a/blobs/uploads/u?s=1");
  EXPECT_EQ(resolve_location("http://h:1/v2/a/blobs/uploads/", "https://o/x"), "https://o/x");
  EXPECT_EQ(resolve_location("http://h:1/v2/a/blobs/uploads/?q", "u1"),
            "http://h:1/v2/a/blobs/uploads/u1");
  HttpResponse e{
      .status = 404,
      .body = R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]})"};
  EXPECT_EQ(describe_status(e), "HTTP 404 (MANIFEST_UNKNOWN: manifest unknown)");
  HttpResponse text{.status = 404, .body = "404 page not found\n"};
  EXPECT_EQ(describe_status(text), "HTTP 404: 404 page not found");
  EXPECT_EQ(describe_status({.status = 500}), "HTTP 500");
}

// A sink that has bytes when the connection drops is asked where to resume: the retry asks
// for "Range: bytes=N-"; a sink with nothing (or that prefers to) starts over, without Range.
class CountingSink : public RestartableSink {
 public:
  explicit CountingSink(int64_t resume_at) : resume_at_(resume_at) {}
  Result<void> write(std::string_view) override { return Ok{}; }
  Result<void> restart() override {
    ++restarts;
    return Ok{};
  }
  Result<int64_t> prepare_retry() override {
    if (resume_at_ > 0) return resume_at_;
    return RestartableSink::prepare_retry();
  }
  int restarts = 0;

 private:
  int64_t resume_at_;
};

TEST(RegistryClient, ARetryResumesWhereTheSinkSaysOrStartsOver) {
  for (int64_t at : {int64_t{0}, int64_t{1234}}) {
    int calls = 0;
    FakeTransport t([&](const HttpRequest& r) {
      if (r.url.ends_with("/v2/")) return answer(200);
      return ++calls == 1 ? failure(TransportFailure::kTruncated) : answer(at > 0 ? 206 : 200);
    });
    RegistryClient client(t, quick());
    specs::RegistryRef ref = ref_of("reg.io/app");
    CountingSink sink(at);
    Result<HttpResponse> r = client.send({.ref = &ref}, {.url = "/v2/app/blobs/x"}, &sink);
    ASSERT_TRUE(r.ok()) << r.error().message();
    ASSERT_EQ(t.requests.size(), 3u);
    EXPECT_FALSE(has_header(t.requests[1], "Range: bytes=1234-"));
    EXPECT_EQ(has_header(t.requests[2], "Range: bytes=1234-"), at > 0);
    EXPECT_EQ(sink.restarts, at > 0 ? 0 : 1);
  }
}

}  // namespace
}  // namespace strata::builder::registry
