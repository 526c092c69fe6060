#include "builder/registry/pull.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/base/check.h"
#include "builder/base/fd.h"
#include "builder/base/fs.h"
#include "builder/base/path.h"
#include "builder/oci/image_reader.h"
#include "builder/oci/media_types.h"
#include "builder/sources/progress.h"
#include "builder/tar/layer_reader.h"

namespace strata::builder::registry {
namespace {

constexpr int64_t kMaxLayers = 1000;

std::string media_type_of(const HttpResponse& r) {
  std::string type = r.header("content-type").value_or("");
  type = type.substr(0, type.find(';'));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  return type;
}

// Writes a blob into the store's temporary file, hashing it and refusing more bytes than
// the descriptor gives. A retry after a dropped connection resumes at the bytes already
// written when the registry answers "Range: bytes=N-" with 206 and the matching
// Content-Range; a 200 (Range ignored) starts over (registry.md P9). An error response's
// body (401, 429, ...) is not the blob: it is dropped, and what was written is kept.
class BlobSink : public RestartableSink {
 public:
  BlobSink(int fd, int64_t limit) : fd_(fd), limit_(limit) {}
  Result<void> begin(long status, const HttpResponse& r) override {
    discard_ = status != 200 && status != 206;
    if (discard_) return Ok{};
    int64_t from = std::exchange(asked_, 0);
    resumed_ = false;
    if (status == 200) return from > 0 ? restart() : Result<void>(Ok{});
    std::string range = r.header("content-range").value_or("");
    if (from > 0 && (range == fmt::format("bytes {}-{}/{}", from, limit_ - 1, limit_) ||
                     range == fmt::format("bytes {}-{}/*", from, limit_ - 1))) {
      resumed_ = true;
      return Ok{};
    }
    resume_refused_ = true;
    return Error::io(
        from > 0 ? fmt::format("the registry answered Range bytes={}- with Content-Range '{}'",
                               from, range)
                 : std::string("the registry answered 206 to a request for the whole blob"));
  }
  Result<void> write(std::string_view bytes) override {
    if (discard_) return Ok{};
    if (written_ + static_cast<int64_t>(bytes.size()) > limit_) {
      return Error(
          ErrorCode::kDigestMismatch,
          fmt::format("size mismatch: the descriptor says {} bytes, the registry sent more",
                      limit_));
    }
    hash_.update(bytes);
    written_ += static_cast<int64_t>(bytes.size());
    return write_all(fd_, bytes, "the store's temporary file");
  }
  Result<void> restart() override {
    if (::ftruncate(fd_, 0) != 0) return Error::sys("truncate the store's temporary file", errno);
    if (::lseek(fd_, 0, SEEK_SET) != 0)
      return Error::sys("seek in the store's temporary file", errno);
    hash_ = Sha256();
    written_ = 0;
    asked_ = 0;
    return Ok{};
  }
  Result<int64_t> prepare_retry() override {
    if (!resume_refused_ && written_ > 0 && written_ < limit_) {
      asked_ = written_;
      return written_;
    }
    STRATA_TRY(restart());
    return int64_t{0};
  }
  // The last request asked for a range the registry refused (416, or a 206 that does not
  // match): the caller starts over once, without Range.
  bool range_refused(long status) const { return resume_refused_ || (asked_ > 0 && status == 416); }
  void no_more_ranges() { resume_refused_ = true; }
  bool resumed() const { return resumed_; }
  int64_t written() const { return written_; }
  Digest finish() { return hash_.finish(); }

