#include "builder/registry_cache/registry_cache.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include "attest/dsse.h"
#include "builder/base/fd.h"
#include "builder/base/fs.h"
#include "builder/base/time.h"
#include "builder/build/output_store.h"
#include "builder/environment/unpack.h"
#include "builder/oci/image_reader.h"
#include "builder/oci/media_types.h"
#include "builder/registry/pull.h"
#include "builder/registry/push.h"
#include "builder/registry/referrers.h"
#include "builder/registry_cache/entry_statement.h"
#include "builder/sources/progress.h"
#include "builder/tar/compressor.h"
#include "builder/tar/layer_reader.h"
#include "builder/tar/tar_writer.h"

namespace strata::builder::registry_cache {
namespace {

constexpr char kGzipLayer[] = "application/vnd.oci.image.layer.v1.tar+gzip";
constexpr int64_t kMaxLayerBytes = int64_t{64} << 30;

// The response body into a file, hashed on the way (a blob larger than its descriptor is
// refused by the request's cap).
class FileSink : public registry::RestartableSink {
 public:
  explicit FileSink(int fd) : fd_(fd) {}
  Result<void> write(std::string_view bytes) override {
    hash_.update(bytes);
    size_ += static_cast<int64_t>(bytes.size());
    return write_all(fd_, bytes, "the registry cache's temporary file");
  }
  Result<void> restart() override {
    if (::ftruncate(fd_, 0) != 0 || ::lseek(fd_, 0, SEEK_SET) != 0) {
      return Error::sys("reset the registry cache's temporary file", errno);
    }
    hash_ = Sha256();
    size_ = 0;
    return Ok{};
  }
  Digest digest() { return hash_.finish(); }
  int64_t size() const { return size_; }

 private:
  int fd_;
  Sha256 hash_;
  int64_t size_ = 0;
};

// The strata-det/1 tar of a tree, gzip-compressed into a file as it is written, with the
// compressed bytes' digest and size.
class GzipFileOutput : public BlobOutput {
 public:
  explicit GzipFileOutput(int fd) : fd_(fd) {}
  Result<void> start() {
    STRATA_TRY_ASSIGN(compressor_, start_compressor({.compression = Compression::kGzip},
                                                    [this](const void* data, size_t size) {
                                                      return sink(data, size);
                                                    }));
    return Ok{};
  }
  Result<void> write(std::string_view bytes) override {
    if (compressor_->push(bytes.data(), bytes.size())) return Ok{};
    if (error_) return *error_;
    if (std::optional<Error> e = compressor_->abort()) return *e;
    return Error::io("compressing the cache entry failed");
  }
  Result<void> finish() {
    STRATA_TRY(compressor_->finish());
    if (error_) return *error_;
    return Ok{};
  }
  Digest digest() { return hash_.finish(); }
  int64_t size() const { return size_; }

