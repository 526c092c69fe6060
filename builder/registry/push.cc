#include "builder/registry/push.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <optional>

#include "builder/base/base64.h"
#include "builder/base/fd.h"
#include "builder/base/fs.h"
#include "builder/base/path.h"
#include "builder/oci/artifact.h"
#include "builder/oci/media_types.h"
#include "builder/registry/pull.h"
#include "builder/sources/progress.h"

namespace strata::builder::registry {
namespace {

constexpr int64_t kDefaultChunkBytes = 4 << 20;  // GHCR's request cap (registry.md P8)
constexpr int64_t kMinChunkBytes = 64 << 10;
constexpr char kOctetStream[] = "Content-Type: application/octet-stream";

// A manifest to send, its blobs first.
struct ManifestNode {
  oci::Descriptor descriptor;
  std::string bytes;
  std::vector<BlobUpload> blobs;
};

std::string with_digest(const std::string& location, const Digest& d) {
  return location + (location.find('?') == std::string::npos ? "?" : "&") + "digest=" + d.str();
}

bool is_index_type(const std::string& media_type) {
  return media_type == oci::kIndexMediaType || media_type == oci::kDockerManifestListMediaType;
}

class Pusher {
 public:
  Pusher(RegistryClient& client, const specs::RegistryRef& dest, const PushOptions& options,
         PushReport& report)
      : client_(client), dest_(dest), options_(options), report_(report) {}

  void set_mount_source(std::optional<specs::RegistryRef> from) { mount_from_ = std::move(from); }

  Result<void> push_blob(const BlobUpload& blob);
  // PUTs a manifest by `reference` (its digest, or the tag); returns the response.
  Result<HttpResponse> put_manifest(const std::string& reference, const std::string& bytes,
                                    const std::string& media_type);
  Result<bool> has_manifest(const Digest& digest);

 private:
  Scope scope(std::vector<std::string> extra = {}) const {
    return {.ref = &dest_, .actions = "pull,push", .extra_scopes = std::move(extra)};
  }
  std::string where(const BlobUpload& b) const {
    return fmt::format("docker://{}: {} {}", dest_.name(), b.what, b.descriptor.digest.str());
  }
  void log(const std::string& line) const {
    if (options_.log) options_.log(line);
  }
  // The body of `b` from `offset`, `size` bytes.
  Result<HttpRequest> body_request(const BlobUpload& b, std::string method, std::string url,
                                   int64_t offset, int64_t size, UniqueFd& fd) const;
  Result<std::string> start_upload(const BlobUpload& b, bool mount, bool& mounted);
  Result<void> put_monolithic(const BlobUpload& b, const std::string& location, bool& too_large);
  Result<void> put_chunked(const BlobUpload& b, std::string location, int64_t chunk,
                           int64_t min_chunk);
  Result<void> check_digest_header(const HttpResponse& r, const Digest& expected,
                                   const std::string& what) const;

