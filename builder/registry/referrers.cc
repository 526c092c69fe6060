#include "builder/registry/referrers.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <thread>

#include "builder/oci/artifact.h"
#include "builder/oci/image_reader.h"
#include "builder/oci/media_types.h"
#include "builder/registry/pull.h"

namespace strata::builder::registry {
namespace {

constexpr int kMaxPages = 100;
constexpr int64_t kMaxEntries = 10'000;

std::string index_accept() { return std::string("Accept: ") + oci::kIndexMediaType; }

// "%2B" for '+', as media types hold one ("application/spdx+json") and a '+' in a query
// means a space.
std::string query_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '.' || c == '_' || c == '~' || c == '/';
    out += plain ? std::string(1, c) : fmt::format("%{:02X}", static_cast<unsigned char>(c));
  }
  return out;
}

// The entries of a referrers index (an API page or the fallback tag's index).
Result<std::vector<Referrer>> parse_entries(const Json& index, const std::string& what) {
  const Json& manifests = member(index, "manifests");
  if (!manifests.is_array()) return Error::io(what + ": not an image index (no manifests)");
  if (static_cast<int64_t>(manifests.size()) > kMaxEntries) {
    return Error::io(fmt::format("{}: more than {} referrers", what, kMaxEntries));
  }
  std::vector<Referrer> out;
  for (const Json& m : manifests) {
    STRATA_TRY_ASSIGN(oci::Descriptor d, oci::parse_descriptor(m, what));
    Referrer r{.manifest = std::move(d), .artifact_type = string_member(m, "artifactType")};
    const Json& annotations = member(m, "annotations");
    if (annotations.is_object()) r.annotations = annotations;
    out.push_back(std::move(r));
  }
  return out;
}

void sort_unique(std::vector<Referrer>& list) {
  std::stable_sort(list.begin(), list.end(), [](const Referrer& a, const Referrer& b) {
    return a.manifest.digest.str() < b.manifest.digest.str();
  });
  list.erase(std::unique(list.begin(), list.end(),
                         [](const Referrer& a, const Referrer& b) {
                           return a.manifest.digest == b.manifest.digest;
                         }),
             list.end());
}

struct TagIndex {
  bool exists = false;
  std::vector<Referrer> entries;
};

// The tag-schema index of `subject`: 404 is an empty list; anything but an image index is
// an error (a tag of that name holding something else is not ours to overwrite).
Result<TagIndex> read_tag_index(RegistryClient& client, const specs::RegistryRef& ref,
                                const Digest& subject) {
  std::string tag = referrers_tag(subject);
  std::string what =
      fmt::format("docker://{}:{} (referrers of {})", ref.name(), tag, subject.str());
  HttpRequest req{.url = fmt::format("/v2/{}/manifests/{}", ref.repository, tag),
                  .headers = {kManifestAccept},
                  .max_response_bytes = oci::kMaxDocumentBytes};
  Result<HttpResponse> sent = client.send({.ref = &ref}, std::move(req));
  if (!sent.ok()) return std::move(sent).error().context(what);
  if (sent->status == 404) return TagIndex{};
  if (sent->status != 200) return Error::io(fmt::format("{}: {}", what, describe_status(*sent)));
  STRATA_TRY_ASSIGN(Json index, parse_json(sent->body, what));
  std::string type = string_member(index, "mediaType");
  if (!index.is_object() || (!type.empty() && type != oci::kIndexMediaType)) {
    return Error::io(fmt::format("{}: the tag holds a {}, not a referrers index", what,
                                 type.empty() ? std::string("document") : type));
  }
  STRATA_TRY_ASSIGN(std::vector<Referrer> entries, parse_entries(index, what));
  return TagIndex{.exists = true, .entries = std::move(entries)};
}

}  // namespace

Json Referrer::to_json() const {
  Json j = manifest.to_json();
  if (!artifact_type.empty()) j["artifactType"] = artifact_type;
  if (annotations.is_object() && !annotations.empty()) j["annotations"] = annotations;
  return j;
}

std::string referrers_tag(const Digest& subject) { return "sha256-" + subject.hex; }