 private:
  bool sink(const void* data, size_t size) {
    hash_.update(data, size);
    size_ += static_cast<int64_t>(size);
    Result<void> w = write_all(fd_, std::string_view(static_cast<const char*>(data), size),
                               "the cache entry's layer");
    if (!w.ok()) {
      error_ = std::move(w).error();
      return false;
    }
    return true;
  }
  int fd_;
  std::unique_ptr<Compressor> compressor_;
  Sha256 hash_;
  int64_t size_ = 0;
  std::optional<Error> error_;
};

}  // namespace

struct RegistryCache::Entry {
  Digest manifest;
  oci::Descriptor layer;
  Json statement;
  // What the statement says the content is: a package entry's output tree, a layer entry's
  // DiffID.
  Digest content;
};

struct RegistryCache::Lookup {
  bool exists = false;
  std::optional<Entry> entry;
};

std::string entry_tag(const EntryKind& kind, const Digest& key) {
  return std::string(kind.tag_prefix) + key.hex;
}

std::string entry_tag(const Digest& key) { return entry_tag(kPackageEntry, key); }

RegistryCache::RegistryCache(registry::RegistryClient& client, RegistryCacheOptions options)
    : client_(client), options_(std::move(options)) {}

std::string RegistryCache::where() const {
  return fmt::format("registry cache docker://{}", options_.repository.name());
}

void RegistryCache::warn(const std::string& line) const {
  if (options_.warn) options_.warn(line);
}

Result<void> RegistryCache::degrade(Error e) {
  if (options_.required) return std::move(e).context(where() + " (--cache-registry-required)");
  warn(fmt::format("{}: {}; building without it", where(), e.message()));
  disabled_ = true;
  return Ok{};
}

// The entry of `kind` tagged for `key`: nullopt when there is none, or (warned) when it is
// not one strata may use. The statement must be signed by one of `keys` (any, with
// `accept_unsigned`).
Result<RegistryCache::Lookup> RegistryCache::read_entry(const EntryKind& kind,
                                                        const std::string& about, const Digest& key,
                                                        const std::vector<attest::PublicKey>& keys,
                                                        bool accept_unsigned, bool report) {
  const specs::RegistryRef& repo = options_.repository;
  std::string tag = entry_tag(kind, key);
  auto ignored = [&](const std::string& why) -> Result<Lookup> {
    if (report) warn(fmt::format("{}: {} entry {} ignored: {}", about, where(), tag, why));
    return Lookup{.exists = true};
  };
  registry::HttpRequest head{.method = "HEAD",
                             .url = fmt::format("/v2/{}/manifests/{}", repo.repository, tag),
                             .headers = {registry::kManifestAccept}};
  STRATA_TRY_ASSIGN(registry::HttpResponse exists, client_.send({.ref = &repo}, head));
  if (exists.status == 404) return Lookup{};
  if (exists.status != 200) {
    return Error::io(fmt::format("HEAD {}: {}", tag, registry::describe_status(exists)));
  }
  STRATA_TRY_ASSIGN(registry::FetchedManifest m, registry::fetch_manifest(client_, repo, tag));
  if (string_member(m.json, "artifactType") != kind.artifact_type) {
    return ignored(fmt::format("not a strata {} (artifactType {})", kind.noun,
                               string_member(m.json, "artifactType")));
  }
  const Json& layers = member(m.json, "layers");
  if (!layers.is_array() || layers.size() != 1) return ignored("it does not have one layer");
  auto config = oci::parse_descriptor(member(m.json, "config"), tag + ": config");
  auto layer = oci::parse_descriptor(layers[0], tag + ": layer");
  if (!config.ok() || !layer.ok()) return ignored("its descriptors are malformed");
  if (config->size > oci::kMaxDocumentBytes) return ignored("its config is too large");
  if (layer->size > kMaxLayerBytes) return ignored("its layer is too large");
  Result<std::string> envelope_bytes =
      registry::fetch_blob(client_, repo, *config, tag + " config");
  if (!envelope_bytes.ok() && envelope_bytes.error().code() == ErrorCode::kDigestMismatch) {
    return ignored("its config does not match its digest");
  }
  if (!envelope_bytes.ok()) return std::move(envelope_bytes).error();
  const std::string& envelope_text = *envelope_bytes;
  Entry e{.manifest = m.digest, .layer = *layer};
  // The statement: verified by a trusted key, else (trust_unsigned, or only to report what
  // another writer claimed) decoded as is.
  Result<Json> statement = entry_statement(envelope_text, keys, accept_unsigned, kind);
  if (!statement.ok()) return ignored(statement.error().message());
  e.statement = *std::move(statement);
  const Json& predicate = member(e.statement, "predicate");
  if (string_member(predicate, "key") != key.str()) {
    return ignored(fmt::format("its statement is for key {}, not {}",
                               string_member(predicate, "key"), key.str()));
  }
  if (sha256_subject(e.statement, "layer") != e.layer.digest.hex) {
    return ignored(fmt::format("its layer {} is not the one its statement names (sha256:{})",
                               e.layer.digest.str(), sha256_subject(e.statement, "layer")));
  }
  Result<Digest> content =
      Digest::parse("sha256:" + sha256_subject(e.statement, std::string(kind.content_subject)));
  if (!content.ok()) {
    return ignored(fmt::format("its statement names no {} digest", kind.content_subject));
  }
  e.content = *content;
  return Lookup{.exists = true, .entry = std::move(e)};
}

Result<std::vector<attest::PublicKey>> RegistryCache::writer_keys() const {
  std::vector<attest::PublicKey> keys = options_.trusted;
  if (options_.sign_key) {
    STRATA_TRY_ASSIGN(attest::PublicKey own, options_.sign_key->public_key());
    keys.push_back(std::move(own));
  }
  return keys;
}

Result<Digest> RegistryCache::push_entry(const EntryKind& kind, const Digest& key,
                                         const Json& statement, const oci::Descriptor& layer,
                                         const std::string& path, Json annotations) {
  const specs::RegistryRef& repo = options_.repository;
  STRATA_TRY_ASSIGN(std::string payload, canonical_json(statement));
  STRATA_TRY_ASSIGN(std::string envelope,
                    attest::sign_envelope(attest::kInTotoPayloadType, payload, *options_.sign_key));
  oci::Descriptor config{kEnvelopeMediaType, sha256_of(envelope),
                         static_cast<int64_t>(envelope.size())};
  registry::PushOptions push;
  std::string what(kind.noun);
  STRATA_TRY(registry::upload_blob(client_, repo,
                                   {.descriptor = config, .bytes = envelope, .what = what}, push));
  STRATA_TRY(registry::upload_blob(
      client_, repo, {.descriptor = layer, .path = path, .what = what + " layer"}, push));
  annotations["dev.strata.cache-key"] = key.str();
  annotations[oci::kCreatedAnnotation] = rfc3339_utc(options_.now_s ? options_.now_s() : 0);
  Json manifest = {{"schemaVersion", 2},
                   {"mediaType", oci::kManifestMediaType},
                   {"artifactType", kind.artifact_type},
                   {"config", config.to_json()},
                   {"layers", {layer.to_json()}},
                   {"annotations", std::move(annotations)}};
  STRATA_TRY_ASSIGN(std::string bytes, canonical_json(manifest));
  STRATA_TRY(
      registry::put_manifest(client_, repo, entry_tag(kind, key), bytes, oci::kManifestMediaType));
  return sha256_of(bytes);
}

Result<std::optional<Digest>> RegistryCache::fetch(const std::string& package, const Digest& key,
                                                   const std::string& out_dir) {
  std::lock_guard lock(mu_);
  if (disabled_) return std::optional<Digest>();
  if (options_.trusted.empty() && !options_.trust_unsigned) return std::optional<Digest>();
  Result<std::optional<Digest>> got = fetch_locked(package, key, out_dir);
  if (got.ok()) return got;
  (void)remove_tree(out_dir);
  STRATA_TRY(degrade(std::move(got).error()));
  return std::optional<Digest>();
}

Result<std::optional<Digest>> RegistryCache::lookup(const std::string& package, const Digest& key) {
  std::lock_guard lock(mu_);
  if (disabled_) return std::optional<Digest>();
  if (options_.trusted.empty() && !options_.trust_unsigned) return std::optional<Digest>();
  Result<Lookup> found = read_entry(kPackageEntry, fmt::format("package '{}'", package), key,
                                    options_.trusted, options_.trust_unsigned, true);
  if (!found.ok()) {
    STRATA_TRY(degrade(std::move(found).error()));
    return std::optional<Digest>();
  }
  if (!found->entry) return std::optional<Digest>();
  if (options_.log) {
    options_.log(fmt::format(
        "package '{}': found in the {} ({}, {}; fetched only if a layer "
        "needs it)",
        package, where(), entry_tag(key), sources::human_size(found->entry->layer.size)));
  }
  return std::optional<Digest>(found->entry->content);
}

Result<std::optional<Digest>> RegistryCache::fetch_locked(const std::string& package,
                                                          const Digest& key,
                                                          const std::string& out_dir) {
  STRATA_TRY_ASSIGN(Lookup found, read_entry(kPackageEntry, fmt::format("package '{}'", package),
                                             key, options_.trusted, options_.trust_unsigned, true));
  if (!found.entry) return std::optional<Digest>();
  const Entry* entry = &*found.entry;
  const specs::RegistryRef& repo = options_.repository;
  std::string tag = entry_tag(key);
  // The layer into a temporary file (bounded by its descriptor), hashed as it arrives and
  // checked before anything is unpacked; apply_layer hashes the tar as it unpacks it.
  STRATA_TRY_ASSIGN(TempDir tmp, TempDir::create(options_.scratch_dir, "registry-cache-"));
  std::string blob = tmp.path() + "/layer";
  Digest downloaded;
  {
    STRATA_TRY_ASSIGN(UniqueFd fd, open_fd(blob, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    FileSink sink(fd.get());
    registry::HttpRequest get{
        .url = fmt::format("/v2/{}/blobs/{}", repo.repository, entry->layer.digest.str()),
        .max_response_bytes = entry->layer.size,
        .progress_label = fmt::format("cache {}", package)};
    STRATA_TRY_ASSIGN(registry::HttpResponse r, client_.send({.ref = &repo}, get, &sink));
    if (r.status != 200) {
      return Error::io(fmt::format("{} layer: {}", tag, registry::describe_status(r)));
    }
    STRATA_TRY(fd.close(blob));
    downloaded = sink.digest();
  }
  STRATA_TRY(make_dirs(out_dir));
  Result<void> applied =
      downloaded == entry->layer.digest
          ? environment::apply_layer(blob, out_dir, {.diff_id = entry->content})
          : Result<void>(Error(ErrorCode::kDigestMismatch,
                               fmt::format("layer {}: digest mismatch: expected {}, actual {}",
                                           blob, entry->layer.digest.str(), downloaded.str())));
  Result<Digest> tree =
      applied.ok() ? build::tree_digest(out_dir) : Result<Digest>(applied.error());
  if (!tree.ok() || *tree != entry->content) {
    STRATA_TRY(remove_tree(out_dir));
    warn(
        fmt::format("package '{}': {} entry {} ignored: its output does not match its "
                    "statement ({})",
                    package, where(), tag,
                    tree.ok() ? fmt::format("the tree is {}, the statement says {}", tree->str(),
                                            entry->content.str())
                              : tree.error().message()));
    return std::optional<Digest>();
  }
  if (options_.log) {
    options_.log(fmt::format("package '{}': taken from the {} ({}, {})", package, where(), tag,
                             sources::human_size(entry->layer.size)));
  }
  return std::optional<Digest>(*tree);
}

Result<void> RegistryCache::publish(const std::string& package, const Digest& key,
                                    const Json& preimage, const std::string& dir,
                                    const Digest& output) {
  std::lock_guard lock(mu_);
  if (disabled_) return Ok{};
  Result<void> done = publish_locked(package, key, preimage, dir, output);
  if (done.ok()) return done;
  return degrade(std::move(done).error());
}

Result<void> RegistryCache::publish_locked(const std::string& package, const Digest& key,
                                           const Json& preimage, const std::string& dir,
                                           const Digest& output) {
  std::string tag = entry_tag(key);
  // First writer wins: an entry for this key is never replaced; another output for it is a
  // finding about the package, not a cache error.
  auto compare = [&](const Entry& e) {
    if (e.content == output) return;
    warn(fmt::format(
        "package '{}' is not reproducible: the {} entry {} holds output {}, this build made {} "
        "(the first is kept)",
        package, where(), tag, e.content.str(), output.str()));
  };
  // Only an entry a key this build trusts (or signs with) vouches for is compared; whatever
  // is wrong with another was said when it was looked up. Either way it is not replaced.
  STRATA_TRY_ASSIGN(std::vector<attest::PublicKey> keys, writer_keys());
  std::string about = fmt::format("package '{}'", package);
  STRATA_TRY_ASSIGN(Lookup existing, read_entry(kPackageEntry, about, key, keys, false, false));
  if (existing.entry) compare(*existing.entry);
  if (existing.exists) return Ok{};
  if (!options_.sign_key) return Ok{};  // read-only: entries are written signed

  STRATA_TRY_ASSIGN(TempDir tmp, TempDir::create(options_.scratch_dir, "registry-cache-"));
  std::string blob = tmp.path() + "/layer";
  oci::Descriptor layer{kGzipLayer, {}, 0};
  {
    STRATA_TRY_ASSIGN(UniqueFd fd, open_fd(blob, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    GzipFileOutput out(fd.get());
    STRATA_TRY(out.start());
    STRATA_TRY_ASSIGN(Digest tar, write_directory_tar(dir, {.keep_modes = true}, 0, out));
    STRATA_TRY(out.finish());
    STRATA_TRY(fd.close(blob));
    if (tar != output) {
      return Error(ErrorCode::kInternal,
                   fmt::format("package '{}': its output changed while it was published", package));
    }
    layer.digest = out.digest();
    layer.size = out.size();
  }
  Json statement = {
      {"_type", "https://in-toto.io/Statement/v1"},
      {"subject",
       {{{"name", kPackageEntry.content_subject}, {"digest", {{"sha256", output.hex}}}},
        {{"name", "layer"}, {"digest", {{"sha256", layer.digest.hex}}}}}},
      {"predicateType", kEntryPredicateType},
      {"predicate",
       {{"package", package},
        {"key", key.str()},
        {"preimage", preimage},
        {"strataVersion", options_.strata_version}}}};
  STRATA_TRY_ASSIGN(Digest pushed, push_entry(kPackageEntry, key, statement, layer, blob,
                                              {{"dev.strata.package", package}}));
  // A writer that raced us to the tag: whoever's PUT landed last holds it; say so if its
  // output differs.
  STRATA_TRY_ASSIGN(Lookup after, read_entry(kPackageEntry, about, key, keys, false, false));
  if (after.entry && after.entry->manifest != pushed) compare(*after.entry);
  if (options_.log) {
    options_.log(fmt::format("package '{}': pushed to the {} ({}, {})", package, where(), tag,
                             sources::human_size(layer.size)));
  }
  return Ok{};
}

Result<std::optional<RemoteLayer>> RegistryCache::fetch_layer(const Digest& key,
                                                              const LayerBlob& tar,
                                                              std::string_view media_type, int fd,
                                                              const std::string& path) {
  std::lock_guard lock(mu_);
  if (disabled_) return std::optional<RemoteLayer>();
  if (options_.trusted.empty() && !options_.trust_unsigned) return std::optional<RemoteLayer>();
  Result<std::optional<RemoteLayer>> got = fetch_layer_locked(key, tar, media_type, fd, path);
  if (got.ok()) return got;
  STRATA_TRY(degrade(std::move(got).error()));
  return std::optional<RemoteLayer>();
}

Result<std::optional<RemoteLayer>> RegistryCache::fetch_layer_locked(const Digest& key,
                                                                     const LayerBlob& tar,
                                                                     std::string_view media_type,
                                                                     int fd,
                                                                     const std::string& path) {
  std::string about = fmt::format("layer {}", tar.diff_id.str());
  std::string tag = entry_tag(kLayerEntry, key);
  auto ignored = [&](const std::string& why) {
    warn(fmt::format("{}: {} entry {} ignored: {}", about, where(), tag, why));
    return std::optional<RemoteLayer>();
  };
  // The statement is about this layer: the DiffID computed here.
  auto check = [&](const Entry& e) -> std::optional<std::string> {
    if (e.content == tar.diff_id) return std::nullopt;
    return fmt::format("its statement is for DiffID {}", e.content.str());
  };
  std::optional<Entry> entry;
  STRATA_TRY_ASSIGN(std::optional<RemoteLayer> got,
                    take_layer_entry(kLayerEntry, about, key, media_type, fd, check, entry));
  if (!got) return got;
  const Entry& e = *entry;
  // The bytes decompress to exactly the tar made here from this build's entries, so the
  // layer's content is this build's whoever compressed it; the signature vouches for the
  // compressed form (the same compressor, the same bytes).
  Result<Digest> diff_id = decompressed_digest(path, tar.tar_size, tag + " layer");
  if (!diff_id.ok()) return ignored(diff_id.error().message());
  if (*diff_id != tar.diff_id) {
    return ignored(fmt::format("its blob decompresses to DiffID {}, not {}", diff_id->str(),
                               tar.diff_id.str()));
  }
  if (options_.log) {
    options_.log(fmt::format("{}: taken from the {} ({}, {})", about, where(), tag,
                             sources::human_size(e.layer.size)));
  }
  return got;
}

Result<std::optional<RemoteLayer>> RegistryCache::take_layer_entry(
    const EntryKind& kind, const std::string& about, const Digest& key, std::string_view media_type,
    int fd, const std::function<std::optional<std::string>(const Entry&)>& check,
    std::optional<Entry>& entry) {
  std::string tag = entry_tag(kind, key);
  STRATA_TRY_ASSIGN(Lookup found,
                    read_entry(kind, about, key, options_.trusted, options_.trust_unsigned, true));
  if (!found.entry) return std::optional<RemoteLayer>();
  const Entry& e = *found.entry;
  std::optional<std::string> wrong = check(e);
  if (!wrong && e.layer.media_type != media_type) {
    wrong = fmt::format("its layer is {}, not {}", e.layer.media_type, media_type);
  }
  if (wrong) {
    warn(fmt::format("{}: {} entry {} ignored: {}", about, where(), tag, *wrong));
    return std::optional<RemoteLayer>();
  }
  STRATA_TRY_ASSIGN(
      std::optional<RemoteLayer> got,
      download_layer(e, about, tag, fmt::format("cache layer {}", key.hex.substr(0, 12)), fd));
  if (got) entry = std::move(found.entry);
  return got;
}

Result<std::optional<RemoteLayer>> RegistryCache::download_layer(const Entry& e,
                                                                 const std::string& about,
                                                                 const std::string& tag,
                                                                 const std::string& label, int fd) {
  const specs::RegistryRef& repo = options_.repository;
  FileSink sink(fd);
  registry::HttpRequest get{
      .url = fmt::format("/v2/{}/blobs/{}", repo.repository, e.layer.digest.str()),
      .max_response_bytes = e.layer.size,
      .progress_label = label};
  STRATA_TRY_ASSIGN(registry::HttpResponse r, client_.send({.ref = &repo}, get, &sink));
  if (r.status != 200) {
    return Error::io(fmt::format("{} layer: {}", tag, registry::describe_status(r)));
  }
  Digest got = sink.digest();
  if (got != e.layer.digest || sink.size() != e.layer.size) {
    warn(fmt::format(
        "{}: {} entry {} ignored: its blob is {} ({} bytes), not the manifest's {} "
        "({} bytes)",
        about, where(), tag, got.str(), sink.size(), e.layer.digest.str(), e.layer.size));
    return std::optional<RemoteLayer>();
  }
  return std::optional<RemoteLayer>(RemoteLayer{.digest = got, .size = e.layer.size});
}

Result<void> RegistryCache::publish_layer(const Digest& key, const LayerBlob& blob,
                                          const std::string& path) {
  std::lock_guard lock(mu_);
  // Read-only builds leave layer entries alone: comparing a blob costs three requests per
  // layer and only says something about the compressor.
  if (disabled_ || !options_.sign_key) return Ok{};
  Result<void> done = publish_layer_locked(key, blob, path);
  if (done.ok()) return done;
  return degrade(std::move(done).error());
}

Result<void> RegistryCache::publish_layer_locked(const Digest& key, const LayerBlob& blob,
                                                 const std::string& path) {
  std::string about = fmt::format("layer {}", blob.diff_id.str());
  // The same key fixes the compressor and its settings, so another blob for it means the
  // compression is not deterministic: worth saying, and the first is kept.
  auto differs = [&](const Entry& e) -> std::optional<std::string> {
    if (e.layer.digest == blob.digest) return std::nullopt;
    return fmt::format(
        "{}: the {} entry {} holds blob {}, this build wrote {} from the same tar with the "
        "same compressor (the first is kept)",
        about, where(), entry_tag(kLayerEntry, key), e.layer.digest.str(), blob.digest.str());
  };
  return publish_blob_entry(
      kLayerEntry, key, about, blob, path,
      {{"mediaType", blob.media_type}, {"compressors", compressor_versions()}}, differs);
}

Result<void> RegistryCache::publish_blob_entry(
    const EntryKind& kind, const Digest& key, const std::string& about, const LayerBlob& blob,
    const std::string& path, Json predicate,
    const std::function<std::optional<std::string>(const Entry&)>& differs) {
  std::string tag = entry_tag(kind, key);
  auto compare = [&](const Entry& e) {
    if (std::optional<std::string> why = differs(e)) warn(*why);
  };
  STRATA_TRY_ASSIGN(std::vector<attest::PublicKey> keys, writer_keys());
  STRATA_TRY_ASSIGN(Lookup existing, read_entry(kind, about, key, keys, false, false));
  if (existing.entry) compare(*existing.entry);
  if (existing.exists) return Ok{};
  oci::Descriptor layer{blob.media_type, blob.digest, blob.size};
  predicate["key"] = key.str();
  predicate["strataVersion"] = options_.strata_version;
  Json statement = {{"_type", "https://in-toto.io/Statement/v1"},
                    {"subject",
                     {{{"name", kind.content_subject}, {"digest", {{"sha256", blob.diff_id.hex}}}},
                      {{"name", "layer"}, {"digest", {{"sha256", blob.digest.hex}}}}}},
                    {"predicateType", kind.predicate_type},
                    {"predicate", std::move(predicate)}};
  STRATA_TRY_ASSIGN(Digest pushed, push_entry(kind, key, statement, layer, path,
                                              {{"dev.strata.diff-id", blob.diff_id.str()}}));
  // A writer that raced us to the tag: whoever's PUT landed last holds it.
  STRATA_TRY_ASSIGN(Lookup after, read_entry(kind, about, key, keys, false, false));
  if (after.entry && after.entry->manifest != pushed) compare(*after.entry);
  if (options_.log) {
    options_.log(fmt::format("{}: pushed to the {} ({}, {})", about, where(), tag,
                             sources::human_size(blob.size)));
  }
  return Ok{};
}

namespace {

// Bounds what a statement may claim a layer decompresses to.
constexpr int64_t kMaxTarBytes = int64_t{1} << 40;

std::string inputs_about(const Digest& key) {
  return fmt::format("layer with inputs {}", key.hex.substr(0, 12));
}

}  // namespace

Result<std::optional<RemoteLayer>> RegistryCache::fetch_layer_by_inputs(const Digest& key,
                                                                        std::string_view media_type,
                                                                        int fd) {
  std::lock_guard lock(mu_);
  if (disabled_) return std::optional<RemoteLayer>();
  if (options_.trusted.empty() && !options_.trust_unsigned) return std::optional<RemoteLayer>();
  Result<std::optional<RemoteLayer>> got = fetch_by_inputs_locked(key, media_type, fd);
  if (got.ok()) return got;
  STRATA_TRY(degrade(std::move(got).error()));
  return std::optional<RemoteLayer>();
}

Result<std::optional<RemoteLayer>> RegistryCache::fetch_by_inputs_locked(
    const Digest& key, std::string_view media_type, int fd) {
  std::string about = inputs_about(key);
  std::string tag = entry_tag(kInputEntry, key);
  auto tar_size = [](const Entry& e) {
    return member(member(e.statement, "predicate"), "tarSize");
  };
  auto check = [&](const Entry& e) -> std::optional<std::string> {
    Json size = tar_size(e);
    if (size.is_number_integer() && size.get<int64_t>() >= 1024 &&
        size.get<int64_t>() <= kMaxTarBytes) {
      return std::nullopt;
    }
    return "its statement gives no tar size (or one out of bounds)";
  };
  std::optional<Entry> entry;
  STRATA_TRY_ASSIGN(std::optional<RemoteLayer> got,
                    take_layer_entry(kInputEntry, about, key, media_type, fd, check, entry));
  if (!got) return got;
  const Entry& e = *entry;
  got->diff_id = e.content;
  got->tar_size = tar_size(e).get<int64_t>();
  if (options_.log) {
    options_.log(fmt::format("{}: taken from the {} ({}, {})", about, where(), tag,
                             sources::human_size(e.layer.size)));
  }
  return got;
}

void RegistryCache::reject_layer_by_inputs(const Digest& key, const std::string& why) {
  warn(fmt::format("{}: {} entry {} ignored: {}", inputs_about(key), where(),
                   entry_tag(kInputEntry, key), why));
}

Result<void> RegistryCache::publish_layer_inputs(const Digest& key, const Json& inputs,
                                                 const LayerBlob& blob, const std::string& path) {
  std::lock_guard lock(mu_);
  if (disabled_ || !options_.sign_key) return Ok{};
  Result<void> done = publish_inputs_locked(key, inputs, blob, path);
  if (done.ok()) return done;
  return degrade(std::move(done).error());
}

Result<void> RegistryCache::publish_inputs_locked(const Digest& key, const Json& inputs,
                                                  const LayerBlob& blob, const std::string& path) {
  std::string about = inputs_about(key);
  // The same inputs made another tar: the layer is not reproducible from them (or the input
  // key misses something). The first is kept.
  auto differs = [&](const Entry& e) -> std::optional<std::string> {
    if (e.content == blob.diff_id) return std::nullopt;
    return fmt::format(
        "{} is not reproducible: the {} entry {} holds DiffID {}, this build made {} (the "
        "first is kept)",
        about, where(), entry_tag(kInputEntry, key), e.content.str(), blob.diff_id.str());
  };
  return publish_blob_entry(
      kInputEntry, key, about, blob, path,
      {{"inputs", inputs}, {"mediaType", blob.media_type}, {"tarSize", blob.tar_size}}, differs);
}

}  // namespace strata::builder::registry_cache
