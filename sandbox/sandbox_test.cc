#include "sandbox/sandbox.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "builder/base/fs.h"
#include "tests/support/host_probe.h"
#include "tests/support/test_util.h"

namespace strata::sandbox {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

class Sandbox : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = testing::sandbox_unavailable(); !why.empty()) GTEST_SKIP() << why;
    out_path_ = dir_.path() + "/out";
    err_path_ = dir_.path() + "/err";
  }

  Config shell(const std::string& script) {
    Config config;
    config.argv = {"sh", "-c", script};
    config.env = {"PATH=/usr/bin:/bin"};
    return config;
  }

  // Runs with stdout and stderr in files; returns the result.
  Result<RunResult> run(Config config) {
    FILE* out = std::fopen(out_path_.c_str(), "w");
    FILE* err = std::fopen(err_path_.c_str(), "w");
    config.stdout_fd = fileno(out);
    config.stderr_fd = fileno(err);
    Result<RunResult> result = run_sandboxed(config);
    std::fclose(out);
    std::fclose(err);
    return result;
  }

  std::string error_of(Config config) {
    Result<RunResult> result = run(std::move(config));
    EXPECT_FALSE(result.ok());
    return result.ok() ? "" : result.error().message();
  }

  TempDir dir_ = testing::make_temp_dir("strata-sandbox-test-");
  std::string out_path_, err_path_;
};

TEST_F(Sandbox, PassesTheExitStatusThrough) {
  Result<RunResult> result = run(shell("exit 7"));
  ASSERT_TRUE(result.ok()) << result.error().message();
  EXPECT_EQ(result->status, RunResult::Status::kExited);
  EXPECT_EQ(result->exit_code, 7);
}

TEST_F(Sandbox, ReportsTheKillingSignal) {
  Result<RunResult> result = run(shell("kill -TERM $$"));
  ASSERT_TRUE(result.ok()) << result.error().message();
  EXPECT_EQ(result->status, RunResult::Status::kSignaled);
  EXPECT_EQ(result->signal, SIGTERM);
}

TEST_F(Sandbox, ReportsATimeoutDistinctly) {
  Config config = shell("sleep 30");
  config.limits.timeout_ms = 200;
  Result<RunResult> result = run(config);
  ASSERT_TRUE(result.ok()) << result.error().message();
  EXPECT_EQ(result->status, RunResult::Status::kTimedOut);
  EXPECT_GE(result->duration_ms, 200);
  EXPECT_LT(result->duration_ms, 5000);
}

TEST_F(Sandbox, CancelKillsTheWholeRunPromptly) {
  // A child that ignores SIGTERM and a grandchild: both die with the pid namespace.
  Config config = shell("trap '' TERM; sleep 30 & sleep 30");
  std::atomic<bool> cancel = false;
  config.cancel = &cancel;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    cancel = true;
  });
  Result<RunResult> result = run(config);
  canceller.join();
  ASSERT_TRUE(result.ok()) << result.error().message();
  EXPECT_EQ(result->status, RunResult::Status::kCancelled);
  EXPECT_GE(result->duration_ms, 200);
  EXPECT_LT(result->duration_ms, 5000);
  EXPECT_EQ(result->describe().rfind("cancelled after", 0), 0u) << result->describe();
}

TEST_F(Sandbox, StdinIsDevNullThatScriptsCanDuplicate) {
  // autoconf's configure opens with `exec 7<&0 </dev/null`, libtool duplicates fd 0 too.
  Result<RunResult> result =
      run(shell("exec 7<&0 </dev/null && readlink /proc/self/fd/0 && readlink /proc/self/fd/7 && "
                "(exec 5<&0) && read -r line; echo \"read=$?\""));
  ASSERT_TRUE(result.ok()) << result.error().message();
  EXPECT_EQ(result->exit_code, 0) << slurp(err_path_);
  EXPECT_EQ(slurp(out_path_), "/dev/null\n/dev/null\nread=1\n");
  EXPECT_EQ(slurp(err_path_), "");
}

TEST_F(Sandbox, OutputGoesToTheCallerAndTheLog) {
  Config config = shell("echo to-out; echo to-err >&2");
  config.log_path = dir_.path() + "/step.log";
  Result<RunResult> result = run(config);
  ASSERT_TRUE(result.ok()) << result.error().message();
  EXPECT_EQ(slurp(out_path_), "to-out\n");
  EXPECT_EQ(slurp(err_path_), "to-err\n");
  std::string log = slurp(config.log_path);
  EXPECT_NE(log.find("to-out\n"), std::string::npos);
  EXPECT_NE(log.find("to-err\n"), std::string::npos);
}

TEST_F(Sandbox, FileSizeLimitStopsLargeWrites) {
  Config config;
  config.argv = {"/usr/bin/head", "-c", "65536", "/dev/zero"};
  config.limits.max_file_size_bytes = 4096;
  Result<RunResult> result = run(config);
  ASSERT_TRUE(result.ok()) << result.error().message();
  EXPECT_EQ(result->status, RunResult::Status::kSignaled);
  EXPECT_EQ(result->signal, SIGXFSZ);
  EXPECT_EQ(std::filesystem::file_size(out_path_), 4096u);
}

