#include "builder/base/file_lock.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>

#include "builder/base/fs.h"

namespace strata {
namespace {

TEST(FileLock, IsExclusiveAndLeavesNoFileBehind) {
  const char* tmp = std::getenv("TMPDIR");
  auto dir = TempDir::create(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "strata-lock-");
  ASSERT_TRUE(dir.ok());
  std::string path = dir->path() + "/.demo.lock";
  {
    auto held = FileLock::acquire(path);
    ASSERT_TRUE(held.ok()) << held.error().to_string();
    EXPECT_TRUE(path_exists(path));
    // flock is per open file: a second open in this process is refused like another process.
    auto second = FileLock::try_acquire(path);
    ASSERT_TRUE(second.ok());
    EXPECT_FALSE(second->has_value());
  }
  EXPECT_FALSE(path_exists(path));
  // A lock file a killed holder left behind is simply taken.
  ASSERT_TRUE(write_file(path, "").ok());
  auto again = FileLock::try_acquire(path);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->has_value());
}

}  // namespace
}  // namespace strata
