// A package's cache key (docs/design.md "The pipeline" step 1): sha256 of the canonical JSON of
// everything that determines its output.
#pragma once

#include <map>
#include <string>

#include "builder/base/digest.h"
#include "builder/base/json.h"
#include "specs/spec.h"

namespace strata::builder::build {

inline constexpr char kDeterminismProfile[] = "strata-det/2";

struct CacheKeyInputs {
  Digest environment;  // see environment_digest()
  const specs::Package* package = nullptr;
  std::map<std::string, std::string> env;               // environment.env + package.env, merged
  std::map<std::string, const specs::Source*> sources;  // by name
  std::map<std::string, Digest> dependencies;           // dependency name -> output digest
};

// The JSON the key hashes, for `--explain`-style debugging and tests. Leaves out what does
// not change the output: timeout, license, the spec's file name and line numbers.
Json cache_key_document(const CacheKeyInputs& inputs);
Result<Digest> cache_key(const CacheKeyInputs& inputs);

// The build environment's identity. An image environment is its manifest digest. The host is
// not pinned by anything in the spec, so its identity is the digest of what describes the
// installed toolchain: the package database text main() reads (dpkg's status file, or
// /etc/os-release where there is none). Upgrading the host's compiler changes every key.
Digest environment_digest_for_image(const Digest& manifest);
Digest environment_digest_for_host(std::string_view host_description);
// A `rootfs: debs` environment is its lock section's digest (debian::environment_digest):
// sha256("debs " + that digest), so no host package enters a key.
Digest environment_digest_for_debs(const Digest& lock_environment);

}  // namespace strata::builder::build