TEST_F(Sandbox, SetupFailuresNameStepPathAndErrno) {
  Config config = shell("true");
  config.cwd = "/nonexistent";
  EXPECT_EQ(error_of(config), "sandbox setup: chdir /nonexistent: No such file or directory");
  config = shell("true");
  config.binds = {{.source = dir_.path(), .target = "/usr/strata-no-mount-point"}};
  EXPECT_EQ(error_of(config),
            "sandbox setup: create mount point for /usr/strata-no-mount-point: Read-only file "
            "system");
  config = shell("true");
  config.argv = {"strata-no-such-program"};
  EXPECT_EQ(error_of(config), "sandbox setup: execve strata-no-such-program: not found in PATH");
  config.argv = {"/etc/passwd"};
  EXPECT_EQ(error_of(config), "sandbox setup: execve /etc/passwd: Permission denied");
  // The kill guard: nothing is left to reap after a failure.
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

TEST_F(Sandbox, InvalidConfigIsRejectedBeforeAnythingRuns) {
  Config config = shell("true");
  config.env.push_back("BROKEN");
  EXPECT_EQ(error_of(config),
            "invalid sandbox config: environment entry \"BROKEN\": must be KEY=VALUE");
}

TEST_F(Sandbox, DirectoryRootfsGetsGeneratedEtcAndCallerBinds) {
  std::string root = dir_.path() + "/rootfs";
  std::filesystem::create_directories(root + "/usr");
  std::filesystem::create_directories(root + "/etc");
  std::filesystem::create_directories(root + "/work");
  for (const char* link : {"bin", "lib", "lib64"})
    std::filesystem::create_directory_symlink(std::string("usr/") + link, root + "/" + link);
  std::ofstream(root + "/etc/passwd") << "image:x:0:0::/:/bin/false\n";
  std::ofstream(root + "/etc/os-release") << "ID=strata-test\n";
  std::string data = dir_.path() + "/data";
  std::filesystem::create_directories(data);
  ::chmod(data.c_str(), 0777);
  Config config = shell(
      "cat /etc/os-release && head -1 /etc/passwd && echo made > /build/data/file && ls /build");
  config.rootfs = root;
  config.binds = {{.source = "/usr", .target = "/usr"},
                  {.source = data, .target = "/build/data", .read_only = false}};
  Result<RunResult> result = run(config);
  ASSERT_TRUE(result.ok()) << result.error().message();
  EXPECT_EQ(result->exit_code, 0) << slurp(err_path_);
  EXPECT_EQ(slurp(out_path_), "ID=strata-test\nroot:x:0:0:root:/root:/bin/sh\ndata\n");
  EXPECT_EQ(slurp(data + "/file"), "made\n");
}

// Config::rootfs_writable (run layers): the tree's own /etc, changes land in the tree, HOME has
// no tmpfs, /tmp is still the sandbox's, and no new top-level entry can be made.
TEST_F(Sandbox, WritableRootfsKeepsTheCommandsChanges) {
  std::string root = dir_.path() + "/rootfs";
  for (const char* d : {"/usr", "/etc", "/work", "/root"})
    std::filesystem::create_directories(root + d);
  for (const char* link : {"bin", "lib", "lib64"})
    std::filesystem::create_directory_symlink(std::string("usr/") + link, root + "/" + link);
  std::ofstream(root + "/etc/passwd") << "image:x:0:0::/:/bin/false\n";
  Config config = shell(
      "head -1 /etc/passwd && echo added >> /etc/passwd && echo new > /work/new && "
      "echo home > /root/h && echo t > /tmp/t && ! mkdir /newtop 2>/dev/null && echo ok");
  config.rootfs = root;
  config.rootfs_writable = true;
  config.binds = {{.source = "/usr", .target = "/usr"}};
  Result<RunResult> result = run(config);
  ASSERT_TRUE(result.ok()) << result.error().message();
  EXPECT_EQ(result->exit_code, 0) << slurp(err_path_);
  EXPECT_EQ(slurp(out_path_), "image:x:0:0::/:/bin/false\nok\n");
  EXPECT_EQ(slurp(root + "/etc/passwd"), "image:x:0:0::/:/bin/false\nadded\n");
  EXPECT_EQ(slurp(root + "/work/new"), "new\n");
  EXPECT_EQ(slurp(root + "/root/h"), "home\n");
  EXPECT_FALSE(std::filesystem::exists(root + "/tmp"));
  EXPECT_FALSE(std::filesystem::exists(root + "/newtop"));
}

TEST_F(Sandbox, OverlaysLayerDirectoriesOverTheRootReadOnly) {
  std::string top = dir_.path() + "/top", under = dir_.path() + "/under";
  for (const std::string& d :
       {top + "/usr/lib/x", top + "/opt/a", under + "/opt/b", under + "/usr/lib/x", top + "/etc"})
    std::filesystem::create_directories(d);
  std::ofstream(top + "/usr/lib/x/f") << "top\n";
  std::ofstream(under + "/usr/lib/x/f") << "under\n";
  std::ofstream(under + "/usr/lib/x/g") << "g\n";
  std::ofstream(top + "/etc/app.conf") << "conf\n";
  Config config = shell(
      "cat /usr/lib/x/f /usr/lib/x/g /etc/app.conf && ls /opt && test -x /bin/sh && "
      "! touch /usr/lib/x/new 2>/dev/null && ! touch /opt/a/new 2>/dev/null && "
      "head -1 /etc/passwd");
  config.overlays = {top, under};
  Result<RunResult> result = run(config);
  ASSERT_TRUE(result.ok()) << result.error().message();
  EXPECT_EQ(result->exit_code, 0) << slurp(err_path_);
  EXPECT_EQ(slurp(out_path_), "top\ng\nconf\na\nb\nroot:x:0:0:root:/root:/bin/sh\n");
}

// The overlays' lower directories are host paths (package outputs in the cache): overlayfs
// shows its options in mountinfo, so it gets them as /proc/self/fd/N.
TEST_F(Sandbox, OverlayOptionsInMountinfoNameNoHostPath) {
  std::string top = dir_.path() + "/top", under = dir_.path() + "/under";
  for (const std::string& d : {top + "/opt/a", under + "/opt/b"})
    std::filesystem::create_directories(d);
  Config config = shell("grep ' /opt ' /proc/self/mountinfo");
  config.overlays = {top, under};
  Result<RunResult> result = run(config);
  ASSERT_TRUE(result.ok()) << result.error().message();
  EXPECT_EQ(result->exit_code, 0) << slurp(err_path_);
  std::string line = slurp(out_path_);
  EXPECT_NE(line.find("lowerdir=/proc/self/fd/"), std::string::npos) << line;
  EXPECT_EQ(line.find(dir_.path()), std::string::npos) << line;
}

TEST_F(Sandbox, OverlayWithATopLevelFileIsRefused) {
  std::string top = dir_.path() + "/top";
  std::filesystem::create_directories(top);
  std::ofstream(top + "/stray") << "x";
  Config config = shell("true");
  config.overlays = {top};
  EXPECT_EQ(error_of(config), "preparing the sandbox root: overlay " + top +
                                  ": /stray cannot be layered over the root");
  config.overlays = {dir_.path() + "/a:b"};
  EXPECT_EQ(error_of(config), "invalid sandbox config: overlay \"" + dir_.path() +
                                  "/a:b\": must be an absolute path without ':' or ','");
}

// The parent is multithreaded in the builder: the child must not depend on locks (malloc,
// stdio) that another thread may hold at clone time.
TEST_F(Sandbox, RunsConcurrentlyFromSeveralThreads) {
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&ok, t] {
      for (int i = 0; i < 5; ++i) {
        Config config;
        config.argv = {"/bin/sh", "-c", "exit " + std::to_string(t)};
        std::vector<std::string> garbage(100, std::string(100, 'x'));  // keep malloc busy
        Result<RunResult> result = run_sandboxed(config);
        if (result.ok() && result->exit_code == t) ++ok;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), 20);
}

