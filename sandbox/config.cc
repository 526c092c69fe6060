#include "sandbox/config.h"

#include <fmt/format.h>
#include <linux/capability.h>
#include <sys/stat.h>

#include <csignal>
#include <cstring>
#include <set>

#include "builder/base/fs.h"

namespace strata::sandbox {

std::string RunResult::describe() const {
  switch (status) {
    case Status::kExited:
      return fmt::format("exited with status {}", exit_code);
    case Status::kSignaled:
      return fmt::format("killed by signal {} ({})", signal, strsignal(signal));
    case Status::kTimedOut:
      return fmt::format("timed out after {} ms", duration_ms);
    case Status::kCancelled:
      return fmt::format("cancelled after {} ms", duration_ms);
  }
  return "unknown";
}

std::vector<int> default_capabilities() {
  return {CAP_CHOWN,  CAP_DAC_OVERRIDE,     CAP_FOWNER,  CAP_FSETID,     CAP_KILL,       CAP_SETGID,
          CAP_SETUID, CAP_NET_BIND_SERVICE, CAP_SETFCAP, CAP_SYS_CHROOT, CAP_AUDIT_WRITE};
}

namespace {

bool is_mapped(uint32_t id, const std::vector<IdMap>& maps) {
  if (maps.empty()) return id == 0;
  for (const IdMap& m : maps) {
    if (id >= m.inside && id - m.inside < m.count) return true;
  }
  return false;
}

void check_path(std::vector<std::string>& problems, std::string_view what,
                const std::string& path) {
  if (!normalize_absolute(path))
    problems.push_back(
        fmt::format("{} \"{}\": must be an absolute path without . or .. "
                    "components",
                    what, path));
}

void check_binds(const Config& config, std::vector<std::string>& problems) {
  for (const BindMount& bind : config.binds) {
    struct stat st {};
    if (bind.source.empty() || bind.source[0] != '/') {
      problems.push_back(fmt::format("bind source \"{}\": must be an absolute path", bind.source));
    } else if (::stat(bind.source.c_str(), &st) != 0) {
      problems.push_back(fmt::format("bind source {}: {}", bind.source, std::strerror(errno)));
    }
    std::optional<std::string> target = normalize_absolute(bind.target);
    if (!target) {
      check_path(problems, "bind target", bind.target);
    } else if (*target == "/" || is_within(*target, "/proc") || is_within(*target, "/dev")) {
      problems.push_back(
          fmt::format("bind target {}: must not be /, or under /proc or /dev", *target));
    }
  }
}

void check_env(const Config& config, std::vector<std::string>& problems) {
  std::set<std::string, std::less<>> keys;
  for (const std::string& entry : config.env) {
    size_t eq = entry.find('=');
    if (eq == 0 || eq == std::string::npos) {
      problems.push_back(fmt::format("environment entry \"{}\": must be KEY=VALUE", entry));
    } else if (!keys.insert(entry.substr(0, eq)).second) {
      problems.push_back(fmt::format("environment variable {} is set twice", entry.substr(0, eq)));
    }
  }
}

void check_ids(const Config& config, std::vector<std::string>& problems) {
  for (const auto* maps : {&config.uid_maps, &config.gid_maps}) {
    for (const IdMap& m : *maps) {
      if (m.count == 0) problems.push_back("id map with count 0");
    }
  }
  if (!is_mapped(config.uid, config.uid_maps))
    problems.push_back(fmt::format("uid {} is not mapped into the sandbox", config.uid));
  if (!is_mapped(config.gid, config.gid_maps))
    problems.push_back(fmt::format("gid {} is not mapped into the sandbox", config.gid));
  for (int cap : config.capabilities) {
    if (cap < 0 || cap > CAP_LAST_CAP)
      problems.push_back(fmt::format("capability {} is out of range", cap));
  }
}

}  // namespace

Result<void> validate_config(const Config& config) {
  std::vector<std::string> problems;
  if (config.argv.empty() || config.argv[0].empty()) problems.push_back("no command to run");
  if (!config.rootfs.empty()) {
    struct stat st {};
    if (config.rootfs[0] != '/') {
      problems.push_back(fmt::format("rootfs \"{}\": must be an absolute path", config.rootfs));
    } else if (::stat(config.rootfs.c_str(), &st) != 0) {
      problems.push_back(fmt::format("rootfs {}: {}", config.rootfs, std::strerror(errno)));
    } else if (!S_ISDIR(st.st_mode)) {
      problems.push_back(fmt::format("rootfs {}: not a directory", config.rootfs));
    }
  }
  if (config.rootfs_writable && (config.rootfs.empty() || !config.overlays.empty()))
    problems.push_back("a writable rootfs needs a rootfs directory and no overlays");
  if (config.rootfs_upper.empty() != config.rootfs_work.empty() ||
      (!config.rootfs_upper.empty() && !config.rootfs_writable))
    problems.push_back("rootfs_upper and rootfs_work go together, with rootfs_writable");
  for (const std::string& dir : config.overlays) {
    struct stat st {};
    if (dir.empty() || dir[0] != '/' || dir.find_first_of(":,") != std::string::npos) {
      problems.push_back(
          fmt::format("overlay \"{}\": must be an absolute path without ':' or ','", dir));
    } else if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      problems.push_back(fmt::format("overlay {}: not a directory", dir));
    }
  }
  check_binds(config, problems);
  check_env(config, problems);
  check_path(problems, "cwd", config.cwd);
  check_path(problems, "home", config.home);
  if (normalize_absolute(config.home) == "/") problems.push_back("home must not be /");
  if (config.hostname.empty() || config.hostname.size() > 64)
    problems.push_back("hostname must have 1 to 64 characters");
  check_ids(config, problems);
  if (config.limits.timeout_ms < 0 || config.limits.max_processes < 0 ||
      config.limits.max_file_size_bytes < 0)
    problems.push_back("limits must not be negative");
  if (config.limits.tmpfs_size_bytes <= 0) problems.push_back("tmpfs size must be positive");
  if (problems.empty()) return Ok{};
  std::string message = "invalid sandbox config: " + problems[0];
  for (size_t i = 1; i < problems.size(); ++i)
    message += "\ninvalid sandbox config: " + problems[i];
  return Error(ErrorCode::kUsage, message);
}

}  // namespace strata::sandbox
