#include "builder/base/process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "builder/base/fd.h"
#include "builder/base/fs.h"

namespace strata {
namespace {

ExitStatus run_shell(const std::string& script, SpawnOptions options = {}) {
  options.argv = {"/bin/sh", "-c", script};
  Result<ChildProcess> child = spawn(options);
  EXPECT_TRUE(child.ok()) << child.error().to_string();
  if (!child.ok()) return {.code = -1};
  Result<ExitStatus> status = child->wait();
  EXPECT_TRUE(status.ok()) << status.error().to_string();
  return status.ok() ? *status : ExitStatus{.code = -1};
}

TEST(Spawn, ReportsTheExitCode) {
  ExitStatus status = run_shell("exit 3");
  EXPECT_FALSE(status.signaled);
  EXPECT_EQ(status.code, 3);
  EXPECT_EQ(status.shell_code(), 3);
}

TEST(Spawn, ReportsTheSignalThatKilledIt) {
  ExitStatus status = run_shell("kill -TERM $$");
  EXPECT_TRUE(status.signaled);
  EXPECT_EQ(status.signal, SIGTERM);
  EXPECT_EQ(status.shell_code(), 128 + SIGTERM);
}

TEST(Spawn, GivesTheProgramExactlyItsEnvironmentCwdUmaskAndStdout) {
  auto dir = TempDir::create("/tmp", "strata-process-test-");
  ASSERT_TRUE(dir.ok());
  std::string out_path = dir->path() + "/out";
  Result<UniqueFd> out = open_fd(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT_TRUE(out.ok());
  ExitStatus status = run_shell(
      "echo \"$GREETING\" \"${HOME-unset}\"; pwd; umask",
      {.env = {"GREETING=hello"}, .cwd = dir->path(), .umask = 027, .stdout_fd = out->get()});
  EXPECT_EQ(status.code, 0);
  EXPECT_EQ(*read_file(out_path), "hello unset\n" + dir->path() + "\n0027\n");
}

TEST(Spawn, ExecFailureNamesThePathAndErrno) {
  Result<ChildProcess> child = spawn({.argv = {"/nonexistent/strata-no-such-program"}});
  ASSERT_FALSE(child.ok());
  EXPECT_EQ(child.error().to_string(),
            "execve /nonexistent/strata-no-such-program: No such file or directory");
  EXPECT_EQ(child.error().code(), ErrorCode::kIo);
  EXPECT_EQ(child.error().sys_errno(), ENOENT);
}

TEST(Spawn, ErrnoAbove31SurvivesTheRecord) {
  // A component longer than NAME_MAX: execve fails with ENAMETOOLONG (36).
  std::string path = "/tmp/" + std::string(300, 'x');
  Result<ChildProcess> child = spawn({.argv = {path}});
  ASSERT_FALSE(child.ok());
  EXPECT_EQ(child.error().to_string(), "execve " + path + ": File name too long");
  EXPECT_EQ(child.error().sys_errno(), ENAMETOOLONG);
}

TEST(Spawn, ChdirFailureNamesTheDirectory) {
  Result<ChildProcess> child =
      spawn({.argv = {"/bin/true"}, .cwd = "/nonexistent/strata-no-such-dir"});
  ASSERT_FALSE(child.ok());
  EXPECT_EQ(child.error().to_string(),
            "chdir /nonexistent/strata-no-such-dir: No such file or directory");
  EXPECT_EQ(child.error().sys_errno(), ENOENT);
}

TEST(Spawn, NoInheritedDescriptorReachesTheProgram) {
  // Opened without O_CLOEXEC, as another thread or library might.
  int leaked = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(leaked, 3);
  UniqueFd owner(leaked);
  ExitStatus status = run_shell(fmt::format("[ -e /proc/self/fd/{} ]", leaked));
  EXPECT_EQ(status.code, 1) << "fd " << leaked << " leaked into the child";
  // The same descriptor given as stdin does reach it, as fd 0.
  status = run_shell("[ -e /proc/self/fd/0 ]", {.stdin_fd = leaked});
  EXPECT_EQ(status.code, 0);
}

TEST(ChildProcess, KillsAndReapsASleepingChildWhenDropped) {
  pid_t pid = -1;
  {
    Result<ChildProcess> child = spawn({.argv = {"/bin/sleep", "100"}});
    ASSERT_TRUE(child.ok()) << child.error().to_string();
    pid = child->pid();
    ASSERT_EQ(::kill(pid, 0), 0);
  }
  // Reaped, not just killed: a zombie would still answer kill(pid, 0).
  EXPECT_EQ(::kill(pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
}

TEST(ChildProcess, ReleasedChildIsLeftAlone) {
  Result<ChildProcess> child = spawn({.argv = {"/bin/sleep", "100"}});
  ASSERT_TRUE(child.ok());
  ChildProcess moved = *std::move(child);
  pid_t pid = moved.release();
  EXPECT_FALSE(moved.valid());
  EXPECT_EQ(::kill(pid, 0), 0);
  ChildProcess reaper(pid);  // the test's own guard
}

enum class ProbeStep : int32_t { kFirst = 1, kSecond };

TEST(RunInChild, ReportsTheStepAndAnErrnoAbove31) {
  auto fn = []() noexcept -> std::optional<ChildFailure<ProbeStep>> {
    return ChildFailure<ProbeStep>{ProbeStep::kSecond, EUSERS};
  };
  Result<ChildResult<ProbeStep>> result = run_in_child<ProbeStep>(fn);
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  ASSERT_TRUE(result->failure.has_value());
  EXPECT_EQ(result->failure->step, ProbeStep::kSecond);
  EXPECT_EQ(result->failure->errnum, EUSERS);
  EXPECT_STREQ(std::strerror(result->failure->errnum), "Too many users");
  EXPECT_EQ(result->status.code, 127);
}

TEST(RunInChild, SuccessExitsZeroWithNoFailure) {
  int calls_in_parent = 0;
  auto fn = [&calls_in_parent]() noexcept -> std::optional<ChildFailure<ProbeStep>> {
    ++calls_in_parent;  // the child's copy: the parent's stays 0
    return std::nullopt;
  };
  Result<ChildResult<ProbeStep>> result = run_in_child<ProbeStep>(fn);
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  EXPECT_FALSE(result->failure.has_value());
  EXPECT_EQ(result->status.code, 0);
  EXPECT_EQ(calls_in_parent, 0);
}

}  // namespace
}  // namespace strata
