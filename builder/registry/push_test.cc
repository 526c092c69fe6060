// Push and referrers against an in-memory registry with the quirks real ones have: no
// referrers API (the tag schema), OCI-Subject, a request-size cap (413), 201 to PATCH with
// a stale Range, another writer replacing the referrers index, paginated referrers.
#include "builder/registry/push.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <random>

#include "builder/base/base64.h"
#include "builder/oci/artifact.h"
#include "builder/oci/media_types.h"
#include "builder/registry/referrers.h"
#include "tests/support/test_image.h"

namespace strata::builder::registry {
namespace {

constexpr char kBase[] = "https://reg.io";

struct Response {
  long status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

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

std::string header_of(const HttpRequest& r, const std::string& name) {
  for (const std::string& h : r.headers) {
    if (h.starts_with(name + ": ")) return h.substr(name.size() + 2);
  }
  return "";
}

// One repository's worth of the distribution API, enough for push and referrers.
class MemoryRegistry : public HttpTransport {
 public:
  bool oci_subject = false;       // the referrers API: manifest PUTs answer OCI-Subject
  bool patch_201 = false;         // ECR: 201 to PATCH, Range left stale
  int64_t max_body = -1;          // a larger request body is answered 413
  int64_t referrers_page = 1000;  // entries per referrers page (Link: rel="next")
  std::function<void(MemoryRegistry&, const std::string&)> after_manifest_put;

  std::map<std::string, std::string> blobs;                              // digest -> bytes
  std::map<std::string, std::pair<std::string, std::string>> manifests;  // ref -> type, bytes
  std::vector<std::string> log;                                          // "METHOD path"

  HttpResult send(const HttpRequest& r) override {
    Response out = handle(r);
    HttpResponse h{.status = out.status, .headers = std::move(out.headers)};
    h.body = r.method == "HEAD" ? "" : std::move(out.body);
    h.body_bytes = static_cast<int64_t>(h.body.size());
    h.effective_url = r.url;
    return {std::move(h), TransportFailure::kNone};
  }

  int count(const std::string& prefix) const {
    return static_cast<int>(std::count_if(
        log.begin(), log.end(), [&](const std::string& l) { return l.starts_with(prefix); }));
  }

 private:
  static std::string body_of(const HttpRequest& r) {
    if (r.body_fd < 0) return r.body;
    std::string bytes(static_cast<size_t>(r.body_size), '\0');
    EXPECT_EQ(::pread(r.body_fd, bytes.data(), bytes.size(), r.body_offset),
              static_cast<ssize_t>(bytes.size()));
    return bytes;
  }

  Response handle(const HttpRequest& r) {
    EXPECT_TRUE(r.url.starts_with(kBase)) << r.url;
    std::string url = r.url.substr(sizeof(kBase) - 1);
    std::string path = url.substr(0, url.find('?'));
    log.push_back(r.method + " " + url);
    if (path == "/v2/") return {};
    std::string body = body_of(r);
    if (max_body >= 0 && static_cast<int64_t>(body.size()) > max_body) return {.status = 413};
    const std::string repo = "/v2/team/app";
    EXPECT_TRUE(path.starts_with(repo)) << path;
    path = path.substr(repo.size());
    if (path.starts_with("/blobs/uploads/")) return upload(r, path, url, body);
    if (path.starts_with("/blobs/")) {
      auto it = blobs.find(path.substr(7));
      if (it == blobs.end()) return {.status = 404};
      return {.status = 200, .body = it->second};
    }
    if (path.starts_with("/manifests/")) return manifest(r, path.substr(11), body);
    if (path.starts_with("/referrers/")) return referrers(path.substr(11), url);
    return {.status = 404};
  }