 private:
  int fd_;
  int64_t limit_;
  int64_t written_ = 0;
  int64_t asked_ = 0;  // the offset the coming response was asked for (0: the whole blob)
  bool discard_ = false;
  bool resumed_ = false;
  bool resume_refused_ = false;
  Sha256 hash_;
};

std::string store_dir(const PullOptions& o) { return o.cache_dir + "/sources/sha256"; }
std::string blob_path(const PullOptions& o, const Digest& d) { return store_dir(o) + "/" + d.hex; }

bool has_blob(const PullOptions& o, const oci::Descriptor& d) {
  struct stat st;
  return ::stat(blob_path(o, d.digest).c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
         st.st_size == d.size;
}

Error not_cached(const specs::RegistryRef& ref, const Digest& d) {
  return Error::io(
      fmt::format("docker://{}: {} is not in the cache (--offline: pull it once "
                  "without --offline)",
                  ref.str(), d.str()));
}

// A blob pulled into the store: streamed into a temporary file, hashed, its size checked,
// renamed to its digest only when both match.
Result<void> pull_blob(RegistryClient& client, const specs::RegistryRef& ref,
                       const oci::Descriptor& d, const PullOptions& o, const std::string& what) {
  STRATA_TRY(make_dirs(store_dir(o)));
  std::string path = blob_path(o, d.digest);
  STRATA_TRY_ASSIGN(AtomicFile file, AtomicFile::create(path));
  BlobSink sink(file.fd(), d.size);
  HttpRequest req{.url = fmt::format("/v2/{}/blobs/{}", ref.repository, d.digest.str()),
                  .max_response_bytes = d.size,
                  .progress_label = fmt::format("{} {}", what, d.digest.hex.substr(0, 12))};
  auto context = [&](Error e) {
    return std::move(e).context(fmt::format("docker://{}: {} {}", ref.str(), what, d.digest.str()));
  };
  Result<HttpResponse> r = client.send({.ref = &ref}, req, &sink);
  if (sink.range_refused(r.ok() ? r->status : 0)) {
    // A resume the registry got wrong: once more from the first byte, without Range.
    sink.no_more_ranges();
    STRATA_TRY(sink.restart());
    r = client.send({.ref = &ref}, req, &sink);
  }
  if (!r.ok()) return context(std::move(r).error());
  if (r->status != 200 && !(r->status == 206 && sink.resumed())) {
    return context(Error::io(describe_status(*r)));
  }
  if (sink.written() != d.size) {
    return context(Error(ErrorCode::kDigestMismatch,
                         fmt::format("size mismatch: the descriptor says {} bytes, the registry "
                                     "sent {}",
                                     d.size, sink.written())));
  }
  Digest actual = sink.finish();
  if (actual != d.digest) {
    return context(Error(
        ErrorCode::kDigestMismatch,
        fmt::format("digest mismatch: expected {}, actual {}", d.digest.str(), actual.str())));
  }
  STRATA_TRY(file.commit(path));
  STRATA_TRY(fsync_dir(store_dir(o)));
  if (o.log) {
    o.log(fmt::format("pulled {} {} ({}) from docker://{}", what, d.digest.str(),
                      sources::human_size(d.size), ref.name()));
  }
  return Ok{};
}

// A manifest's bytes: from the store when it has them (re-hashed: they are small), else
// fetched by digest and stored.
Result<FetchedManifest> manifest_by_digest(RegistryClient* client, const specs::RegistryRef& ref,
                                           const Digest& digest, const PullOptions& o) {
  std::string path = blob_path(o, digest);
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    Result<std::string> bytes = read_file_limited(path, oci::kMaxDocumentBytes);
    if (bytes.ok() && sha256_of(*bytes) == digest) {
      FetchedManifest m{.bytes = *std::move(bytes), .digest = digest};
      STRATA_TRY_ASSIGN(m.json,
                        parse_json(m.bytes, fmt::format("docker://{}: manifest", ref.str())));
      m.media_type = string_member(m.json, "mediaType");
      return m;
    }
  }
  if (client == nullptr) return not_cached(ref, digest);
  STRATA_TRY_ASSIGN(FetchedManifest m, fetch_manifest(*client, ref, digest.str()));
  STRATA_TRY(make_dirs(store_dir(o)));
  STRATA_TRY(write_file_atomic(path, m.bytes));
  return m;
}

std::string layer_name(size_t i, size_t count) { return fmt::format("layer {} of {}", i, count); }

// The config is a JSON object (nested at most 128 deep, as every document), and an image
// config lists one DiffID per layer.
Result<void> check_config(const PullOptions& o, const oci::Descriptor& config, size_t layers,
                          const std::string& what) {
  std::string where = fmt::format("{}: config {}", what, config.digest.str());
  STRATA_TRY_ASSIGN(std::string bytes,
                    read_file_limited(blob_path(o, config.digest), oci::kMaxDocumentBytes));
  STRATA_TRY_ASSIGN(Json j, parse_json(bytes, where));
  if (!j.is_object()) return Error::io(where + ": not a JSON object");
  if (config.media_type != oci::kConfigMediaType &&
      config.media_type != "application/vnd.docker.container.image.v1+json") {
    return Ok{};
  }
  const Json& ids = member(member(j, "rootfs"), "diff_ids");
  if (!ids.is_array() || ids.size() != layers) {
    return Error::io(fmt::format("{}: the config lists {} diff_ids for {} layers", where,
                                 ids.is_array() ? ids.size() : 0, layers));
  }
  return Ok{};
}

// Each layer's tar hashes to the DiffID its config gives (the layers read once more).
Result<void> check_diff_ids(const PullOptions& o, const std::vector<oci::Descriptor>& blobs,
                            const std::string& what) {
  STRATA_TRY_ASSIGN(std::string bytes,
                    read_file_limited(blob_path(o, blobs[0].digest), oci::kMaxDocumentBytes));
  STRATA_TRY_ASSIGN(Json config, parse_json(bytes, what + ": config"));
  const Json& ids = member(member(config, "rootfs"), "diff_ids");
  for (size_t i = 1; i < blobs.size(); ++i) {
    std::string where =
        fmt::format("{}: {} {}", what, layer_name(i, blobs.size() - 1), blobs[i].digest.str());
    const Json& id = ids.is_array() && i - 1 < ids.size() ? ids[i - 1] : Json();
    Result<Digest> want = id.is_string() ? Digest::parse(id.get<std::string>())
                                         : Result<Digest>(Error::io("not a string"));
    if (!want.ok())
      return Error::io(fmt::format("{}: config diff_id: {}", where, want.error().message()));
    Digest actual;
    Result<int64_t> read = read_layer_file(
        blob_path(o, blobs[i].digest), [](const ReadEntry&) -> Result<void> { return Ok{}; },
        &actual);
    if (!read.ok()) return std::move(read).error().context(where);
    if (actual != *want) {
      return Error(ErrorCode::kDigestMismatch,
                   fmt::format("{}: diff_id mismatch: the config says {}, the layer's tar is {}",
                               where, want->str(), actual.str()));
    }
  }
  return Ok{};
}

bool is_foreign(const oci::Descriptor& d, const Json& j) {
  return j.contains("urls") || d.media_type.find("foreign") != std::string::npos ||
         d.media_type.find("nondistributable") != std::string::npos;
}

// An OCI layout at `final_dir`: oci-layout, index.json naming the manifest (with
// `annotations` on its descriptor), and the blobs as hard links into the store (copies where
// links fail). Staged beside it and published by one rename; an existing layout is kept.
Result<void> write_layout(const PullOptions& o, const FetchedManifest& m,
                          const std::vector<oci::Descriptor>& blobs, const std::string& final_dir,
                          const Json& annotations) {
  struct stat st;
  if (::stat((final_dir + "/index.json").c_str(), &st) == 0) return Ok{};
  std::string root = dirname_of(final_dir);
  STRATA_TRY(make_dirs(root));
  STRATA_TRY_ASSIGN(TempDir tmp, TempDir::create(root, ".strata-tmp-"));
  std::string blob_dir = tmp.path() + "/blobs/sha256";
  STRATA_TRY(make_dirs(blob_dir));
  std::vector<oci::Descriptor> all = blobs;
  all.push_back({m.media_type, m.digest, static_cast<int64_t>(m.bytes.size())});
  for (const oci::Descriptor& d : all) {
    std::string from = blob_path(o, d.digest);
    std::string to = blob_dir + "/" + d.digest.hex;
    if (::stat(to.c_str(), &st) == 0) continue;  // a blob listed twice
    if (::link(from.c_str(), to.c_str()) != 0) {
      STRATA_TRY_ASSIGN(UniqueFd out, open_fd(to, O_WRONLY | O_CREAT | O_EXCL, 0644));
      STRATA_TRY(copy_file_to(from, out.get()));
      STRATA_TRY(out.close(to));
    }
  }
  Json entry = {{"mediaType", m.media_type},
                {"digest", m.digest.str()},
                {"size", static_cast<int64_t>(m.bytes.size())}};
  if (annotations.is_object() && !annotations.empty()) entry["annotations"] = annotations;
  Json index = {{"schemaVersion", 2},
                {"mediaType", oci::kIndexMediaType},
                {"manifests", Json::array({entry})}};
  STRATA_TRY(write_file(tmp.path() + "/oci-layout",
                        fmt::format("{{\"imageLayoutVersion\":\"{}\"}}", oci::kLayoutVersion)));
  STRATA_TRY(write_file(tmp.path() + "/index.json", index.dump()));
  STRATA_TRY(publish_dir(tmp.path(), final_dir));
  tmp.release();
  return fsync_dir(root);
}

}  // namespace

std::string Platform::str() const {
  return os + "/" + architecture + (variant.empty() ? "" : "/" + variant);
}

bool FetchedManifest::is_index() const {
  if (media_type == oci::kIndexMediaType || media_type == oci::kDockerManifestListMediaType) {
    return true;
  }
  return media_type.empty() && json.contains("manifests") && !json.contains("config");
}

Result<FetchedManifest> fetch_manifest(RegistryClient& client, const specs::RegistryRef& ref,
                                       const std::string& reference) {
  std::string what = fmt::format("docker://{}: manifest {}", ref.name(), reference);
  HttpRequest req{.url = fmt::format("/v2/{}/manifests/{}", ref.repository, reference),
                  .headers = {kManifestAccept},
                  .max_response_bytes = oci::kMaxDocumentBytes};
  Result<HttpResponse> sent = client.send({.ref = &ref}, std::move(req));
  if (!sent.ok()) return std::move(sent).error().context(what);
  HttpResponse r = *std::move(sent);
  if (r.status == 404) {
    return Error::io(fmt::format("{}: not found in {} ({})", what, RegistryClient::describe(ref),
                                 describe_status(r)));
  }
  if (r.status != 200) return Error::io(fmt::format("{}: {}", what, describe_status(r)));
  FetchedManifest m{.bytes = std::move(r.body)};
  m.digest = sha256_of(m.bytes);
  if (reference.starts_with("sha256:") && m.digest.str() != reference) {
    return Error(ErrorCode::kDigestMismatch,
                 fmt::format("{}: digest mismatch: expected {}, actual {}", what, reference,
                             m.digest.str()));
  }
  STRATA_TRY_ASSIGN(m.json, parse_json(m.bytes, what));
  if (!m.json.is_object()) return Error::io(what + ": not a JSON object");
  std::string content_type = media_type_of(r);
  std::string body_type = string_member(m.json, "mediaType");
  if (member(m.json, "schemaVersion") == 1 ||
      content_type.find("docker.distribution.manifest.v1") != std::string::npos ||
      content_type.find("prettyjws") != std::string::npos) {
    return Error(ErrorCode::kInvalidInput,
                 what +
                     ": a schema 1 manifest (deprecated since 2017): push the image again "
                     "with a current client");
  }
  if (!body_type.empty() && !content_type.empty() && body_type != content_type &&
      content_type != "application/json") {
    return Error::io(fmt::format("{}: the registry calls it {}, the manifest says {}", what,
                                 content_type, body_type));
  }
  m.media_type = !body_type.empty() ? body_type : content_type;
  if (m.media_type.empty() || m.media_type == "application/json") {
    m.media_type = m.json.contains("manifests") ? oci::kIndexMediaType : oci::kManifestMediaType;
  }
  return m;
}

Result<Json> select_platform(const Json& index, const Platform& want, std::string_view what) {
  const Json& manifests = member(index, "manifests");
  if (!manifests.is_array()) return Error::io(fmt::format("{}: the index has no manifests", what));
  std::vector<std::string> seen;
  for (const Json& m : manifests) {
    const Json& p = member(m, "platform");
    std::string os = string_member(p, "os");
    std::string arch = string_member(p, "architecture");
    const Json& ann = member(m, "annotations");
    // BuildKit's attestation manifests sit in the index as unknown/unknown.
    if (os == "unknown" || arch == "unknown" ||
        string_member(ann, "vnd.docker.reference.type") == "attestation-manifest") {
      continue;
    }
    std::string variant = string_member(p, "variant");
    seen.push_back(os + "/" + arch + (variant.empty() ? "" : "/" + variant));
    if (os == want.os && arch == want.architecture &&
        (want.variant.empty() || variant == want.variant)) {
      return m;
    }
  }
  return Error(
      ErrorCode::kInvalidInput,
      fmt::format("{}: no image for {} (the index has: {})", what, want.str(),
                  seen.empty() ? std::string("none") : fmt::format("{}", fmt::join(seen, ", "))));
}

Result<void> export_layout(const PulledImage& image, const PullOptions& o, const std::string& dir,
                           const specs::RegistryRef& ref) {
  Json annotations = Json::object();
  annotations[oci::kContainerdNameAnnotation] = ref.name() + (ref.tag.empty() ? "" : ":" + ref.tag);
  if (!ref.tag.empty()) annotations[oci::kRefNameAnnotation] = ref.tag;
  return write_layout(o, image.manifest_document, image.blobs, dir, annotations);
}

Result<PulledImage> pull_image(RegistryClient* client, const specs::RegistryRef& ref,
                               const Platform& platform, const PullOptions& o) {
  STRATA_CHECK(ref.digest.has_value());
  if (o.offline) client = nullptr;
  std::string what = "docker://" + ref.str();
  PulledImage out;
  STRATA_TRY_ASSIGN(FetchedManifest m, manifest_by_digest(client, ref, *ref.digest, o));
  for (int depth = 0; m.is_index(); ++depth) {
    if (depth >= 2) return Error::io(what + ": indexes nested too deeply");
    if (!out.index) out.index = m.digest;
    STRATA_TRY_ASSIGN(Json entry, select_platform(m.json, platform, what));
    STRATA_TRY_ASSIGN(oci::Descriptor d, oci::parse_descriptor(entry, what + ": index"));
    if (d.size > oci::kMaxDocumentBytes) {
      return Error::io(fmt::format("{}: the manifest for {} is {} bytes (at most {})", what,
                                   platform.str(), d.size, oci::kMaxDocumentBytes));
    }
    STRATA_TRY_ASSIGN(m, manifest_by_digest(client, ref, d.digest, o));
  }
  if (!m.json.contains("config") || !m.json.contains("layers") || !m.json["layers"].is_array()) {
    return Error::io(fmt::format("{}: manifest {} is not an image manifest ({})", what,
                                 m.digest.str(), m.media_type));
  }
  std::vector<oci::Descriptor> blobs;
  STRATA_TRY_ASSIGN(oci::Descriptor config,
                    oci::parse_descriptor(m.json["config"], what + ": config"));
  if (config.size > oci::kMaxDocumentBytes) {
    return Error::io(fmt::format("{}: the config is {} bytes (at most {})", what, config.size,
                                 oci::kMaxDocumentBytes));
  }
  blobs.push_back(config);
  if (static_cast<int64_t>(m.json["layers"].size()) > kMaxLayers) {
    return Error::io(fmt::format("{}: more than {} layers", what, kMaxLayers));
  }
  for (const Json& l : m.json["layers"]) {
    STRATA_TRY_ASSIGN(oci::Descriptor d, oci::parse_descriptor(l, what + ": layers"));
    if (is_foreign(d, l)) {
      return Error(ErrorCode::kInvalidInput,
                   fmt::format("{}: layer {} is non-distributable ({}): strata pulls only what "
                               "the registry holds",
                               what, d.digest.str(), d.media_type));
    }
    blobs.push_back(std::move(d));
  }
  // The config first: one that is not an image's config stops the pull before the layers.
  for (size_t i = 0; i < blobs.size(); ++i) {
    const oci::Descriptor& d = blobs[i];
    std::string kind = i == 0 ? "config" : layer_name(i, blobs.size() - 1);
    if (!has_blob(o, d)) {
      if (client == nullptr) return not_cached(ref, d.digest);
      STRATA_TRY(pull_blob(*client, ref, d, o, kind));
    }
    if (i == 0) STRATA_TRY(check_config(o, d, blobs.size() - 1, what));
  }
  if (o.verify_diff_ids) STRATA_TRY(check_diff_ids(o, blobs, what));
  out.layout_dir = o.cache_dir + "/registry/images/" + m.digest.hex;
  STRATA_TRY(write_layout(o, m, blobs, out.layout_dir, Json::object()));
  out.manifest = m.digest;
  out.blobs = std::move(blobs);
  out.manifest_media_type = m.media_type;
  out.manifest_document = std::move(m);
  return out;
}

bool has_registry_images(const specs::Spec& spec) {
  return (spec.image.base && spec.image.base->registry) ||
         (spec.environment.image && spec.environment.image->registry);
}

Result<void> resolve_spec_images(specs::Spec& spec, RegistryClient* client,
                                 const PullOptions& options, const std::string& host_architecture) {
  auto resolve = [&](specs::ImageRef& ref, const Platform& platform) -> Result<void> {
    if (!ref.registry || !ref.path.empty()) return Ok{};
    auto pulled = pull_image(client, *ref.registry, platform, options);
    if (!pulled.ok()) return std::move(pulled).error().at(ref.loc);
    ref.path = pulled->layout_dir;
    ref.digest = pulled->manifest;
    return Ok{};
  };
  if (spec.image.base) {
    STRATA_TRY(
        resolve(*spec.image.base, {.os = spec.image.os, .architecture = spec.image.architecture}));
  }
  if (spec.environment.image) {
    STRATA_TRY(
        resolve(*spec.environment.image, {.os = "linux", .architecture = host_architecture}));
  }
  return Ok{};
}

}  // namespace strata::builder::registry
