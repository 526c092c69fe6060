#include "builder/registry/credentials.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>

#include "builder/base/base64.h"
#include "builder/base/fd.h"
#include "builder/base/fs.h"
#include "builder/base/process.h"

namespace strata::builder::registry {
namespace {

constexpr int64_t kMaxAuthFileBytes = 1 << 20;
constexpr int64_t kMaxHelperOutputBytes = 1 << 20;
constexpr int kHelperTimeoutMs = 30'000;

bool is_docker_hub(std::string_view host) {
  return host == "docker.io" || host == "index.docker.io" || host == "registry-1.docker.io";
}

// An auths key as containers/image normalises it: no scheme; a legacy key with a scheme
// also loses its path ("https://index.docker.io/v1/" -> "index.docker.io"); Docker Hub's
// names become "docker.io".
std::string normalize_key(std::string_view key) {
  bool had_scheme = false;
  for (std::string_view scheme : {"https://", "http://"}) {
    if (key.starts_with(scheme)) {
      key.remove_prefix(scheme.size());
      had_scheme = true;
    }
  }
  if (had_scheme) key = key.substr(0, key.find('/'));
  while (key.ends_with('/')) key.remove_suffix(1);
  std::string_view host = key.substr(0, key.find('/'));
  if (is_docker_hub(host)) return "docker.io" + std::string(key.substr(host.size()));
  return std::string(key);
}

// "host/ns/repo", "host/ns", "host": most specific first. Docker's config knows hosts only.
std::vector<std::string> candidate_keys(std::string_view domain, std::string_view repository,
                                        bool docker) {
  std::string host = is_docker_hub(domain) ? "docker.io" : std::string(domain);
  std::vector<std::string> out;
  if (!docker) {
    std::string path = host + "/" + std::string(repository);
    for (;;) {
      out.push_back(path);
      size_t slash = path.rfind('/');
      if (slash == std::string::npos || slash <= host.size() - 1) break;
      path.resize(slash);
      if (path == host) break;
    }
  }
  out.push_back(host);
  return out;
}

// What a helper is asked for: Docker Hub's legacy URL, else the host.
std::string helper_server(std::string_view domain) {
  return is_docker_hub(domain) ? "https://index.docker.io/v1/" : std::string(domain);
}

Result<std::optional<Credentials>> from_entry(const Json& entry, const std::string& origin) {
  Credentials c{.origin = origin};
  std::string auth = string_member(entry, "auth");
  if (!auth.empty()) {
    std::optional<std::string> decoded = base64_decode(auth);
    size_t colon = decoded ? decoded->find(':') : std::string::npos;
    if (colon == std::string::npos) {
      return Error(ErrorCode::kSpec,
                   fmt::format("{}: \"auth\" is not base64 of \"user:password\"", origin));
    }
    c.username = decoded->substr(0, colon);
    c.password = decoded->substr(colon + 1);
  }
  c.identity_token = string_member(entry, "identitytoken");
  if (c.username.empty() && c.password.empty() && c.identity_token.empty())
    return std::optional<Credentials>();
  return std::optional<Credentials>(std::move(c));
}

Result<std::optional<Credentials>> from_helper(const std::string& name, std::string_view domain,
                                               const HelperRunner& helpers) {
  std::string server = helper_server(domain);
  std::string origin = "docker-credential-" + name;
  STRATA_TRY_ASSIGN_CONTEXT(std::optional<std::string> out, helpers(name, server), origin);
  if (!out) return std::optional<Credentials>();
  STRATA_TRY_ASSIGN(Json j, parse_json(*out, origin + " output"));
  Credentials c{.origin = origin};
  std::string user = string_member(j, "Username");
  std::string secret = string_member(j, "Secret");
  if (user == "<token>") {
    c.identity_token = secret;
  } else {
    c.username = user;
    c.password = secret;
  }
  if (c.username.empty() && c.password.empty() && c.identity_token.empty())
    return std::optional<Credentials>();
  return std::optional<Credentials>(std::move(c));
}

// The program's path on `path`, or empty.
std::string find_program(const std::string& name, const std::string& path) {
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return {};
}

Result<UniqueFd> memfd_with(std::string_view text) {
  int fd = ::memfd_create("strata-helper", MFD_CLOEXEC);
  if (fd < 0) return Error::sys("memfd_create", errno);
  UniqueFd out(fd);
  STRATA_TRY(write_all(fd, text, "the helper's input"));
  if (::lseek(fd, 0, SEEK_SET) != 0) return Error::sys("lseek", errno);
  return out;
}

// Reads the child's stdout until EOF, at most kMaxHelperOutputBytes, within the timeout.
Result<std::string> read_output(int fd, const std::string& program) {
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kHelperTimeoutMs);
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return Error::io(
          fmt::format("{} did not answer within {} s", program, kHelperTimeoutMs / 1000));
    }
    pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
    int rc = ::poll(&p, 1, static_cast<int>(left.count()));
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) return Error::sys("poll " + program, errno);
    if (rc == 0) continue;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::sys("read from " + program, errno);
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
    if (static_cast<int64_t>(out.size()) > kMaxHelperOutputBytes) {
      return Error::io(fmt::format("{} wrote more than {} bytes", program, kMaxHelperOutputBytes));
    }
  }
}

}  // namespace

