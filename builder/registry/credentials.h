// Registry credentials, found where podman and skopeo look (docs/registries.md
// "Credentials"): --authfile, REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json,
// ~/.config/containers/auth.json, $DOCKER_CONFIG/config.json or ~/.docker/config.json, with
// their credHelpers and credsStore (docker-credential-NAME get).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "builder/base/json.h"
#include "builder/base/result.h"

namespace strata::builder::registry {

struct Credentials {
  std::string username;
  std::string password;
  std::string identity_token;  // an OAuth2 refresh token (docker login's "identitytoken")
  std::string origin;          // where they came from, for messages: a file or a helper
};

// What main() read once from the command line and the environment.
struct CredentialOptions {
  std::string authfile;            // --authfile: the only file read when set
  std::string registry_auth_file;  // $REGISTRY_AUTH_FILE: the same
  std::string xdg_runtime_dir;     // else /run/containers/UID
  std::string xdg_config_home;     // else HOME/.config
  std::string home;
  std::string docker_config;  // $DOCKER_CONFIG: a directory holding config.json
  uid_t uid = 0;
  std::string path;  // $PATH, searched for docker-credential-NAME
};

// The files read, in order: one when --authfile or REGISTRY_AUTH_FILE is set, else the chain.
// The last one is Docker's (its keys are hosts only; the others may name host/ns/repo).
struct AuthFile {
  std::string path;
  bool docker = false;
};
std::vector<AuthFile> auth_files(const CredentialOptions& options);

// Runs `docker-credential-NAME get` with `server` on stdin and returns its stdout; nullopt
// when the helper has no credentials for it. Tests replace it.
using HelperRunner = std::function<Result<std::optional<std::string>>(const std::string& name,
                                                                      const std::string& server)>;

// The helper runner that searches `path` and runs the program (at most 30 s, 1 MiB of output).
HelperRunner program_helper_runner(std::string path);

// The credentials one parsed auth.json or config.json holds for `domain`/`repository`:
// the most specific "auths" key first (host/ns/repo, host/ns, host; then legacy
// "https://host/v1/" forms; Docker Hub under every name it goes by), then credHelpers[host],
// then credsStore. An "auths" entry without "auth" defers to the helpers. `file` names the
// document in messages.
Result<std::optional<Credentials>> lookup_credentials(const Json& document, const AuthFile& file,
                                                      std::string_view domain,
                                                      std::string_view repository,
                                                      const HelperRunner& helpers);

// Walks auth_files(): the first file with credentials for the image wins. A missing file is
// skipped; an unreadable or malformed one is an error naming it.
Result<std::optional<Credentials>> find_credentials(const CredentialOptions& options,
                                                    std::string_view domain,
                                                    std::string_view repository,
                                                    const HelperRunner& helpers);

}  // namespace strata::builder::registry
