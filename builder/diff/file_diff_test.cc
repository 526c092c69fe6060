#include "builder/diff/file_diff.h"

#include <gtest/gtest.h>

#include "builder/base/path.h"
#include "builder/diff/layer_scan.h"

namespace strata::builder::diff {
namespace {

ReadEntry file(std::string path, std::string content = "x") {
  return {.path = std::move(path),
          .mode = 0644,
          .size = static_cast<int64_t>(content.size()),
          .content_digest = sha256_of(content)};
}
ReadEntry dir(std::string path) {
  return {.path = std::move(path), .type = EntryType::kDirectory, .mode = 0755};
}
ReadEntry whiteout(std::string path) { return file(std::move(path), ""); }

std::vector<std::string> paths(const std::vector<ReadEntry>& entries) {
  std::vector<std::string> out;
  for (const ReadEntry& e : entries) out.push_back(e.path);
  return out;
}

TEST(NormalizePath, StripsDotSlashLeadingAndTrailingSlashes) {
  EXPECT_EQ(archive_member_path("./usr/bin/"), "usr/bin");
  EXPECT_EQ(archive_member_path("/etc"), "etc");
  EXPECT_EQ(archive_member_path("././a"), "a");
  EXPECT_EQ(archive_member_path("./"), ".");
  EXPECT_EQ(archive_member_path(""), ".");
}

TEST(DiffEntries, SamePathsInAnotherOrderAreMoved) {
  std::vector<ReadEntry> a = {dir("a"), file("a/1"), file("a/2"), file("a/3")};
  std::vector<ReadEntry> b = {dir("a"), file("a/3"), file("a/1"), file("a/2")};
  std::vector<FileDiff> d = diff_entries(a, b, false);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].path, "a/3");
  EXPECT_EQ(d[0].aspects, std::vector<std::string>{"order"});
  EXPECT_EQ(d[0].position_a, 3);
  EXPECT_EQ(d[0].position_b, 1);
  EXPECT_TRUE(diff_entries(a, b, /*semantic=*/true).empty());
}

TEST(DiffEntries, AddedAndRemovedDoNotDisturbTheOrderOfTheRest) {
  std::vector<ReadEntry> a = {file("a"), file("b"), file("c")};
  std::vector<ReadEntry> b = {file("a"), file("a2"), file("c")};
  std::vector<FileDiff> d = diff_entries(a, b, false);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].path, "a2");
  EXPECT_EQ(d[0].change, FileChange::kAdded);
  EXPECT_EQ(d[1].path, "b");
  EXPECT_EQ(d[1].change, FileChange::kRemoved);
}

TEST(DiffEntries, TypeAndOwnerNamesAndLastOccurrenceWins) {
  ReadEntry named = file("f");
  named.uname = "root";
  ReadEntry link{.path = "f", .type = EntryType::kSymlink, .mode = 0777, .link_target = "g"};
  // A path written twice counts as its last occurrence, as when unpacked.
  std::vector<FileDiff> d = diff_entries({file("f", "old"), file("f")}, {named}, false);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].aspects, std::vector<std::string>{"uname"});
  EXPECT_TRUE(diff_entries({file("f")}, {named}, true).empty());
  d = diff_entries({file("f")}, {link}, false);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].aspects, (std::vector<std::string>{"type", "mode", "link"}));
}

TEST(MergedFilesystem, WhiteoutsHideLowerLayersOnly) {
  MergedFilesystem fs;
  fs.apply_layer({dir("etc"), file("etc/a"), file("etc/b"), dir("var"), file("var/x")});
  fs.apply_layer({whiteout("etc/.wh.a"), whiteout(".wh.var"), file("etc/c")});
  EXPECT_EQ(paths(fs.entries()), (std::vector<std::string>{"etc", "etc/b", "etc/c"}));
  // An opaque directory drops what the layers below put in it, keeping its own entries.
  fs.apply_layer({dir("etc"), whiteout("etc/.wh..wh..opq"), file("etc/d")});
  EXPECT_EQ(paths(fs.entries()), (std::vector<std::string>{"etc", "etc/d"}));
}

TEST(MergedFilesystem, FileReplacingDirectoryAndImplicitParents) {
  MergedFilesystem fs;
  fs.apply_layer({dir("."), dir("opt"), file("opt/a")});
  fs.apply_layer({file("opt"), file("usr/bin/tool")});
  std::vector<ReadEntry> e = fs.entries();
  EXPECT_EQ(paths(e), (std::vector<std::string>{"opt", "usr", "usr/bin", "usr/bin/tool"}));
  EXPECT_EQ(e[1].type, EntryType::kDirectory);
  EXPECT_EQ(e[1].mode, 0755u);
}

TEST(MergedFilesystem, HardlinkBecomesACopyOfItsTarget) {
  MergedFilesystem fs;
  ReadEntry link{.path = "b", .type = EntryType::kHardlink, .link_target = "a"};
  fs.apply_layer({file("a", "content"), link});
  std::vector<ReadEntry> e = fs.entries();
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[1].path, "b");
  EXPECT_EQ(e[1].type, EntryType::kRegular);
  EXPECT_EQ(e[1].content_digest, sha256_of("content"));
}

}  // namespace
}  // namespace strata::builder::diff