std::vector<AuthFile> auth_files(const CredentialOptions& o) {
  if (!o.authfile.empty()) return {{o.authfile, false}};
  if (!o.registry_auth_file.empty()) return {{o.registry_auth_file, false}};
  std::vector<AuthFile> out;
  out.push_back({o.xdg_runtime_dir.empty() ? fmt::format("/run/containers/{}/auth.json", o.uid)
                                           : o.xdg_runtime_dir + "/containers/auth.json",
                 false});
  std::string config = !o.xdg_config_home.empty() ? o.xdg_config_home
                       : !o.home.empty()          ? o.home + "/.config"
                                                  : std::string();
  if (!config.empty()) out.push_back({config + "/containers/auth.json", false});
  if (!o.docker_config.empty()) {
    out.push_back({o.docker_config + "/config.json", true});
  } else if (!o.home.empty()) {
    out.push_back({o.home + "/.docker/config.json", true});
  }
  return out;
}

HelperRunner program_helper_runner(std::string path) {
  return [path = std::move(path)](const std::string& name,
                                  const std::string& server) -> Result<std::optional<std::string>> {
    std::string program = "docker-credential-" + name;
    std::string found = find_program(program, path);
    if (found.empty()) return Error::io(fmt::format("{} is not on PATH", program));
    STRATA_TRY_ASSIGN(UniqueFd in, memfd_with(server + "\n"));
    STRATA_TRY_ASSIGN(Pipe out_pipe, make_pipe());
    STRATA_TRY_ASSIGN(UniqueFd null_fd, open_fd("/dev/null", O_WRONLY));
    std::vector<std::string> env = {"PATH=" + path};
    if (const char* home = ::getenv("HOME")) env.push_back(std::string("HOME=") + home);
    STRATA_TRY_ASSIGN(ChildProcess child, spawn({.argv = {found, "get"},
                                                 .env = env,
                                                 .stdin_fd = in.get(),
                                                 .stdout_fd = out_pipe.write.get(),
                                                 .stderr_fd = null_fd.get()}));
    out_pipe.write = UniqueFd();
    Result<std::string> out = read_output(out_pipe.read.get(), program);
    if (!out.ok()) return std::move(out).error();  // the guard kills the helper
    STRATA_TRY_ASSIGN(ExitStatus status, child.wait());
    // Helpers exit non-zero with "credentials not found in native keychain" when they have
    // none: that is not an error, the next source is asked.
    if (status.signaled || status.code != 0) return std::optional<std::string>();
    return std::optional<std::string>(*std::move(out));
  };
}

Result<std::optional<Credentials>> lookup_credentials(const Json& document, const AuthFile& file,
                                                      std::string_view domain,
                                                      std::string_view repository,
                                                      const HelperRunner& helpers) {
  std::string host = is_docker_hub(domain) ? "docker.io" : std::string(domain);
  const Json& auths = member(document, "auths");
  if (auths.is_object()) {
    for (const std::string& want : candidate_keys(domain, repository, file.docker)) {
      for (const auto& [key, entry] : auths.items()) {
        if (normalize_key(key) != want || !entry.is_object()) continue;
        STRATA_TRY_ASSIGN(std::optional<Credentials> c,
                          from_entry(entry, fmt::format("{} (key \"{}\")", file.path, key)));
        // An entry without "auth" ({}) marks credentials a helper holds: go on to them.
        if (c) return c;
      }
    }
  }
  const Json& helpers_map = member(document, "credHelpers");
  if (helpers_map.is_object()) {
    for (const auto& [key, name] : helpers_map.items()) {
      if (normalize_key(key) == host && name.is_string()) {
        return from_helper(name.get<std::string>(), domain, helpers);
      }
    }
  }
  std::string store = string_member(document, "credsStore");
  if (!store.empty()) return from_helper(store, domain, helpers);
  return std::optional<Credentials>();
}

Result<std::optional<Credentials>> find_credentials(const CredentialOptions& options,
                                                    std::string_view domain,
                                                    std::string_view repository,
                                                    const HelperRunner& helpers) {
  for (const AuthFile& file : auth_files(options)) {
    struct stat st;
    if (::stat(file.path.c_str(), &st) != 0 && errno == ENOENT) continue;
    STRATA_TRY_ASSIGN(std::string text, read_file_limited(file.path, kMaxAuthFileBytes));
    STRATA_TRY_ASSIGN(Json doc, parse_json(text, file.path));
    STRATA_TRY_ASSIGN(std::optional<Credentials> c,
                      lookup_credentials(doc, file, domain, repository, helpers));
    if (c) return c;
  }
  return std::optional<Credentials>();
}

}  // namespace strata::builder::registry
