// The registry flags of every command that may reach a registry (build, shell, verify, pin,
// pull), and the client they configure. The environment (credential files, PATH) is read
// here once, as main() reads everything from outside.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

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

// Pulls the spec's docker:// images (or finds them in the cache under `cache_dir`; with
// `offline`, only there) and points its ImageRefs at the local layouts.
Result<void> pull_spec_images(specs::Spec& spec, const RegistryFlags& flags,
                              const std::string& cache_dir, bool offline);

}  // namespace strata::builder::cli
