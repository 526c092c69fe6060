// One repository's worth of the OCI distribution API in memory, for the registry client's
// and the registry cache's unit tests: blobs, monolithic and chunked uploads with mounts,
// manifests by tag and digest (GET, HEAD, PUT, DELETE), the tag list with `n`/`last`
// pagination, and the referrers API. Switches give it the quirks real registries have: no
// referrers API (the tag schema), OCI-Subject, a request-size cap (413), 201 to PATCH with a
// stale Range, a failing status for every request.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "builder/registry/http.h"

namespace strata::testing {

class MemoryRegistry : public builder::registry::HttpTransport {
 public:
  // Requests go to BASE (scheme and host, "https://reg.io") for repository REPO ("team/app").
  explicit MemoryRegistry(std::string base = "https://reg.io", std::string repo = "team/app")
      : base_(std::move(base)), repo_(std::move(repo)) {}

  bool oci_subject = false;       // the referrers API: manifest PUTs answer OCI-Subject
  bool patch_201 = false;         // ECR: 201 to PATCH, Range left stale
  int64_t max_body = -1;          // a larger request body is answered 413
  int64_t referrers_page = 1000;  // entries per referrers page (Link: rel="next")
  int64_t tags_page = 1000;       // tags per tags/list page at most (and the client's n)
  long fail_status = 0;           // when set, every request is answered with it
  std::function<void(MemoryRegistry&, const std::string&)> after_manifest_put;

  std::map<std::string, std::string> blobs;                              // digest -> bytes
  std::map<std::string, std::pair<std::string, std::string>> manifests;  // ref -> type, bytes
  std::vector<std::string> log;                                          // "METHOD path"

  builder::registry::HttpResult send(const builder::registry::HttpRequest& r) override;

  // Requests logged whose "METHOD path" starts with `prefix`.
  int count(const std::string& prefix) const;

 private:
  struct Response {
    long status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
  };
  Response handle(const builder::registry::HttpRequest& r);
  Response upload(const builder::registry::HttpRequest& r, const std::string& path,
                  const std::string& url, const std::string& body);
  Response manifest(const builder::registry::HttpRequest& r, const std::string& ref,
                    const std::string& body);
  Response tags(const std::string& url);
  Response referrers(const std::string& subject, const std::string& url);

  std::string base_;
  std::string repo_;
  int next_id_ = 0;
  std::map<std::string, std::string> sessions_;
};

// The value of query parameter `name` in `url`, "" when absent.
std::string query_param(const std::string& url, const std::string& name);

}  // namespace strata::testing
