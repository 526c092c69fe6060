#include "builder/check/launcher.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "builder/base/check.h"
#include "builder/base/fd.h"

namespace strata::builder {

Result<int> ForkExecLauncher::run(const ProcessSpec& spec) {
  STRATA_CHECK(!spec.argv.empty());
  // Everything the child touches is prepared before fork: it may only make syscalls.
  std::vector<char*> argv;
  for (const std::string& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : spec.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (std::string& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  STRATA_TRY_ASSIGN(UniqueFd in, open_fd("/dev/null", O_RDONLY));
  STRATA_TRY_ASSIGN(UniqueFd out, open_fd(spec.stdout_path, O_WRONLY | O_CREAT | O_TRUNC, 0600));
  STRATA_TRY_ASSIGN(UniqueFd err, open_fd(spec.stderr_path, O_WRONLY | O_CREAT | O_TRUNC, 0600));
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return Error::sys("pipe2", errno);
  UniqueFd report_read(report[0]);
  UniqueFd report_write(report[1]);
  pid_t pid = ::fork();
  if (pid < 0) return Error::sys("fork", errno);
  if (pid == 0) {
    // The child: dup2 clears FD_CLOEXEC on 0-2; every other descriptor closes on exec. A
    // failure is reported as {step, errno} through the pipe; EOF means exec succeeded.
    int record[2] = {0, 0};
    if (::dup2(in.get(), 0) < 0 || ::dup2(out.get(), 1) < 0 || ::dup2(err.get(), 2) < 0) {
      record[0] = 1;
    } else if (::umask(static_cast<mode_t>(spec.umask)), ::chdir(spec.cwd.c_str()) != 0) {
      record[0] = 2;
    } else {
      ::execve(argv[0], argv.data(), envp.data());
      record[0] = 3;
    }
    record[1] = errno;
    ssize_t ignored = ::write(report_write.get(), record, sizeof record);
    (void)ignored;
    ::_exit(127);
  }
  report_write = UniqueFd();
  int record[2] = {0, 0};
  ssize_t n;
  do {
    n = ::read(report_read.get(), record, sizeof record);
  } while (n < 0 && errno == EINTR);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return Error::sys("waitpid", errno);
  }
  if (n == static_cast<ssize_t>(sizeof record)) {
    std::string what = record[0] == 1   ? std::string("dup2")
                       : record[0] == 2 ? "chdir " + spec.cwd
                                        : "execve " + spec.argv[0];
    return Error::sys(what, record[1]);
  }
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

}  // namespace strata::builder