Result<ReferrersList> list_referrers(RegistryClient& client, const specs::RegistryRef& ref,
                                     const Digest& subject, const std::string& artifact_type) {
  std::string what = fmt::format("docker://{}@{}: referrers", ref.name(), subject.str());
  ReferrersList out;
  std::string url = fmt::format("/v2/{}/referrers/{}", ref.repository, subject.str());
  if (!artifact_type.empty()) url += "?artifactType=" + query_escape(artifact_type);
  bool filtered = true;
  for (int page = 0;; ++page) {
    if (page >= kMaxPages) {
      return Error::io(fmt::format("{}: more than {} pages", what, kMaxPages));
    }
    HttpRequest req{
        .url = url, .headers = {index_accept()}, .max_response_bytes = oci::kMaxDocumentBytes};
    STRATA_TRY_ASSIGN_CONTEXT(HttpResponse r, client.send({.ref = &ref}, req), what);
    // No referrers API (Distribution 2.8 answers 404; some registries 400 or 405): the tag
    // schema. A registry with the API never answers 404 (distribution-spec v1.1).
    if (page == 0 && (r.status == 404 || r.status == 400 || r.status == 405)) {
      Result<TagIndex> tag = read_tag_index(client, ref, subject);
      if (!tag.ok()) return std::move(tag).error();
      out.referrers = std::move(tag->entries);
      filtered = false;
      break;
    }
    if (r.status != 200) return Error::io(fmt::format("{}: {}", what, describe_status(r)));
    out.from_api = true;
    STRATA_TRY_ASSIGN(Json index, parse_json(r.body, what));
    STRATA_TRY_ASSIGN(std::vector<Referrer> entries, parse_entries(index, what));
    if (static_cast<int64_t>(out.referrers.size() + entries.size()) > kMaxEntries) {
      return Error::io(fmt::format("{}: more than {} referrers", what, kMaxEntries));
    }
    std::move(entries.begin(), entries.end(), std::back_inserter(out.referrers));
    std::optional<std::string> filters = r.header("oci-filters-applied");
    if (!filters || filters->find("artifactType") == std::string::npos) filtered = false;
    std::optional<std::string> next = next_page(r, req.url);
    if (!next) break;
    url = *next;
  }
  if (!artifact_type.empty() && !filtered) {
    std::erase_if(out.referrers,
                  [&](const Referrer& r) { return r.artifact_type != artifact_type; });
  }
  sort_unique(out.referrers);
  return out;
}

Result<int> add_to_referrers_tag(RegistryClient& client, const specs::RegistryRef& ref,
                                 const Digest& subject, const std::vector<Referrer>& add,
                                 const TagUpdateOptions& options) {
  std::string tag = referrers_tag(subject);
  std::string what = fmt::format("docker://{}:{}", ref.name(), tag);
  std::mt19937_64 random(std::random_device{}());
  int added = 0;
  for (int attempt = 0;; ++attempt) {
    STRATA_TRY_ASSIGN(TagIndex current, read_tag_index(client, ref, subject));
    std::vector<Referrer> missing;
    for (const Referrer& r : add) {
      bool listed =
          std::any_of(current.entries.begin(), current.entries.end(),
                      [&](const Referrer& e) { return e.manifest.digest == r.manifest.digest; });
      if (!listed) missing.push_back(r);
    }
    if (missing.empty()) return added;
    if (attempt >= options.attempts) {
      return Error::io(fmt::format(
          "{}: another writer replaced the referrers index {} times; {} of the artifacts are "
          "not listed (registries without the referrers API cannot update it atomically)",
          what, options.attempts, missing.size()));
    }
    if (attempt == 0) added = static_cast<int>(missing.size());
    std::vector<Referrer> merged = std::move(current.entries);
    std::move(missing.begin(), missing.end(), std::back_inserter(merged));
    sort_unique(merged);
    Json manifests = Json::array();
    for (const Referrer& r : merged) manifests.push_back(r.to_json());
    Json index = {{"schemaVersion", 2},
                  {"mediaType", oci::kIndexMediaType},
                  {"manifests", std::move(manifests)}};
    STRATA_TRY_ASSIGN(std::string bytes, canonical_json(index));
    HttpRequest req{.method = "PUT",
                    .url = fmt::format("/v2/{}/manifests/{}", ref.repository, tag),
                    .headers = {std::string("Content-Type: ") + oci::kIndexMediaType},
                    .body = std::move(bytes)};
    STRATA_TRY_ASSIGN_CONTEXT(
        HttpResponse r, client.send({.ref = &ref, .actions = "pull,push"}, std::move(req)), what);
    if (r.status != 200 && r.status != 201 && r.status != 202) {
      return Error::io(
          fmt::format("{}: writing the referrers index: {}", what, describe_status(r)));
    }
    // Another writer may have read the old index too: wait, then read ours back.
    int64_t wait = options.settle_ms +
                   static_cast<int64_t>(random() % static_cast<uint64_t>(options.settle_ms + 1));
    std::this_thread::sleep_for(std::chrono::milliseconds(wait));
  }
}

namespace {

// Not an artifact strata can hold: an error of this code is a skip for fetch_artifacts.
constexpr ErrorCode kNotAnArtifact = ErrorCode::kUnsupported;

}  // namespace

