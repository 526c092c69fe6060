#include "tests/support/memory_registry.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>

#include "builder/base/digest.h"
#include "builder/base/json.h"
#include "builder/oci/media_types.h"

namespace strata::testing {
namespace {

using builder::registry::HttpRequest;

std::string header_of(const HttpRequest& r, const std::string& name) {
  for (const std::string& h : r.headers) {
    if (h.starts_with(name + ": ")) return h.substr(name.size() + 2);
  }
  return "";
}

std::string body_of(const HttpRequest& r) {
  if (r.body_fd < 0) return r.body;
  std::string bytes(static_cast<size_t>(r.body_size), '\0');
  EXPECT_EQ(::pread(r.body_fd, bytes.data(), bytes.size(), r.body_offset),
            static_cast<ssize_t>(bytes.size()));
  return bytes;
}

}  // namespace

std::string query_param(const std::string& url, const std::string& name) {
  size_t q = url.find('?');
  if (q == std::string::npos) return "";
  std::string query = url.substr(q + 1);
  for (size_t start = 0; start <= query.size();) {
    size_t end = query.find('&', start);
    if (end == std::string::npos) end = query.size();
    std::string kv = query.substr(start, end - start);
    if (kv.starts_with(name + "=")) return kv.substr(name.size() + 1);
    start = end + 1;
  }
  return "";
}

builder::registry::HttpResult MemoryRegistry::send(const HttpRequest& r) {
  Response out = handle(r);
  builder::registry::HttpResponse h{.status = out.status, .headers = std::move(out.headers)};
  h.body = r.method == "HEAD" ? "" : std::move(out.body);
  h.body_bytes = static_cast<int64_t>(h.body.size());
  h.effective_url = r.url;
  if (r.sink != nullptr && !h.body.empty()) {
    // Streamed like a real transport: the sink sees the status, then the bytes.
    Result<void> ok = r.sink->begin(h.status, h);
    if (ok.ok()) ok = r.sink->write(h.body);
    if (!ok.ok()) return {ok.error(), builder::registry::TransportFailure::kNone};
    h.body.clear();
  }
  return {std::move(h), builder::registry::TransportFailure::kNone};
}

int MemoryRegistry::count(const std::string& prefix) const {
  return static_cast<int>(std::count_if(
      log.begin(), log.end(), [&](const std::string& l) { return l.starts_with(prefix); }));
}

MemoryRegistry::Response MemoryRegistry::handle(const HttpRequest& r) {
  EXPECT_TRUE(r.url.starts_with(base_)) << r.url;
  std::string url = r.url.substr(base_.size());
  std::string path = url.substr(0, url.find('?'));
  log.push_back(r.method + " " + url);
  if (fail_status != 0) return {.status = fail_status};
  if (path == "/v2/") return {};
  std::string body = body_of(r);
  if (max_body >= 0 && static_cast<int64_t>(body.size()) > max_body) return {.status = 413};
  const std::string repo = "/v2/" + repo_;
  EXPECT_TRUE(path.starts_with(repo)) << path;
  path = path.substr(repo.size());
  if (path.starts_with("/blobs/uploads/")) return upload(r, path, url, body);
  if (path.starts_with("/blobs/")) {
    auto it = blobs.find(path.substr(7));
    if (it == blobs.end()) return {.status = 404};
    return {.status = 200, .body = it->second};
  }
  if (path.starts_with("/manifests/")) return manifest(r, path.substr(11), body);
  if (path == "/tags/list") return tags(url);
  if (path.starts_with("/referrers/")) return referrers(path.substr(11), url);
  return {.status = 404};
}

MemoryRegistry::Response MemoryRegistry::upload(const HttpRequest& r, const std::string& path,
                                                const std::string& url, const std::string& body) {
  const std::string uploads = "/v2/" + repo_ + "/blobs/uploads/";
  if (r.method == "POST") {
    std::string mount = query_param(url, "mount");
    if (!mount.empty() && blobs.contains(mount)) return {.status = 201};
    std::string id = std::to_string(next_id_++);
    sessions_[id] = "";
    // Relative, with a query parameter the client must keep.
    return {.status = 202, .headers = {{"location", uploads + id + "?state=s" + id}}};
  }
  std::string id = path.substr(15);
  auto it = sessions_.find(id);
  if (it == sessions_.end() || query_param(url, "state") != "s" + id) return {.status = 404};
  if (r.method == "PATCH") {
    std::string range = header_of(r, "Content-Range");
    size_t dash = range.find('-');
    EXPECT_NE(dash, std::string::npos) << range;
    if (std::stoll(range.substr(0, dash)) != static_cast<int64_t>(it->second.size())) {
      return {.status = 416};
    }
    it->second += body;
    std::string location = uploads + id + "?state=s" + id;
    return {.status = patch_201 ? 201L : 202L,
            .headers = {{"location", location},
                        {"range", patch_201 ? "0-0" : fmt::format("0-{}", it->second.size() - 1)}}};
  }
  if (r.method == "PUT") {
    std::string bytes = it->second + body;
    std::string digest = query_param(url, "digest");
    if (sha256_of(bytes).str() != digest) return {.status = 400, .body = "DIGEST_INVALID"};
    blobs[digest] = std::move(bytes);
    sessions_.erase(it);
    return {.status = 201, .headers = {{"docker-content-digest", digest}}};
  }
  return {.status = 405};
}

MemoryRegistry::Response MemoryRegistry::manifest(const HttpRequest& r, const std::string& ref,
                                                  const std::string& body) {
  if (r.method == "PUT") {
    std::string type = header_of(r, "Content-Type");
    std::string digest = sha256_of(body).str();
    manifests[ref] = {type, body};
    manifests[digest] = {type, body};
    Response out{.status = 201, .headers = {{"docker-content-digest", digest}}};
    Json doc = Json::parse(body);
    if (oci_subject && doc.contains("subject")) {
      out.headers.emplace_back("oci-subject", doc["subject"]["digest"].get<std::string>());
    }
    if (after_manifest_put) after_manifest_put(*this, ref);
    return out;
  }
  auto it = manifests.find(ref);
  if (it == manifests.end()) return {.status = 404};
  if (r.method == "DELETE") {
    // By digest only, as the spec says; every tag pointing at it goes too.
    if (!ref.starts_with("sha256:")) return {.status = 400};
    std::string bytes = it->second.second;
    std::erase_if(manifests, [&](const auto& m) { return m.second.second == bytes; });
    return {.status = 202};
  }
  return {.status = 200,
          .headers = {{"content-type", it->second.first},
                      {"docker-content-digest", sha256_of(it->second.second).str()}},
          .body = it->second.second};
}

MemoryRegistry::Response MemoryRegistry::tags(const std::string& url) {
  std::vector<std::string> names;
  for (const auto& [ref, m] : manifests) {
    if (!ref.starts_with("sha256:")) names.push_back(ref);  // std::map: in lexical order
  }
  int64_t n = tags_page;
  if (std::string asked = query_param(url, "n"); !asked.empty()) {
    n = std::min<int64_t>(n, std::stoll(asked));
  }
  std::string last = query_param(url, "last");
  auto from = last.empty() ? names.begin() : std::upper_bound(names.begin(), names.end(), last);
  Json page = Json::array();
  for (auto it = from; it != names.end() && static_cast<int64_t>(page.size()) < n; ++it) {
    page.push_back(*it);
  }
  Response out{.status = 200,
               .headers = {{"content-type", "application/json"}},
               .body = Json({{"name", repo_}, {"tags", page}}).dump()};
  if (!page.empty() && page.back().get<std::string>() != names.back()) {
    out.headers.emplace_back("link", fmt::format("</v2/{}/tags/list?n={}&last={}>; rel=\"next\"",
                                                 repo_, n, page.back().get<std::string>()));
  }
  return out;
}

MemoryRegistry::Response MemoryRegistry::referrers(const std::string& subject,
                                                   const std::string& url) {
  if (!oci_subject) return {.status = 404, .body = "404 page not found"};
  std::vector<Json> all;
  for (const auto& [ref, m] : manifests) {
    if (!ref.starts_with("sha256:")) continue;
    Json doc = Json::parse(m.second);
    if (!doc.contains("subject") || doc["subject"]["digest"] != subject) continue;
    all.push_back({{"mediaType", m.first},
                   {"digest", ref},
                   {"size", m.second.size()},
                   {"artifactType", doc.value("artifactType", "")},
                   {"annotations", doc.value("annotations", Json::object())}});
  }
  size_t start = 0;
  if (std::string page = query_param(url, "page"); !page.empty()) start = std::stoul(page);
  Json manifests_json = Json::array();
  for (size_t i = start; i < all.size() && i < start + referrers_page; ++i) {
    manifests_json.push_back(all[i]);
  }
  Response out{.status = 200,
               .headers = {{"content-type", builder::oci::kIndexMediaType}},
               .body = Json({{"schemaVersion", 2}, {"manifests", manifests_json}}).dump()};
  if (start + referrers_page < all.size()) {
    out.headers.emplace_back("link", fmt::format("</v2/{}/referrers/{}?page={}>; rel=\"next\"",
                                                 repo_, subject, start + referrers_page));
  }
  return out;
}

}  // namespace strata::testing
