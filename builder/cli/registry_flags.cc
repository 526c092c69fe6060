#include "builder/cli/registry_flags.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>

#include "builder/base/fs.h"
#include "builder/cli/keys.h"
#include "builder/cli/platform.h"
#include "builder/cli/progress.h"
#include "builder/registry_cache/registry_cache.h"
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

Result<void> resolve_tag(registry::RegistryClient& client, specs::RegistryRef& ref) {
  if (ref.digest) return Ok{};
  if (ref.tag.empty()) ref.tag = "latest";
  STRATA_TRY_ASSIGN(registry::FetchedManifest m, registry::fetch_manifest(client, ref, ref.tag));
  ref.digest = m.digest;
  fmt::print(stderr, "resolved docker://{}:{} to {}\n", ref.name(), ref.tag, m.digest.str());
  return Ok{};
}

void add_cache_registry_flags(CLI::App* cmd, CacheRegistryFlags& flags) {
  cmd->add_option("--cache-registry", flags.repository,
                  "Share package outputs and layers through this registry repository "
                  "(docker://HOST/REPO; default $STRATA_CACHE_REGISTRY)")
      ->envname("STRATA_CACHE_REGISTRY")
      ->group("Registry cache");
  cmd->add_option("--cache-sign-key", flags.sign_key,
                  "Push each package and layer made here as an entry signed with this private key "
                  "(PEM)")
      ->group("Registry cache");
  cmd->add_option("--cache-trust", flags.trust,
                  "Use entries signed by this public key (PEM; repeatable), or 'none' to use "
                  "unsigned entries too")
      ->group("Registry cache");
  cmd->add_flag("--cache-registry-required", flags.required,
                "Fail the build when the registry cache cannot be read or written (default: "
                "warn once and build without it)")
      ->group("Registry cache");
}

Result<std::unique_ptr<CacheRegistrySession>> CacheRegistrySession::open(
    const CacheRegistryFlags& flags, const RegistryFlags& registry_flags,
    const std::string& cache_dir) {
  if (flags.repository.empty()) {
    if (!flags.sign_key.empty() || !flags.trust.empty() || flags.required) {
      return Error(ErrorCode::kUsage,
                   "--cache-sign-key, --cache-trust and --cache-registry-required need "
                   "--cache-registry docker://HOST/REPO");
    }
    return std::unique_ptr<CacheRegistrySession>();
  }
  STRATA_TRY_ASSIGN(specs::RegistryRef repo, specs::parse_registry_ref(flags.repository));
  if (repo.digest || !repo.tag.empty()) {
    return Error(ErrorCode::kUsage,
                 fmt::format("--cache-registry {}: name a repository (docker://HOST/REPO), "
                             "without a tag or digest",
                             flags.repository));
  }
  registry_cache::RegistryCacheOptions o{.repository = std::move(repo),
                                         .scratch_dir = cache_dir + "/packages/tmp",
                                         .strata_version = STRATA_VERSION};
  if (flags.sign_key.empty() && flags.trust.empty()) {
    return Error(ErrorCode::kUsage,
                 "--cache-registry needs --cache-trust PUB (or none) to read entries, "
                 "--cache-sign-key KEY to write them, or both");
  }
  if (!flags.sign_key.empty()) {
    STRATA_TRY_ASSIGN(o.sign_key, load_private_key("--cache-sign-key", flags.sign_key));
  }
  for (const std::string& t : flags.trust) {
    if (t == "none") {
      o.trust_unsigned = true;
      continue;
    }
    STRATA_TRY_ASSIGN(attest::PublicKey key, load_public_key("--cache-trust", t));
    o.trusted.push_back(std::move(key));
  }
  o.required = flags.required;
  o.now_s = [] { return static_cast<int64_t>(std::time(nullptr)); };
  o.warn = [](const std::string& line) { print_progress_line("warning: " + line); };
  o.log = [](const std::string& line) { print_progress_line("strata: " + line); };
  STRATA_TRY(make_dirs(o.scratch_dir));
  auto out = std::unique_ptr<CacheRegistrySession>(new CacheRegistrySession());
  out->session_ = std::make_unique<RegistrySession>(registry_flags);
  auto cache =
      std::make_unique<registry_cache::RegistryCache>(out->session_->client(), std::move(o));
  out->layer_cache_ = cache.get();
  out->cache_ = std::move(cache);
  return out;
}

Result<void> pull_spec_images(specs::Spec& spec, const RegistryFlags& flags,
                              const std::string& cache_dir, bool offline) {
  if (!registry::has_registry_images(spec)) return Ok{};
  RegistrySession session(flags);
  registry::PullOptions o{.cache_dir = cache_dir, .offline = offline};
  o.log = [](const std::string& line) { print_progress_line("strata: " + line); };
  return registry::resolve_spec_images(spec, &session.client(), o, host_architecture());
}

}  // namespace strata::builder::cli
