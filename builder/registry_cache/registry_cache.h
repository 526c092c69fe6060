// Package outputs shared through an OCI registry (docs/cache.md "A registry cache"): one
// immutable entry per cache key, tagged p-<key hex>, no shared index. An entry is an OCI
// artifact manifest (artifactType application/vnd.strata.package-output.v1) whose config is
// a DSSE envelope of an in-toto statement binding the key, its preimage, the output tree
// digest and the layer digest, and whose one layer is the output as a gzip strata-det/1 tar.
//
// Reading verifies, in order, before anything is used: the signature by a trusted key, the
// key in the statement against the key computed here, the manifest's layer against the
// statement, the layer blob's digest, then the unpacked tree's digest. An entry that fails
// any check is ignored with a warning naming the package and why, and the package is built.
// Writing needs a signing key; the first writer of a key wins, and a second build that made
// another output for the same key is reported as not reproducible. Registry failures warn
// once and switch the cache off for the rest of the build, unless it is required.
#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "attest/openssl.h"
#include "builder/build/remote_cache.h"
#include "builder/layer/layer_cache.h"
#include "builder/oci/image_config.h"
#include "builder/registry/client.h"
#include "builder/registry_cache/entry_statement.h"
#include "specs/registry_ref.h"

namespace strata::builder::registry_cache {

inline constexpr char kEnvelopeMediaType[] = "application/vnd.dsse.envelope.v1+json";

// "p-<key hex>": a package entry's tag; with a kind, "l-<key hex>" for a layer entry.
std::string entry_tag(const Digest& key);
std::string entry_tag(const EntryKind& kind, const Digest& key);

struct RegistryCacheOptions {
  specs::RegistryRef repository;               // docker://HOST/REPO (tag and digest unused)
  std::optional<attest::PrivateKey> sign_key;  // entries are written only with one
  std::vector<attest::PublicKey> trusted;      // entries are read only when one verifies
  bool trust_unsigned = false;                 // --cache-trust none: any entry is read
  bool required = false;                       // --cache-registry-required
  std::string scratch_dir;                     // temporaries (on the cache's filesystem)
  std::string strata_version;
  std::function<void(const std::string&)> warn;  // one line each
  std::function<void(const std::string&)> log;
  std::function<int64_t()> now_s;  // an entry's created annotation (for prune --older-than)
};

// Layers are also found by their inputs (docs/cache.md "Layers by their inputs"): entries
// tagged i-<input key hex>, the same blob under a statement of the inputs, read and written
// like the others; the caller checks the blob's DiffID as it reads it back.
//
// Layer entries (docs/cache.md "Layer blobs in a registry cache") are tagged l-<layer cache
// key hex> (layer_cache.h): an artifact manifest whose config is the signed statement of the
// key, the DiffID and the blob, and whose layer is the image layer blob itself, so a machine
// that finds one copies it instead of compressing. Read only when trusted, like package
// entries, and checked down to the DiffID of the blob's decompressed bytes.
class RegistryCache : public build::RemoteCache, public RemoteLayerCache {
 public:
  RegistryCache(registry::RegistryClient& client, RegistryCacheOptions options);

  Result<std::optional<Digest>> fetch(const std::string& package, const Digest& key,
                                      const std::string& out_dir) override;
  Result<std::optional<Digest>> lookup(const std::string& package, const Digest& key) override;
  Result<void> publish(const std::string& package, const Digest& key, const Json& preimage,
                       const std::string& dir, const Digest& output) override;
  build::RemoteEntries entries_of(const std::string& package, const Digest& key) override;
  Result<std::optional<RemoteLayer>> fetch_layer(const Digest& key, const LayerBlob& tar,
                                                 std::string_view media_type, int fd,
                                                 const std::string& path) override;
  Result<void> publish_layer(const Digest& key, const LayerBlob& blob,
                             const std::string& path) override;
  Result<std::optional<RemoteLayer>> fetch_layer_by_inputs(const Digest& key,
                                                           std::string_view media_type,
                                                           int fd) override;
  Result<void> publish_layer_inputs(const Digest& key, const Json& inputs, const LayerBlob& blob,
                                    const std::string& path) override;
  void reject_layer_by_inputs(const Digest& key, const std::string& why) override;