  RegistryClient& client_;
  const specs::RegistryRef& dest_;
  const PushOptions& options_;
  PushReport& report_;
  std::optional<specs::RegistryRef> mount_from_;
  int64_t min_chunk_ = 0;  // OCI-Chunk-Min-Length of the last session
};

Result<void> Pusher::check_digest_header(const HttpResponse& r, const Digest& expected,
                                         const std::string& what) const {
  // Not trusted to verify anything strata reads; but a registry that says it stored other
  // bytes than strata sent has stored the wrong thing.
  std::optional<std::string> got = r.header("docker-content-digest");
  if (got && *got != expected.str()) {
    return Error(
        ErrorCode::kDigestMismatch,
        fmt::format("{}: the registry stored {}, strata sent {}", what, *got, expected.str()));
  }
  return Ok{};
}

Result<HttpRequest> Pusher::body_request(const BlobUpload& b, std::string method, std::string url,
                                         int64_t offset, int64_t size, UniqueFd& fd) const {
  HttpRequest req{
      .method = std::move(method),
      .url = std::move(url),
      .headers = {kOctetStream},
      .progress_label = fmt::format("push {} {}", b.what, b.descriptor.digest.hex.substr(0, 12))};
  if (!b.path.empty()) {
    if (!fd.valid()) {
      STRATA_TRY_ASSIGN(fd, open_fd(b.path, O_RDONLY | O_CLOEXEC));
    }
    req.body_fd = fd.get();
    req.body_offset = offset;
    req.body_size = size;
  } else {
    req.body = b.bytes.substr(static_cast<size_t>(offset), static_cast<size_t>(size));
  }
  return req;
}

// POST: a mount (201: done) or an upload session (202 + Location).
Result<std::string> Pusher::start_upload(const BlobUpload& b, bool mount, bool& mounted) {
  std::string url = fmt::format("/v2/{}/blobs/uploads/", dest_.repository);
  std::vector<std::string> extra;
  if (mount) {
    url += fmt::format("?mount={}&from={}", b.descriptor.digest.str(), mount_from_->repository);
    extra.push_back(fmt::format("repository:{}:pull", mount_from_->repository));
  }
  STRATA_TRY_ASSIGN(std::string base, client_.base_url(dest_));
  HttpRequest req{.method = "POST", .url = base + url};
  STRATA_TRY_ASSIGN_CONTEXT(HttpResponse r, client_.send(scope(std::move(extra)), req), where(b));
  if (mount && r.status == 201) {
    STRATA_TRY(check_digest_header(r, b.descriptor.digest, where(b)));
    mounted = true;
    return std::string();
  }
  if (r.status != 202) {
    return Error::io(fmt::format("{}: starting the upload: {}", where(b), describe_status(r)));
  }
  std::optional<std::string> location = r.header("location");
  if (!location || location->empty()) {
    return Error::io(
        fmt::format("{}: the registry started an upload without a Location", where(b)));
  }
  min_chunk_ = 0;
  if (std::optional<std::string> min = r.header("oci-chunk-min-length")) {
    try {
      min_chunk_ = std::stoll(*min);
    } catch (...) {
      min_chunk_ = 0;
    }
  }
  return resolve_location(req.url, *location);
}

Result<void> Pusher::put_monolithic(const BlobUpload& b, const std::string& location,
                                    bool& too_large) {
  UniqueFd fd;
  STRATA_TRY_ASSIGN(
      HttpRequest req,
      body_request(b, "PUT", with_digest(location, b.descriptor.digest), 0, b.descriptor.size, fd));
  STRATA_TRY_ASSIGN_CONTEXT(HttpResponse r, client_.send(scope(), std::move(req)), where(b));
  if (r.status == 413) {
    too_large = true;
    return Ok{};
  }
  if (r.status != 201 && r.status != 204) {
    return Error::io(fmt::format("{}: upload: {}", where(b), describe_status(r)));
  }
  return check_digest_header(r, b.descriptor.digest, where(b));
}

// PATCH pieces of `chunk` bytes (at least the registry's OCI-Chunk-Min-Length), tracking the
// offset strata sent rather than the registry's Range (ECR leaves it stale and answers 201),
// then PUT ?digest= to close the session.
Result<void> Pusher::put_chunked(const BlobUpload& b, std::string location, int64_t chunk,
                                 int64_t min_chunk) {
  UniqueFd fd;
  int64_t size = b.descriptor.size;
  chunk = std::max(chunk, min_chunk);
  for (int64_t offset = 0; offset < size;) {
    int64_t n = std::min(chunk, size - offset);
    STRATA_TRY_ASSIGN(HttpRequest req, body_request(b, "PATCH", location, offset, n, fd));
    req.headers.push_back(fmt::format("Content-Range: {}-{}", offset, offset + n - 1));
    STRATA_TRY_ASSIGN_CONTEXT(HttpResponse r, client_.send(scope(), std::move(req)), where(b));
    if (r.status == 413 && chunk / 2 >= std::max(kMinChunkBytes, min_chunk)) {
      chunk /= 2;  // the registry's request cap is smaller still: the same offset again
      continue;
    }
    if (r.status != 202 && r.status != 201 && r.status != 204) {
      return Error::io(fmt::format("{}: chunk at {} of {} bytes: {}", where(b), offset, size,
                                   describe_status(r)));
    }
    if (std::optional<std::string> next = r.header("location"); next && !next->empty()) {
      location = resolve_location(location, *next);
    }
    offset += n;
  }
  HttpRequest close{.method = "PUT",
                    .url = with_digest(location, b.descriptor.digest),
                    .headers = {kOctetStream}};
  STRATA_TRY_ASSIGN_CONTEXT(HttpResponse r, client_.send(scope(), std::move(close)), where(b));
  if (r.status != 201 && r.status != 204) {
    return Error::io(fmt::format("{}: completing the upload: {}", where(b), describe_status(r)));
  }
  return check_digest_header(r, b.descriptor.digest, where(b));
}

Result<void> Pusher::push_blob(const BlobUpload& b) {
  HttpRequest head{
      .method = "HEAD",
      .url = fmt::format("/v2/{}/blobs/{}", dest_.repository, b.descriptor.digest.str())};
  STRATA_TRY_ASSIGN_CONTEXT(HttpResponse exists, client_.send(scope(), std::move(head)), where(b));
  if (exists.status == 200) {
    ++report_.skipped;
    return Ok{};
  }
  if (exists.status != 404) {
    return Error::io(
        fmt::format("{}: checking for the blob: {}", where(b), describe_status(exists)));
  }
  bool mount = mount_from_.has_value() && b.path.size() > 0;
  bool mounted = false;
  STRATA_TRY_ASSIGN(std::string location, start_upload(b, mount, mounted));
  if (mounted) {
    ++report_.mounted;
    log(fmt::format("mounted {} {} from docker://{}", b.what, b.descriptor.digest.str(),
                    mount_from_->name()));
    return Ok{};
  }
  bool too_large = false;
  if (options_.chunk_bytes > 0) {
    STRATA_TRY(put_chunked(b, location, options_.chunk_bytes, min_chunk_));
  } else {
    STRATA_TRY(put_monolithic(b, location, too_large));
    if (too_large) {
      // The registry refused one request of that size: a fresh session, in pieces.
      STRATA_TRY_ASSIGN(location, start_upload(b, false, mounted));
      STRATA_TRY(put_chunked(b, location, std::min(kDefaultChunkBytes, b.descriptor.size / 2 + 1),
                             min_chunk_));
    }
  }
  ++report_.uploaded;
  report_.bytes_uploaded += b.descriptor.size;
  log(fmt::format("pushed {} {} ({}) to docker://{}", b.what, b.descriptor.digest.str(),
                  sources::human_size(b.descriptor.size), dest_.name()));
  return Ok{};
}

Result<bool> Pusher::has_manifest(const Digest& digest) {
  HttpRequest head{.method = "HEAD",
                   .url = fmt::format("/v2/{}/manifests/{}", dest_.repository, digest.str()),
                   .headers = {kManifestAccept}};
  STRATA_TRY_ASSIGN(HttpResponse r, client_.send(scope(), std::move(head)));
  return r.status == 200;
}

Result<HttpResponse> Pusher::put_manifest(const std::string& reference, const std::string& bytes,
                                          const std::string& media_type) {
  std::string what = fmt::format("docker://{}: manifest {}", dest_.name(), reference);
  HttpRequest req{.method = "PUT",
                  .url = fmt::format("/v2/{}/manifests/{}", dest_.repository, reference),
                  .headers = {"Content-Type: " + media_type},
                  .body = bytes};
  STRATA_TRY_ASSIGN_CONTEXT(HttpResponse r, client_.send(scope(), std::move(req)), what);
  if (r.status != 200 && r.status != 201 && r.status != 202) {
    return Error::io(fmt::format("{}: {}", what, describe_status(r)));
  }
  STRATA_TRY(check_digest_header(r, sha256_of(bytes), what));
  return r;
}

// The manifests under `top` in push order: for an image manifest, itself with its config
// and layers; for an index, each child first.
Result<void> collect(const oci::ImageView& image, const oci::Descriptor& d, int depth,
                     std::vector<ManifestNode>& out) {
  std::string what = fmt::format("{}: {}", image.source, d.digest.str());
  if (depth > 2) return Error::io(what + ": indexes nested too deeply");
  STRATA_TRY_ASSIGN(std::string bytes, oci::read_verified_blob(image.layout_dir, d));
  STRATA_TRY_ASSIGN(Json doc, parse_json(bytes, what));
  std::string type = d.media_type.empty() ? string_member(doc, "mediaType") : d.media_type;
  ManifestNode node{.descriptor = d, .bytes = std::move(bytes)};
  node.descriptor.media_type = type;
  if (is_index_type(type) || (!doc.contains("config") && doc.contains("manifests"))) {
    for (const Json& child : member(doc, "manifests")) {
      STRATA_TRY_ASSIGN(oci::Descriptor c, oci::parse_descriptor(child, what));
      STRATA_TRY(collect(image, c, depth + 1, out));
    }
    out.push_back(std::move(node));
    return Ok{};
  }
  STRATA_TRY_ASSIGN(oci::Descriptor config, oci::parse_descriptor(member(doc, "config"), what));
  node.blobs.push_back(
      {.descriptor = config, .path = image.blob_path(config.digest), .what = "config"});
  const Json& layers = member(doc, "layers");
  if (!layers.is_array()) return Error::io(what + ": a manifest without layers");
  size_t i = 0;
  for (const Json& l : layers) {
    STRATA_TRY_ASSIGN(oci::Descriptor layer, oci::parse_descriptor(l, what));
    std::string path = image.blob_path(layer.digest);
    node.blobs.push_back({.descriptor = std::move(layer),
                          .path = std::move(path),
                          .what = fmt::format("layer {} of {}", ++i, layers.size())});
  }
  out.push_back(std::move(node));
  return Ok{};
}

// The index.json entry the image was chosen by: the manifest itself, or the index that
// holds it.
Result<oci::Descriptor> top_descriptor(const oci::ImageView& image) {
  for (const Json& entry : member(image.index, "manifests")) {
    STRATA_TRY_ASSIGN(oci::Descriptor d, oci::parse_descriptor(entry, image.source));
    if (d.digest == image.manifest_descriptor.digest) return image.manifest_descriptor;
  }
  for (const Json& entry : member(image.index, "manifests")) {
    STRATA_TRY_ASSIGN(oci::Descriptor d, oci::parse_descriptor(entry, image.source));
    if (!is_index_type(d.media_type)) continue;
    STRATA_TRY_ASSIGN(std::string bytes, oci::read_verified_blob(image.layout_dir, d));
    if (bytes.find(image.manifest_descriptor.digest.str()) != std::string::npos) return d;
  }
  return image.manifest_descriptor;
}

// The layout's own artifacts of the image (strata build --attach): index.json entries with
// an artifactType whose manifest's subject is the image.
Result<std::vector<ManifestNode>> layout_artifacts(const oci::ImageView& image) {
  std::vector<ManifestNode> out;
  for (const Json& entry : member(image.index, "manifests")) {
    if (string_member(entry, "artifactType").empty()) continue;
    STRATA_TRY_ASSIGN(oci::Descriptor d, oci::parse_descriptor(entry, image.source));
    STRATA_TRY_ASSIGN(std::string bytes, oci::read_verified_blob(image.layout_dir, d));
    STRATA_TRY_ASSIGN(Json doc, parse_json(bytes, image.source));
    if (string_member(member(doc, "subject"), "digest") != image.manifest_descriptor.digest.str()) {
      continue;
    }
    std::vector<ManifestNode> nodes;
    STRATA_TRY(collect(image, d, 0, nodes));
    for (ManifestNode& n : nodes) {
      for (BlobUpload& b : n.blobs) {
        if (b.what != "config") b.what = string_member(entry, "artifactType");
      }
      out.push_back(std::move(n));
    }
  }
  return out;
}

// An attestation file as an artifact manifest, made as --attach makes it.
Result<ManifestNode> artifact_node(const AttestationFile& f, const oci::ImageView& image) {
  std::string created = string_member(image.config, "created");
  if (created.empty()) created = "1970-01-01T00:00:00Z";
  oci::ArtifactFile file{
      .bytes = f.bytes, .media_type = f.media_type, .title = basename_of(f.path)};
  STRATA_TRY_ASSIGN(std::string bytes,
                    oci::artifact_manifest(file, image.manifest_descriptor, created));
  ManifestNode node{
      .descriptor = {oci::kManifestMediaType, sha256_of(bytes), static_cast<int64_t>(bytes.size())},
      .bytes = std::move(bytes)};
  node.blobs.push_back({.descriptor = {oci::kEmptyMediaType, sha256_of(oci::kEmptyConfig), 2},
                        .bytes = oci::kEmptyConfig,
                        .what = "artifact config"});
  node.blobs.push_back(
      {.descriptor = {f.media_type, sha256_of(f.bytes), static_cast<int64_t>(f.bytes.size())},
       .bytes = f.bytes,
       .what = basename_of(f.path)});
  return node;
}

// The repository the image's base came from, when it is on the destination's registry:
// its layers can be mounted instead of uploaded.
std::optional<specs::RegistryRef> base_repository(const oci::ImageView& image,
                                                  const specs::RegistryRef& dest) {
  std::string name = string_member(member(image.manifest, "annotations"), oci::kBaseNameAnnotation);
  if (name.empty()) return std::nullopt;
  Result<specs::RegistryRef> base = specs::parse_registry_ref("docker://" + name);
  if (!base.ok() || base->domain != dest.domain || base->repository == dest.repository) {
    return std::nullopt;
  }
  return *base;
}

bool statement_names(std::string_view statement, const Digest& manifest) {
  Result<Json> doc = parse_json(statement, "statement");
  if (!doc.ok()) return false;
  for (const Json& s : member(*doc, "subject")) {
    if (string_member(member(s, "digest"), "sha256") == manifest.hex) return true;
  }
  return false;
}

}  // namespace

Result<bool> upload_blob(RegistryClient& client, const specs::RegistryRef& dest,
                         const BlobUpload& blob, const PushOptions& options) {
  PushReport report;
  Pusher pusher(client, dest, options, report);
  STRATA_TRY(pusher.push_blob(blob));
  return report.uploaded > 0;
}

Result<HttpResponse> put_manifest(RegistryClient& client, const specs::RegistryRef& dest,
                                  const std::string& reference, const std::string& bytes,
                                  const std::string& media_type) {
  PushReport report;
  PushOptions options;
  Pusher pusher(client, dest, options, report);
  return pusher.put_manifest(reference, bytes, media_type);
}

Result<std::vector<AttestationFile>> attestations_beside(
    const std::string& image_path, const Digest& manifest,
    const std::function<void(const std::string&)>& warn) {
  std::string base = image_path;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  if (base.ends_with(".tar")) base.resize(base.size() - 4);
  auto read_if = [](const std::string& path) -> Result<std::optional<std::string>> {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return std::optional<std::string>();
    STRATA_TRY_ASSIGN(std::string text, read_file_limited(path, 256 << 20));
    return std::optional<std::string>(std::move(text));
  };
  auto skip = [&](const std::string& path, const std::string& why) {
    if (warn) warn(fmt::format("{}: not pushed: {}", path, why));
  };
  std::vector<AttestationFile> out;
  // A signed document goes up as its envelope, else as itself: what --attach stores.
  auto signed_or_plain = [&](std::string_view what, const char* envelope_type,
                             const char* plain_type) -> Result<void> {
    std::string envelope_path = fmt::format("{}.{}.dsse.json", base, what);
    std::string plain_path = fmt::format("{}.{}.json", base, what);
    STRATA_TRY_ASSIGN(std::optional<std::string> envelope, read_if(envelope_path));
    if (envelope) {
      Result<Json> doc = parse_json(*envelope, envelope_path);
      std::optional<std::string> payload;
      if (doc.ok()) payload = base64_decode(string_member(*doc, "payload"));
      if (payload && statement_names(*payload, manifest)) {
        out.push_back({envelope_path, *std::move(envelope), envelope_type});
        return Ok{};
      }
      skip(envelope_path, fmt::format("its statement's subject is not {}", manifest.str()));
    }
    STRATA_TRY_ASSIGN(std::optional<std::string> plain, read_if(plain_path));
    if (!plain) return Ok{};
    // A provenance is a statement with a subject; an OpenVEX document names the image's
    // digest in its products' purls and hashes.
    bool names = plain_type == std::string_view(oci::kStatementType)
                     ? statement_names(*plain, manifest)
                     : plain->find(manifest.hex) != std::string::npos;
    if (names) {
      out.push_back({plain_path, *std::move(plain), plain_type});
    } else {
      skip(plain_path, fmt::format("it is not about {}", manifest.str()));
    }
    return Ok{};
  };
  STRATA_TRY(signed_or_plain("provenance", oci::kProvenanceDsseType, oci::kStatementType));
  for (auto [suffix, type] :
       {std::pair{".spdx.json", oci::kSpdxType}, std::pair{".cdx.json", oci::kCycloneDxType}}) {
    std::string path = base + suffix;
    STRATA_TRY_ASSIGN(std::optional<std::string> sbom, read_if(path));
    if (!sbom) continue;
    if (sbom->find(manifest.hex) == std::string::npos) {
      skip(path, fmt::format("it does not describe {}", manifest.str()));
      continue;
    }
    out.push_back({path, *std::move(sbom), type});
  }
  STRATA_TRY(signed_or_plain("openvex", oci::kOpenVexDsseType, oci::kOpenVexType));
  return out;
}

Result<PushReport> push_image(RegistryClient& client, const oci::ImageView& image,
                              const specs::RegistryRef& dest, const PushOptions& options) {
  PushReport report;
  Pusher pusher(client, dest, options, report);
  pusher.set_mount_source(base_repository(image, dest));
  STRATA_TRY_ASSIGN(report.pushed, top_descriptor(image));
  std::vector<ManifestNode> nodes;
  STRATA_TRY(collect(image, report.pushed, 0, nodes));
  bool warned_zstd = false;
  for (const ManifestNode& node : nodes) {
    for (const BlobUpload& b : node.blobs) {
      if (!warned_zstd && b.descriptor.media_type.find("zstd") != std::string::npos) {
        warned_zstd = true;
        if (options.warn) {
          options.warn(
              fmt::format("docker://{}: pushing zstd layers: Docker before 23.0 cannot "
                          "read them (build with compression gzip for those clients)",
                          dest.name()));
        }
      }
      STRATA_TRY(pusher.push_blob(b));
    }
    STRATA_TRY_ASSIGN(bool exists, pusher.has_manifest(node.descriptor.digest));
    if (!exists) {
      STRATA_TRY(pusher.put_manifest(node.descriptor.digest.str(), node.bytes,
                                     node.descriptor.media_type));
      if (options.log) {
        options.log(fmt::format("pushed manifest {} to docker://{}", node.descriptor.digest.str(),
                                dest.name()));
      }
    }
  }

  // The attestations: artifacts whose subject is the image manifest.
  std::vector<ManifestNode> artifacts;
  if (options.layout_artifacts) {
    STRATA_TRY_ASSIGN(artifacts, layout_artifacts(image));
  }
  for (const AttestationFile& f : options.attestations) {
    STRATA_TRY_ASSIGN(ManifestNode node, artifact_node(f, image));
    bool listed = std::any_of(artifacts.begin(), artifacts.end(), [&](const ManifestNode& a) {
      return a.descriptor.digest == node.descriptor.digest;
    });
    if (!listed) artifacts.push_back(std::move(node));
  }
  const Digest& subject = image.manifest_descriptor.digest;
  bool all_indexed = true;
  for (const ManifestNode& node : artifacts) {
    for (const BlobUpload& b : node.blobs) STRATA_TRY(pusher.push_blob(b));
    STRATA_TRY_ASSIGN(Json doc, parse_json(node.bytes, "artifact manifest"));
    Referrer r{.manifest = node.descriptor, .artifact_type = string_member(doc, "artifactType")};
    if (r.artifact_type.empty())
      r.artifact_type = string_member(member(doc, "config"), "mediaType");
    if (doc.contains("annotations") && doc["annotations"].is_object())
      r.annotations = doc["annotations"];
    std::string type = r.artifact_type;
    report.referrers.push_back(std::move(r));
    STRATA_TRY_ASSIGN(bool exists, pusher.has_manifest(node.descriptor.digest));
    if (exists) {
      all_indexed = false;  // not known whether the registry indexed it: checked below
      continue;
    }
    STRATA_TRY_ASSIGN(
        HttpResponse put,
        pusher.put_manifest(node.descriptor.digest.str(), node.bytes, node.descriptor.media_type));
    if (put.header("oci-subject").value_or("") != subject.str()) all_indexed = false;
    if (options.log) {
      options.log(
          fmt::format("pushed {} {} for {}", type, node.descriptor.digest.str(), subject.str()));
    }
  }
  if (!artifacts.empty()) {
    report.referrers_api = all_indexed;
    if (!all_indexed) {
      // The API lists them (a registry that gained it later, or a re-push), else the tag.
      STRATA_TRY_ASSIGN(ReferrersList listed, list_referrers(client, dest, subject));
      bool complete =
          listed.from_api &&
          std::all_of(report.referrers.begin(), report.referrers.end(), [&](const Referrer& r) {
            return std::any_of(
                listed.referrers.begin(), listed.referrers.end(),
                [&](const Referrer& l) { return l.manifest.digest == r.manifest.digest; });
          });
      if (complete) {
        report.referrers_api = true;
      } else {
        STRATA_TRY_ASSIGN(
            report.referrers_tag_added,
            add_to_referrers_tag(client, dest, subject, report.referrers, options.referrers_tag));
      }
    }
  }

  // The tag last: whoever pulls it finds everything it names, attestations included.
  if (!options.tag.empty()) {
    const ManifestNode& top = nodes.back();
    STRATA_TRY(pusher.put_manifest(options.tag, top.bytes, top.descriptor.media_type));
  }
  return report;
}

}  // namespace strata::builder::registry
