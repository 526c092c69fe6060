#include "sandbox/config.h"

#include <gtest/gtest.h>

namespace strata::sandbox {
namespace {

Config valid_config() {
  Config config;
  config.argv = {"/bin/true"};
  return config;
}

TEST(SandboxConfig, NormalizeAbsoluteCollapsesSlashes) {
  EXPECT_EQ(normalize_absolute("/a//b/"), "/a/b");
  EXPECT_EQ(normalize_absolute("/"), "/");
  EXPECT_EQ(normalize_absolute("a/b"), std::nullopt);
  EXPECT_EQ(normalize_absolute("/a/../b"), std::nullopt);
  EXPECT_EQ(normalize_absolute("/a/./b"), std::nullopt);
}

TEST(SandboxConfig, ValidConfigPasses) { EXPECT_TRUE(validate_config(valid_config()).ok()); }

TEST(SandboxConfig, ReportsEveryProblem) {
  Config config = valid_config();
  config.argv.clear();
  config.binds = {{.source = "/nonexistent-strata-src", .target = "/x"},
                  {.source = "/tmp", .target = "/a/../../etc"},
                  {.source = "/tmp", .target = "/proc/sys"}};
  config.env = {"NOEQUALS", "A=1", "A=2"};
  config.cwd = "relative";
  config.uid = 5;
  Result<void> result = validate_config(config);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), ErrorCode::kUsage);
  EXPECT_EQ(result.error().message(),
            "invalid sandbox config: no command to run\n"
            "invalid sandbox config: bind source /nonexistent-strata-src: No such file or "
            "directory\n"
            "invalid sandbox config: bind target \"/a/../../etc\": must be an absolute path "
            "without . or .. components\n"
            "invalid sandbox config: bind target /proc/sys: must not be /, or under /proc or "
            "/dev\n"
            "invalid sandbox config: environment entry \"NOEQUALS\": must be KEY=VALUE\n"
            "invalid sandbox config: environment variable A is set twice\n"
            "invalid sandbox config: cwd \"relative\": must be an absolute path without . or .. "
            "components\n"
            "invalid sandbox config: uid 5 is not mapped into the sandbox");
}

TEST(SandboxConfig, RootfsMustBeADirectory) {
  Config config = valid_config();
  config.rootfs = "/etc/hostname-strata-missing";
  Result<void> result = validate_config(config);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message(),
            "invalid sandbox config: rootfs /etc/hostname-strata-missing: No such file or "
            "directory");
  config.rootfs = "/proc/self/status";
  EXPECT_EQ(validate_config(config).error().message(),
            "invalid sandbox config: rootfs /proc/self/status: not a directory");
}

TEST(SandboxConfig, MappedUidIsAccepted) {
  Config config = valid_config();
  config.uid = 1000;
  config.uid_maps = {{.inside = 0, .outside = 0, .count = 1}, {.inside = 1000, .outside = 1000}};
  EXPECT_TRUE(validate_config(config).ok());
}

TEST(SandboxResult, DescribesEachOutcome) {
  EXPECT_EQ((RunResult{.status = RunResult::Status::kExited, .exit_code = 3}).describe(),
            "exited with status 3");
  EXPECT_EQ((RunResult{.status = RunResult::Status::kSignaled, .signal = 9}).describe(),
            "killed by signal 9 (Killed)");
  EXPECT_EQ((RunResult{.status = RunResult::Status::kTimedOut, .duration_ms = 200}).describe(),
            "timed out after 200 ms");
}

}  // namespace
}  // namespace strata::sandbox
