#include "sandbox/internal/userns.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "builder/base/fs.h"

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
  // Exit code of the probe: 0 ok, else 10 * step + (errno clipped to 9), decoded below.
  pid_t pid = static_cast<pid_t>(::syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0));
  if (pid < 0) return Error::sys("fork the user namespace probe", errno);
  if (pid == 0) {
    int step = 1;
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0 && ++step &&
        write_text("/proc/self/setgroups", "deny") == 0 && ++step &&
        write_text("/proc/self/uid_map", uid_map.c_str()) == 0 &&
        write_text("/proc/self/gid_map", gid_map.c_str()) == 0 && ++step &&
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
        ::mount("tmpfs", "/tmp", "tmpfs", 0, nullptr) == 0)
      ::_exit(0);
    ::_exit(step * 32 + (errno < 32 ? errno : 31));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return Error::sys("wait for the user namespace probe", errno);
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Ok{};
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
  const char* steps[] = {"probe", "unshare(CLONE_NEWUSER)", "write setgroups",
                         "write uid_map/gid_map", "mount in the new namespace"};
  int step = code / 32;
  return userns_unavailable(steps[step < 5 ? step : 0], code % 32);
}

}  // namespace strata::sandbox::internal
