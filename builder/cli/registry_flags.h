// The registry flags of every command that may reach a registry (build, shell, verify, pin,
// pull), and the client they configure. The environment (credential files, PATH) is read
// here once, as main() reads everything from outside.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "builder/build/remote_cache.h"
#include "builder/layer/layer_cache.h"
#include "builder/registry/client.h"
#include "builder/registry/pull.h"
#include "specs/spec.h"

namespace strata::builder::cli {

struct RegistryFlags {
  std::string authfile;
  std::vector<std::string> insecure_registries;
  std::string cert_dir;
};

// Adds --authfile, --insecure-registry (repeatable) and --cert-dir to `cmd`.
void add_registry_flags(CLI::App* cmd, RegistryFlags& flags);

// The client's options: the flags, the credential files' environment, progress on a
// terminal and one log line per blob on stderr.
registry::RegistryOptions registry_options(const RegistryFlags& flags);

// A client with its own libcurl transport.
class RegistrySession {
 public:
  explicit RegistrySession(const RegistryFlags& flags);
  registry::RegistryClient& client() { return client_; }

 private:
  std::unique_ptr<registry::HttpTransport> transport_;
  registry::RegistryClient client_;
};

// A reference without a digest: its tag (podman's default: latest) resolved once, by the
// manifest bytes strata hashes itself, and said on stderr.
Result<void> resolve_tag(registry::RegistryClient& client, specs::RegistryRef& ref);

// --cache-registry and its keys (docs/cache.md "A registry cache"), on strata build.
struct CacheRegistryFlags {
  std::string repository;          // docker://HOST/REPO, or $STRATA_CACHE_REGISTRY
  std::string sign_key;            // --cache-sign-key: entries are written signed with it
  std::vector<std::string> trust;  // --cache-trust PUB (repeatable), or "none"
  bool required = false;           // --cache-registry-required
};
void add_cache_registry_flags(CLI::App* cmd, CacheRegistryFlags& flags);

// The registry cache of a build: its client, the cache the scheduler asks for package outputs
// and the one the layers stage asks for layer blobs (the same registry repository).
class CacheRegistrySession {
 public:
  static Result<std::unique_ptr<CacheRegistrySession>> open(const CacheRegistryFlags& flags,
                                                            const RegistryFlags& registry,
                                                            const std::string& cache_dir);
  build::RemoteCache* cache() { return cache_.get(); }
  RemoteLayerCache* layer_cache() { return layer_cache_; }

 private:
  CacheRegistrySession() = default;
  std::unique_ptr<RegistrySession> session_;
  std::unique_ptr<build::RemoteCache> cache_;
  RemoteLayerCache* layer_cache_ = nullptr;  // cache_, as the layers stage sees it
};

// Pulls the spec's docker:// images (or finds them in the cache under `cache_dir`; with
// `offline`, only there) and points its ImageRefs at the local layouts.
Result<void> pull_spec_images(specs::Spec& spec, const RegistryFlags& flags,
                              const std::string& cache_dir, bool offline);

}  // namespace strata::builder::cli