 private:
  struct Entry;
  struct Lookup;
  // The entry of `kind` tagged for `key`, its statement verified by one of `keys` (any
  // statement, unverified, with `accept_unsigned`). `exists` without `entry`: there is one,
  // but it is not usable (said in a warning about `about`, "package 'NAME'", when `report`).
  Result<Lookup> read_entry(const EntryKind& kind, const std::string& about, const Digest& key,
                            const std::vector<attest::PublicKey>& keys, bool accept_unsigned,
                            bool report);
  // The keys whose entries a writer compares with its own: the trusted ones and its own.
  Result<std::vector<attest::PublicKey>> writer_keys() const;
  // Signs `statement` and pushes an entry of `kind` for `key`: the envelope as config, the
  // blob at `path` as its one layer.
  Result<Digest> push_entry(const EntryKind& kind, const Digest& key, const Json& statement,
                            const oci::Descriptor& layer, const std::string& path,
                            Json annotations);
  Result<std::optional<RemoteLayer>> fetch_layer_locked(const Digest& key, const LayerBlob& tar,
                                                        std::string_view media_type, int fd,
                                                        const std::string& path);
  Result<void> publish_layer_locked(const Digest& key, const LayerBlob& blob,
                                    const std::string& path);
  // Pushes an entry of `kind` (l- or i-) for `key` whose layer is the image layer `blob` at
  // `path` and whose statement's predicate is `predicate` with the key and strata version,
  // unless the tag holds one already: first writer wins, and `differs` words a warning
  // about another writer's entry that is not this build's.
  Result<void> publish_blob_entry(
      const EntryKind& kind, const Digest& key, const std::string& about, const LayerBlob& blob,
      const std::string& path, Json predicate,
      const std::function<std::optional<std::string>(const Entry&)>& differs);
  Result<std::optional<RemoteLayer>> fetch_by_inputs_locked(const Digest& key,
                                                            std::string_view media_type, int fd);
  Result<void> publish_inputs_locked(const Digest& key, const Json& inputs, const LayerBlob& blob,
                                     const std::string& path);
  // The blob of the trusted entry of `kind` (l- or i-) for `key`, downloaded through `fd` and
  // checked against its manifest, when its layer is of `media_type` and `check` finds nothing
  // wrong with the entry (it returns why it cannot be used); else nullopt, warned about
  // `about`. `entry` receives the entry a blob came from.
  Result<std::optional<RemoteLayer>> take_layer_entry(
      const EntryKind& kind, const std::string& about, const Digest& key,
      std::string_view media_type, int fd,
      const std::function<std::optional<std::string>(const Entry&)>& check,
      std::optional<Entry>& entry);
  // A layer entry's blob downloaded through `fd`, its digest and size checked: nullopt (warned
  // about `about`) when it is not the one the manifest names.
  Result<std::optional<RemoteLayer>> download_layer(const Entry& e, const std::string& about,
                                                    const std::string& tag,
                                                    const std::string& label, int fd);
  Result<std::optional<Digest>> fetch_locked(const std::string& package, const Digest& key,
                                             const std::string& out_dir);
  Result<void> publish_locked(const std::string& package, const Digest& key, const Json& preimage,
                              const std::string& dir, const Digest& output);
  // A registry failure: an error when the cache is required, else a warning (once) and the
  // cache is off from now on.
  Result<void> degrade(Error e);
  void warn(const std::string& line) const;
  std::string where() const;

  registry::RegistryClient& client_;
  RegistryCacheOptions options_;
  std::mutex mu_;  // the scheduler's workers share one client
  bool disabled_ = false;
};

// An entry as `strata cache prune --registry` sees it.
struct EntryInfo {
  std::string tag;  // p-<key hex>, l-<key hex> or i-<key hex>
  Digest manifest;
  std::string package;               // a package entry's package; empty for a layer entry
  std::optional<int64_t> created_s;  // its org.opencontainers.image.created
};

// The repository's tags of the form p-, l- and i-<64 hex>, read with `Link` pagination, at most
// 100,000 (more is an error); none when the repository does not exist yet.
Result<std::vector<std::string>> list_entry_tags(registry::RegistryClient& client,
                                                 const specs::RegistryRef& repository);

// Every entry of the repository: the tags p-, l- and i-<64 hex> (the tag list read with `Link`
// pagination, at most 100,000 tags), each manifest fetched by tag and hashed; tags whose
// manifest is not a strata entry are left out.
Result<std::vector<EntryInfo>> list_entries(registry::RegistryClient& client,
                                            const specs::RegistryRef& repository);

// Deletes an entry's manifest by digest (DELETE /v2/REPO/manifests/DIGEST, which also
// untags it; Distribution needs storage.delete.enabled). Its blobs are left to the
// registry's garbage collection.
Result<void> delete_entry(registry::RegistryClient& client, const specs::RegistryRef& repository,
                          const Digest& manifest);

}  // namespace strata::builder::registry_cache
