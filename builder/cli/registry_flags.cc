#include "builder/cli/registry_flags.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>

#include "builder/cli/platform.h"
#include "builder/cli/progress.h"
#include "builder/sources/progress.h"

namespace strata::builder::cli {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

}  // namespace

void add_registry_flags(CLI::App* cmd, RegistryFlags& flags) {
  cmd->add_option("--authfile", flags.authfile,
                  "Registry credentials (auth.json); default: REGISTRY_AUTH_FILE, then "
                  "podman's and Docker's files")
      ->group("Registry");
  cmd->add_option("--insecure-registry", flags.insecure_registries,
                  "Allow plain HTTP for this registry HOST[:PORT] (loopback hosts always may)")
      ->group("Registry");
  cmd->add_option("--cert-dir", flags.cert_dir,
                  "CAs in DIR/HOST:PORT/*.crt instead of /etc/containers/certs.d and "
                  "/etc/docker/certs.d")
      ->group("Registry");
}

registry::RegistryOptions registry_options(const RegistryFlags& flags) {
  registry::RegistryOptions o{.insecure_registries = flags.insecure_registries,
                              .cert_dir = flags.cert_dir,
                              .credentials = {.authfile = flags.authfile,
                                              .registry_auth_file = env("REGISTRY_AUTH_FILE"),
                                              .xdg_runtime_dir = env("XDG_RUNTIME_DIR"),
                                              .xdg_config_home = env("XDG_CONFIG_HOME"),
                                              .home = env("HOME"),
                                              .docker_config = env("DOCKER_CONFIG"),
                                              .uid = ::getuid(),
                                              .path = env("PATH")}};
  o.log = [](const std::string& line) { print_progress_line("strata: " + line); };
  static std::unique_ptr<sources::TerminalProgress> progress =
      sources::TerminalProgress::for_terminal(STDERR_FILENO);
  o.progress = progress.get();
  return o;
}

RegistrySession::RegistrySession(const RegistryFlags& flags)
    : transport_(std::make_unique<registry::CurlTransport>()),
      client_(*transport_, registry_options(flags)) {}

Result<void> pull_spec_images(specs::Spec& spec, const RegistryFlags& flags,
                              const std::string& cache_dir, bool offline) {
  if (!registry::has_registry_images(spec)) return Ok{};
  RegistrySession session(flags);
  registry::PullOptions o{.cache_dir = cache_dir, .offline = offline};
  o.log = [](const std::string& line) { print_progress_line("strata: " + line); };
  return registry::resolve_spec_images(spec, &session.client(), o, host_architecture());
}

}  // namespace strata::builder::cli