Result<std::string> fetch_blob(RegistryClient& client, const specs::RegistryRef& ref,
                               const oci::Descriptor& d, const std::string& what) {
  HttpRequest req{.url = fmt::format("/v2/{}/blobs/{}", ref.repository, d.digest.str()),
                  .max_response_bytes = d.size};
  STRATA_TRY_ASSIGN_CONTEXT(HttpResponse r, client.send({.ref = &ref}, std::move(req)), what);
  if (r.status != 200) return Error::io(fmt::format("{}: {}", what, describe_status(r)));
  if (static_cast<int64_t>(r.body.size()) != d.size) {
    return Error(
        ErrorCode::kDigestMismatch,
        fmt::format("{}: size mismatch: the descriptor says {} bytes, the registry sent {}", what,
                    d.size, r.body.size()));
  }
  Digest actual = sha256_of(r.body);
  if (actual != d.digest) {
    return Error(ErrorCode::kDigestMismatch,
                 fmt::format("{}: digest mismatch: expected {}, actual {}", what, d.digest.str(),
                             actual.str()));
  }
  return std::move(r.body);
}

Result<ArtifactBlob> fetch_artifact(RegistryClient& client, const specs::RegistryRef& ref,
                                    const Referrer& referrer, const Digest& subject,
                                    int64_t max_bytes) {
  std::string what = fmt::format("docker://{}@{}", ref.name(), referrer.manifest.digest.str());
  STRATA_TRY_ASSIGN(FetchedManifest m, fetch_manifest(client, ref, referrer.manifest.digest.str()));
  const Json& subject_json = member(m.json, "subject");
  if (string_member(subject_json, "digest") != subject.str()) {
    return Error(ErrorCode::kVerification,
                 fmt::format("{}: the artifact's subject is {}, not {}", what,
                             string_member(subject_json, "digest"), subject.str()));
  }
  const Json& layers = member(m.json, "layers");
  if (!m.json.contains("config") || !layers.is_array() || layers.size() != 1) {
    return Error(kNotAnArtifact, what + ": not an artifact manifest with one layer");
  }
  ArtifactBlob out{
      .artifact_type = referrer.artifact_type,
      .manifest_descriptor = {m.media_type, m.digest, static_cast<int64_t>(m.bytes.size())}};
  STRATA_TRY_ASSIGN(out.config, oci::parse_descriptor(m.json["config"], what + ": config"));
  STRATA_TRY_ASSIGN(out.layer, oci::parse_descriptor(layers[0], what + ": layers"));
  if (out.layer.size > max_bytes || out.config.size > oci::kMaxDocumentBytes) {
    return Error(kNotAnArtifact, fmt::format("{}: the artifact is {} bytes (at most {})", what,
                                             out.layer.size + out.config.size, max_bytes));
  }
  STRATA_TRY_ASSIGN(out.config_bytes, fetch_blob(client, ref, out.config, what + ": config"));
  STRATA_TRY_ASSIGN(out.bytes, fetch_blob(client, ref, out.layer, what));
  out.manifest_bytes = std::move(m.bytes);
  out.manifest = std::move(m.json);
  return out;
}

Result<std::vector<ArtifactBlob>> fetch_artifacts(
    RegistryClient& client, const specs::RegistryRef& ref, const Digest& subject,
    const std::function<void(const std::string&)>& warn) {
  constexpr size_t kMaxArtifacts = 100;
  STRATA_TRY_ASSIGN(ReferrersList list, list_referrers(client, ref, subject));
  if (list.referrers.size() > kMaxArtifacts) {
    return Error::io(fmt::format("docker://{}@{}: {} referrers (at most {} are pulled)", ref.name(),
                                 subject.str(), list.referrers.size(), kMaxArtifacts));
  }
  std::vector<ArtifactBlob> out;
  for (const Referrer& r : list.referrers) {
    Result<ArtifactBlob> a = fetch_artifact(client, ref, r, subject);
    if (!a.ok() &&
        (a.error().code() == kNotAnArtifact || a.error().code() == ErrorCode::kVerification)) {
      if (warn) warn(a.error().message() + ": not pulled");
      continue;
    }
    if (!a.ok()) return std::move(a).error();
    out.push_back(*std::move(a));
  }
  return out;
}

Result<ArtifactBlob> fetch_provenance(RegistryClient& client, const specs::RegistryRef& ref,
                                      const Digest& subject, bool prefer_envelope) {
  STRATA_TRY_ASSIGN(ReferrersList list, list_referrers(client, ref, subject));
  std::vector<std::string> order = {oci::kStatementType, oci::kProvenanceDsseType};
  if (prefer_envelope) std::swap(order[0], order[1]);
  for (const std::string& type : order) {
    for (const Referrer& r : list.referrers) {
      if (r.artifact_type == type) return fetch_artifact(client, ref, r, subject);
    }
  }
  std::vector<std::string> types;
  for (const Referrer& r : list.referrers) types.push_back(r.artifact_type);
  return Error(ErrorCode::kVerification,
               fmt::format("docker://{}@{}: no provenance among its referrers ({})", ref.name(),
                           subject.str(),
                           types.empty() ? std::string("it has none")
                                         : fmt::format("it has: {}", fmt::join(types, ", "))));
}

}  // namespace strata::builder::registry