  Response upload(const HttpRequest& r, const std::string& path, const std::string& url,
                  const std::string& body) {
    if (r.method == "POST") {
      std::string mount = query_param(url, "mount");
      if (!mount.empty() && blobs.contains(mount)) return {.status = 201};
      std::string id = std::to_string(next_id_++);
      sessions_[id] = "";
      // Relative, with a query parameter the client must keep.
      return {.status = 202,
              .headers = {{"location", "/v2/team/app/blobs/uploads/" + id + "?state=s" + id}}};
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
      std::string location = "/v2/team/app/blobs/uploads/" + id + "?state=s" + id;
      return {
          .status = patch_201 ? 201L : 202L,
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

  Response manifest(const HttpRequest& r, const std::string& ref, const std::string& body) {
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
    return {
        .status = 200, .headers = {{"content-type", it->second.first}}, .body = it->second.second};
  }

  Response referrers(const std::string& subject, const std::string& url) {
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
                 .headers = {{"content-type", oci::kIndexMediaType}},
                 .body = Json({{"schemaVersion", 2}, {"manifests", manifests_json}}).dump()};
    if (start + referrers_page < all.size()) {
      out.headers.emplace_back(
          "link", fmt::format("</v2/team/app/referrers/{}?page={}>; rel=\"next\"", subject,
                              start + referrers_page));
    }
    return out;
  }

  int next_id_ = 0;
  std::map<std::string, std::string> sessions_;
};

RegistryOptions quick() {
  RegistryOptions o{.max_attempts = 2, .retry_backoff_ms = 1};
  o.helpers = [](const std::string&, const std::string&) -> Result<std::optional<std::string>> {
    return std::optional<std::string>();
  };
  return o;
}

std::string random_bytes(size_t n) {
  std::mt19937 rng(42);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

class PushTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string layout = dir_.path() + "/app";
    testing::write_image(layout, {{testing::file_entry("data", random_bytes(300'000))}}, "app",
                         "1.0");
    Result<oci::ImageView> opened = oci::open_image(layout);
    ASSERT_TRUE(opened.ok()) << opened.error().message();
    image_ = *std::move(opened);
    sbom_ = {
        .path = dir_.path() + "/app.spdx.json",
        .bytes = fmt::format("{{\"describes\":\"{}\"}}", image_.manifest_descriptor.digest.str()),
        .media_type = oci::kSpdxType};
  }

  Result<PushReport> push(MemoryRegistry& reg, PushOptions o = {}) {
    RegistryClient client(reg, quick());
    o.tag = "1.0";
    o.attestations = {sbom_};
    o.referrers_tag.settle_ms = 1;
    return push_image(client, image_, dest_, o);
  }

  TempDir dir_ = strata::testing::make_temp_dir();
  oci::ImageView image_;
  AttestationFile sbom_;
  specs::RegistryRef dest_ = *specs::parse_registry_ref("docker://reg.io/team/app");
};

TEST_F(PushTest, PushesEverythingAndKeepsTheReferrersTagWithoutTheApi) {
  MemoryRegistry reg;
  Result<PushReport> report = push(reg);
  ASSERT_TRUE(report.ok()) << report.error().message();
  EXPECT_EQ(report->uploaded, 4);  // config, layer, the artifact's empty config and the SBOM
  EXPECT_FALSE(report->referrers_api);
  EXPECT_EQ(report->referrers_tag_added, 1);
  const Digest& subject = image_.manifest_descriptor.digest;
  ASSERT_TRUE(reg.manifests.contains("1.0"));
  EXPECT_EQ(sha256_of(reg.manifests["1.0"].second), subject);
  EXPECT_EQ(reg.manifests["1.0"].first, oci::kManifestMediaType);
  for (const oci::Descriptor& l : image_.layers) EXPECT_TRUE(reg.blobs.contains(l.digest.str()));
  // The tag index: the SBOM artifact with its artifactType and annotations.
  const std::string tag = "sha256-" + subject.hex;
  ASSERT_TRUE(reg.manifests.contains(tag));
  Json index = Json::parse(reg.manifests[tag].second);
  ASSERT_EQ(index["manifests"].size(), 1u);
  EXPECT_EQ(index["manifests"][0]["artifactType"], oci::kSpdxType);
  EXPECT_TRUE(index["manifests"][0]["annotations"].contains(oci::kCreatedAnnotation));
  // The tag went up after everything else.
  EXPECT_EQ(reg.log.back(), "PUT /v2/team/app/manifests/1.0");

  // Again: no blob, no manifest but the tag, the referrers index only read.
  reg.log.clear();
  report = push(reg);
  ASSERT_TRUE(report.ok()) << report.error().message();
  EXPECT_EQ(report->uploaded, 0);
  EXPECT_EQ(report->skipped, 4);
  EXPECT_EQ(report->referrers_tag_added, 0);
  EXPECT_EQ(reg.count("POST"), 0);
  EXPECT_EQ(reg.count("PUT"), 1);
}

TEST_F(PushTest, OciSubjectMeansNoTagIndex) {
  MemoryRegistry reg;
  reg.oci_subject = true;
  Result<PushReport> report = push(reg);
  ASSERT_TRUE(report.ok()) << report.error().message();
  EXPECT_TRUE(report->referrers_api);
  EXPECT_FALSE(reg.manifests.contains("sha256-" + image_.manifest_descriptor.digest.hex));
  // A re-push (the artifact exists, so no OCI-Subject is seen) asks the API, not the tag.
  report = push(reg);
  ASSERT_TRUE(report.ok()) << report.error().message();
  EXPECT_TRUE(report->referrers_api);
  EXPECT_FALSE(reg.manifests.contains("sha256-" + image_.manifest_descriptor.digest.hex));
}

TEST_F(PushTest, RequestCapFallsBackToChunksAndToleratesPatch201) {
  MemoryRegistry reg;
  reg.max_body = 100'000;  // the layer (~300 kB, incompressible) must go in pieces
  reg.patch_201 = true;
  Result<PushReport> report = push(reg);
  ASSERT_TRUE(report.ok()) << report.error().message();
  EXPECT_GT(reg.count("PATCH"), 2);
  for (const oci::Descriptor& l : image_.layers) {
    ASSERT_TRUE(reg.blobs.contains(l.digest.str()));
    EXPECT_EQ(static_cast<int64_t>(reg.blobs[l.digest.str()].size()), l.size);
  }
}

TEST_F(PushTest, ChunkSizeFromTheStart) {
  MemoryRegistry reg;
  PushOptions o;
  o.chunk_bytes = 70'000;
  Result<PushReport> report = push(reg, o);
  ASSERT_TRUE(report.ok()) << report.error().message();
  int64_t layer = image_.layers[0].size;
  // The layer in 70,000-byte pieces; the config, the empty config and the SBOM in one each.
  EXPECT_EQ(reg.count("PATCH"), static_cast<int>((layer + 69'999) / 70'000) + 3);
}

TEST_F(PushTest, AnotherWriterReplacingTheIndexIsMerged) {
  MemoryRegistry reg;
  const std::string tag = "sha256-" + image_.manifest_descriptor.digest.hex;
  std::string other = "sha256:" + std::string(64, 'f');
  bool replaced = false;
  reg.after_manifest_put = [&](MemoryRegistry& r, const std::string& ref) {
    if (ref != tag || replaced) return;
    replaced = true;  // another pusher, who read the empty index too, writes its own
    Json index = {{"schemaVersion", 2},
                  {"mediaType", oci::kIndexMediaType},
                  {"manifests",
                   {{{"mediaType", oci::kManifestMediaType},
                     {"digest", other},
                     {"size", 10},
                     {"artifactType", "application/vnd.cyclonedx+json"}}}}};
    r.manifests[tag] = {oci::kIndexMediaType, index.dump()};
  };
  Result<PushReport> report = push(reg);
  ASSERT_TRUE(report.ok()) << report.error().message();
  Json index = Json::parse(reg.manifests[tag].second);
  ASSERT_EQ(index["manifests"].size(), 2u);
  std::vector<std::string> digests = {index["manifests"][0]["digest"],
                                      index["manifests"][1]["digest"]};
  EXPECT_TRUE(std::is_sorted(digests.begin(), digests.end()));
  EXPECT_TRUE(std::find(digests.begin(), digests.end(), other) != digests.end());
}

TEST_F(PushTest, AWriterThatAlwaysLosesSaysSo) {
  MemoryRegistry reg;
  const std::string tag = "sha256-" + image_.manifest_descriptor.digest.hex;
  reg.after_manifest_put = [&](MemoryRegistry& r, const std::string& ref) {
    if (ref == tag) r.manifests.erase(tag);
  };
  Result<PushReport> report = push(reg);
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.error().message().find("another writer replaced the referrers index"),
            std::string::npos)
      << report.error().message();
}

TEST_F(PushTest, ReferrersApiPagesAndClientSideFilter) {
  MemoryRegistry reg;
  reg.oci_subject = true;
  reg.referrers_page = 1;
  AttestationFile statement{
      .path = dir_.path() + "/app.provenance.json",
      .bytes = fmt::format("{{\"subject\":[{{\"digest\":{{\"sha256\":\"{}\"}}}}]}}",
                           image_.manifest_descriptor.digest.hex),
      .media_type = oci::kStatementType};
  RegistryClient client(reg, quick());
  PushOptions o{.attestations = {sbom_, statement}};
  ASSERT_TRUE(push_image(client, image_, dest_, o).ok());
  const Digest& subject = image_.manifest_descriptor.digest;
  Result<ReferrersList> all = list_referrers(client, dest_, subject);
  ASSERT_TRUE(all.ok()) << all.error().message();
  EXPECT_TRUE(all->from_api);
  EXPECT_EQ(all->referrers.size(), 2u);
  // Two pages; the push itself asked nothing: every PUT was answered with OCI-Subject.
  EXPECT_EQ(reg.count("GET /v2/team/app/referrers/"), 2);
  Result<ReferrersList> sboms = list_referrers(client, dest_, subject, oci::kSpdxType);
  ASSERT_TRUE(sboms.ok());
  ASSERT_EQ(sboms->referrers.size(), 1u);  // filtered by strata: no OCI-Filters-Applied
  EXPECT_EQ(sboms->referrers[0].artifact_type, oci::kSpdxType);
  Result<ArtifactBlob> provenance = fetch_provenance(client, dest_, subject, true);
  ASSERT_TRUE(provenance.ok()) << provenance.error().message();
  EXPECT_EQ(provenance->bytes, statement.bytes);
  // A tampered artifact blob is refused.
  reg.blobs[sha256_of(statement.bytes).str()] = statement.bytes + " ";
  provenance = fetch_provenance(client, dest_, subject, true);
  ASSERT_FALSE(provenance.ok());
  EXPECT_NE(provenance.error().message().find("size mismatch"), std::string::npos)
      << provenance.error().message();
}

TEST(AttestationsBeside, PicksTheEnvelopeAndSkipsOtherImages) {
  TempDir dir = strata::testing::make_temp_dir();
  Digest image = sha256_of("image");
  Digest other = sha256_of("other");
  auto statement = [](const Digest& d) {
    return fmt::format("{{\"subject\":[{{\"digest\":{{\"sha256\":\"{}\"}}}}]}}", d.hex);
  };
  ASSERT_TRUE(write_file(dir.path() + "/app.provenance.json", statement(image)).ok());
  ASSERT_TRUE(write_file(dir.path() + "/app.cdx.json", "{\"about\":\"" + other.str() + "\"}").ok());
  std::vector<std::string> warnings;
  auto warn = [&](const std::string& w) { warnings.push_back(w); };
  Result<std::vector<AttestationFile>> files =
      attestations_beside(dir.path() + "/app", image, warn);
  ASSERT_TRUE(files.ok()) << files.error().message();
  ASSERT_EQ(files->size(), 1u);
  EXPECT_EQ((*files)[0].media_type, oci::kStatementType);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("app.cdx.json: not pushed: it does not describe"), std::string::npos);
  // An envelope of the statement wins over the statement; the archive's name works too.
  std::string envelope =
      fmt::format("{{\"payload\":\"{}\",\"payloadType\":\"x\",\"signatures\":[]}}",
                  base64_encode(statement(image)));
  ASSERT_TRUE(write_file(dir.path() + "/app.provenance.dsse.json", envelope).ok());
  files = attestations_beside(dir.path() + "/app.tar", image, warn);
  ASSERT_TRUE(files.ok());
  ASSERT_EQ(files->size(), 1u);
  EXPECT_EQ((*files)[0].media_type, oci::kProvenanceDsseType);
}

TEST(AttestationsBeside, OpenVexGoesUpAsItsEnvelopeElseItself) {
  TempDir dir = strata::testing::make_temp_dir();
  Digest image = sha256_of("image");
  Digest other = sha256_of("other");
  std::string vex = fmt::format(
      R"({{"statements":[{{"products":[{{"hashes":{{"sha-256":"{}"}}}}]}}]}})", image.hex);
  ASSERT_TRUE(write_file(dir.path() + "/app.openvex.json", vex).ok());
  std::vector<std::string> warnings;
  auto warn = [&](const std::string& w) { warnings.push_back(w); };
  Result<std::vector<AttestationFile>> files =
      attestations_beside(dir.path() + "/app", image, warn);
  ASSERT_TRUE(files.ok()) << files.error().message();
  ASSERT_EQ(files->size(), 1u);
  EXPECT_EQ((*files)[0].media_type, oci::kOpenVexType);
  EXPECT_EQ((*files)[0].bytes, vex);
  files = attestations_beside(dir.path() + "/app", other, warn);
  ASSERT_TRUE(files.ok());
  EXPECT_TRUE(files->empty());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("app.openvex.json: not pushed: it is not about"), std::string::npos)
      << warnings[0];
  // The envelope of a statement about the image wins; one about another image does not.
  auto envelope = [](const Digest& d) {
    return fmt::format("{{\"payload\":\"{}\",\"payloadType\":\"x\",\"signatures\":[]}}",
                       base64_encode(fmt::format(
                           "{{\"subject\":[{{\"digest\":{{\"sha256\":\"{}\"}}}}]}}", d.hex)));
  };
  ASSERT_TRUE(write_file(dir.path() + "/app.openvex.dsse.json", envelope(image)).ok());
  files = attestations_beside(dir.path() + "/app", image, warn);
  ASSERT_TRUE(files.ok());
  ASSERT_EQ(files->size(), 1u);
  EXPECT_EQ((*files)[0].media_type, oci::kOpenVexDsseType);
  ASSERT_TRUE(write_file(dir.path() + "/app.openvex.dsse.json", envelope(other)).ok());
  files = attestations_beside(dir.path() + "/app", image, warn);
  ASSERT_TRUE(files.ok());
  ASSERT_EQ(files->size(), 1u);
  EXPECT_EQ((*files)[0].media_type, oci::kOpenVexType);
}

}  // namespace
}  // namespace strata::builder::registry
