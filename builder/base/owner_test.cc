#include "builder/base/owner.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "builder/base/beneath.h"
#include "builder/base/fs.h"

namespace strata {
namespace {

std::string temp_parent() {
  const char* tmp = std::getenv("TMPDIR");
  return tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
}

// A process that existed and is gone: a child, exited and reaped.
ProcessOwner gone_owner() {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  std::optional<uint64_t> start = process_start_ticks(pid);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return ProcessOwner{.pid = pid, .start_ticks = start.value_or(1)};
}

TEST(ProcessStart, ParsesField22AfterACommandWithSpacesAndParens) {
  std::string stat =
      "42 (a) b (c) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 "
      "1000 200 18446744073709551615";
  EXPECT_EQ(parse_start_ticks(stat), 987654u);
  EXPECT_EQ(parse_start_ticks("42 (x) S 1 2"), std::nullopt);
  EXPECT_EQ(parse_start_ticks("garbage"), std::nullopt);
}

TEST(ProcessStart, SelfHasAStartTime) {
  EXPECT_EQ(self_owner().pid, ::getpid());
  EXPECT_GT(self_owner().start_ticks, 0u);
  EXPECT_EQ(process_start_ticks(::getpid()), self_owner().start_ticks);
}

TEST(OwnerTag, RoundTripsThroughANameWithPrefixAndRandomPart) {
  ProcessOwner o{.pid = 1234, .start_ticks = 5678};
  EXPECT_EQ(owner_tag(o), "@1234.5678");
  EXPECT_EQ(parse_owner_tag(".hello.tmp-@1234.5678-AbC123"), o);
  EXPECT_EQ(parse_owner_tag("strata-sandbox-@1234.5678-0"), o);
  // The last tag counts: a package named "a@1.2" keeps its own '@'.
  EXPECT_EQ(parse_owner_tag("a@1.2-@1234.5678-x"), o);
  EXPECT_EQ(parse_owner_tag(".strata-tmp-XXXXXX"), std::nullopt);
  EXPECT_EQ(parse_owner_tag("x-@12-abc"), std::nullopt);
  EXPECT_EQ(parse_owner_tag("x-@a.b-abc"), std::nullopt);
  EXPECT_EQ(parse_owner_tag("x-@0.5-abc"), std::nullopt);
}

TEST(OwnerGone, LiveSelfIsNotGone) { EXPECT_FALSE(is_owner_gone(self_owner())); }

TEST(OwnerGone, ReapedChildIsGone) { EXPECT_TRUE(is_owner_gone(gone_owner())); }

TEST(OwnerGone, ALivePidWithAnotherStartTimeIsGone) {
  // The pid was reused by a process that started later than the owner.
  ProcessOwner reused = self_owner();
  reused.start_ticks += 1;
  EXPECT_TRUE(is_owner_gone(reused));
}

TEST(StaleTemporaries, RemovesOnlyGoneOwnersEntriesWithAKnownPrefix) {
  auto dir = TempDir::create(temp_parent(), "strata-owner-");
  ASSERT_TRUE(dir.ok()) << dir.error().to_string();
  const std::string& d = dir->path();
  std::string gone = owner_tag(gone_owner());
  std::string live = self_owner_tag();
  ASSERT_TRUE(make_dirs(d + "/.x.tmp-" + gone + "-aaaaaa/blobs/sha256").ok());
  ASSERT_TRUE(write_file(d + "/.x.tmp-" + gone + "-aaaaaa/blobs/sha256/f", "data").ok());
  // A read-only directory inside is removed too.
  ASSERT_EQ(::chmod((d + "/.x.tmp-" + gone + "-aaaaaa/blobs/sha256").c_str(), 0555), 0);
  ASSERT_TRUE(write_file(d + "/.strata-tmp-" + gone + "-bbbbbb", "x").ok());
  ASSERT_TRUE(write_file(d + "/.strata-tmp-" + live + "-cccccc", "x").ok());
  ASSERT_TRUE(write_file(d + "/.strata-tmp-XXXXXX", "legacy, no owner").ok());
  ASSERT_TRUE(write_file(d + "/other-" + gone + "-dddddd", "no known prefix").ok());
  ASSERT_TRUE(write_file(d + "/.strata-stale-" + gone + "-7", "a cut-short sweep").ok());
  constexpr std::string_view kPrefixes[] = {".x.tmp-", kAtomicFilePrefix};
  std::vector<std::string> removed = remove_stale_temporaries(d, kPrefixes);
  EXPECT_EQ(removed.size(), 3u);
  auto names = list_dir(d);
  ASSERT_TRUE(names.ok());
  std::vector<std::string> expected = {".strata-tmp-" + live + "-cccccc", ".strata-tmp-XXXXXX",
                                       "other-" + gone + "-dddddd"};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(*names, expected);
}

TEST(StaleTemporaries, TempDirAndAtomicFileCarryTheOwnerTag) {
  auto dir = TempDir::create(temp_parent(), "strata-owner-");
  ASSERT_TRUE(dir.ok());
  EXPECT_EQ(parse_owner_tag(basename_of(dir->path())), self_owner());
  auto file = AtomicFile::create(dir->path() + "/f");
  ASSERT_TRUE(file.ok());
  EXPECT_TRUE(basename_of(file->temp_path()).starts_with(kAtomicFilePrefix));
  EXPECT_EQ(parse_owner_tag(basename_of(file->temp_path())), self_owner());
}

}  // namespace
}  // namespace strata
