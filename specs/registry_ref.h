// Registry image references (docs/registries.md): "docker://HOST[:PORT]/REPO[:TAG]@sha256:HEX",
// the containers-transport form skopeo and podman use, so a registry image is never mistaken
// for a local layout path such as "out/busybox@sha256:…". One normaliser for every name
// strata reads or prints: Docker Hub's aliases, "library/" for single-component names, and
// the rule that a first component is a host only if it has '.' or ':' or is "localhost".
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "builder/base/digest.h"
#include "builder/base/result.h"

namespace strata::specs {

inline constexpr std::string_view kDockerTransport = "docker://";
// What Docker Hub's names normalise to, and the host its API answers on.
inline constexpr std::string_view kDockerHubDomain = "docker.io";
inline constexpr std::string_view kDockerHubApiHost = "registry-1.docker.io";

struct RegistryRef {
  std::string domain;      // "docker.io", "ghcr.io", "127.0.0.1:5000", "[::1]:5000"
  std::string repository;  // "library/debian", "org/app"
  std::string tag;         // empty when none was written
  std::optional<Digest> digest;

  // Where the API is: registry-1.docker.io for docker.io, the domain otherwise.
  std::string api_host() const;
  // "docker.io/library/debian"
  std::string name() const { return domain + "/" + repository; }
  // "docker.io/library/debian:12@sha256:…" (tag and digest when set)
  std::string str() const;
  // The host part of the domain without the port: "127.0.0.1", "::1", "docker.io".
  std::string host() const;
  bool operator==(const RegistryRef&) const = default;
};

// Whether `text` starts with "docker://".
bool has_docker_transport(std::string_view text);

// Parses a reference with or without the "docker://" prefix and normalises it:
// "debian" -> docker.io/library/debian, "index.docker.io/x/y" -> docker.io/x/y,
// "localhost:5000/app:1" keeps its host. The repository follows the distribution grammar
// (lowercase components separated by '/', '.', '_', "__" or dashes; at most 255 characters
// with the domain), the tag [A-Za-z0-9_][A-Za-z0-9._-]{0,127}, the digest sha256:<64 hex>.
// Errors say what was wrong and show the form: "'X' is not a registry image like
// \"docker://HOST/REPO[:TAG]@sha256:<64 hex>\": the tag ... ".
Result<RegistryRef> parse_registry_ref(std::string_view text);

}  // namespace strata::specs