TEST_F(Sandbox, TmpAndHomeAreBoundedTmpfs) {
  // The default: kDefaultTmpfsSizeBytes each (df's 1K blocks), not half of the host's RAM.
  Result<RunResult> result = run(shell("df -k /tmp /root | tail -n 2 | awk '{print $2}'"));
  ASSERT_TRUE(result.ok()) << result.error().message();
  std::string k = std::to_string(kDefaultTmpfsSizeBytes / 1024);
  EXPECT_EQ(slurp(out_path_), k + "\n" + k + "\n") << slurp(err_path_);
  // A smaller limit: writing past it fails with ENOSPC, in /tmp and in HOME alike.
  Config config = shell(
      "head -c 2097152 /dev/zero >/tmp/big; echo tmp=$?; head -c 2097152 /dev/zero >$HOME/big; "
      "echo home=$?");
  config.env.push_back("HOME=/root");
  config.limits.tmpfs_size_bytes = 1 << 20;
  result = run(config);
  ASSERT_TRUE(result.ok()) << result.error().message();
  EXPECT_EQ(slurp(out_path_), "tmp=1\nhome=1\n");
  EXPECT_NE(slurp(err_path_).find("No space left on device"), std::string::npos)
      << slurp(err_path_);
}

TEST_F(Sandbox, RunsAsAMappedNonRootUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "mapping a second id needs root outside";
  Config config = shell("id -u; id -g; cat /proc/self/status | grep CapEff");
  config.uid = 1000;
  config.gid = 1000;
  config.uid_maps = {{.inside = 0, .outside = 0}, {.inside = 1000, .outside = 1000}};
  config.gid_maps = {{.inside = 0, .outside = 0}, {.inside = 1000, .outside = 1000}};
  Result<RunResult> result = run(config);
  ASSERT_TRUE(result.ok()) << result.error().message();
  EXPECT_EQ(slurp(out_path_), "1000\n1000\nCapEff:\t0000000000000000\n") << slurp(err_path_);
}

}  // namespace
}  // namespace strata::sandbox
