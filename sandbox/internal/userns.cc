#include "sandbox/internal/userns.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "builder/base/fs.h"
#include "builder/base/process.h"

namespace strata::sandbox::internal {

namespace {

std::string sysctl(const char* path) {
  Result<std::string> value = read_file(path);
  if (!value.ok()) return "";
  std::string v = std::move(*value);
  while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.pop_back();
  return v;
}

std::string fix_hint() {
  if (sysctl("/proc/sys/kernel/unprivileged_userns_clone") == "0")
    return "enable them with `sysctl -w kernel.unprivileged_userns_clone=1`";
  if (sysctl("/proc/sys/user/max_user_namespaces") == "0")
    return "enable them with `sysctl -w user.max_user_namespaces=15000`";
  if (sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == "1")
    return "AppArmor restricts them: run `sysctl -w "
           "kernel.apparmor_restrict_unprivileged_userns=0` or give strata an AppArmor "
           "profile with `userns,`";
  return "check kernel.unprivileged_userns_clone, user.max_user_namespaces and (Ubuntu) "
         "kernel.apparmor_restrict_unprivileged_userns, and that no seccomp profile (e.g. a "
         "container's) blocks unshare/clone";
}

enum class ProbeStep : int32_t { kUnshare = 1, kSetgroups, kIdMaps, kMount };

const char* step_name(ProbeStep step) {
  switch (step) {
    case ProbeStep::kUnshare:
      return "unshare(CLONE_NEWUSER)";
    case ProbeStep::kSetgroups:
      return "write setgroups";
    case ProbeStep::kIdMaps:
      return "write uid_map/gid_map";
    case ProbeStep::kMount:
      return "mount in the new namespace";
  }
  return "probe";
}

int write_text(const char* path, const char* text) noexcept {
  int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = ::write(fd, text, std::strlen(text));
  int saved = errno;
  ::close(fd);
  errno = saved;
  return n < 0 ? -1 : 0;
}

}  // namespace

Error userns_unavailable(std::string_view what, int errnum) {
  return Error(ErrorCode::kUnsupported, fmt::format("user namespaces are unavailable ({}: {}); {}",
                                                    what, std::strerror(errnum), fix_hint()));
}

Result<void> probe_user_namespaces() {
  std::string uid_map = fmt::format("0 {} 1", ::geteuid());
  std::string gid_map = fmt::format("0 {} 1", ::getegid());
  // A child of its own: unshare(CLONE_NEWUSER) needs a single-threaded process.
  auto probe = [&]() noexcept -> std::optional<ChildFailure<ProbeStep>> {
    auto failed = [](ProbeStep step) { return ChildFailure<ProbeStep>{step, errno}; };
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) return failed(ProbeStep::kUnshare);
    if (write_text("/proc/self/setgroups", "deny") != 0) return failed(ProbeStep::kSetgroups);
    if (write_text("/proc/self/uid_map", uid_map.c_str()) != 0 ||
        write_text("/proc/self/gid_map", gid_map.c_str()) != 0)
      return failed(ProbeStep::kIdMaps);
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount("tmpfs", "/tmp", "tmpfs", 0, nullptr) != 0)
      return failed(ProbeStep::kMount);
    return std::nullopt;
  };
  STRATA_TRY_ASSIGN_CONTEXT(ChildResult<ProbeStep> result, run_in_child<ProbeStep>(probe),
                            "the user namespace probe");
  if (result.failure)
    return userns_unavailable(step_name(result.failure->step), result.failure->errnum);
  if (result.status.signaled || result.status.code != 0)
    return Error(ErrorCode::kSandbox, fmt::format("the user namespace probe ended with status {}",
                                                  result.status.shell_code()));
  return Ok{};
}

}  // namespace strata::sandbox::internal
