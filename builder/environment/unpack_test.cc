#include "builder/environment/unpack.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/support/test_image.h"

namespace strata::builder::environment {
namespace {

using testing::dir;
using testing::file;
using testing::hardlink;
using testing::list_tree;
using testing::symlink;
using testing::TarEntry;
using testing::write_tar;
using Strings = std::vector<std::string>;

class ApplyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = tmp_.path() + "/root";
    ASSERT_EQ(::mkdir(root_.c_str(), 0755), 0);
  }
  // Writes the entries as layer N and applies it.
  Result<void> apply(const std::vector<TarEntry>& entries, const ApplyOptions& options = {}) {
    std::string blob = tmp_.path() + "/layer" + std::to_string(++layers_) + ".tar";
    write_tar(blob, entries);
    return apply_layer(blob, root_, options);
  }
  TempDir tmp_ = testing::make_temp_dir();
  std::string root_;
  int layers_ = 0;
};

TEST_F(ApplyTest, CreatesFilesDirectoriesSymlinksAndHardlinks) {
  ASSERT_TRUE(apply({dir("etc/", 0750), file("etc/motd", "hi\n"), dir("usr/bin/"),
                     file("usr/bin/tool", "#!x", 0755), symlink("bin", "usr/bin"),
                     hardlink("usr/bin/tool2", "usr/bin/tool")})
                  .ok());
  EXPECT_EQ(list_tree(root_), (Strings{"bin l:usr/bin", "etc d", "etc/motd f:hi\n", "usr d",
                                       "usr/bin d", "usr/bin/tool f:#!x", "usr/bin/tool2 f:#!x"}));
  struct stat a, b, e;
  ASSERT_EQ(::stat((root_ + "/usr/bin/tool").c_str(), &a), 0);
  ASSERT_EQ(::stat((root_ + "/usr/bin/tool2").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_mode & 07777, 0755u);
  EXPECT_EQ(a.st_mtime, 1000);
  ASSERT_EQ(::stat((root_ + "/etc").c_str(), &e), 0);
  EXPECT_EQ(e.st_mode & 07777, 0750u);
}

TEST_F(ApplyTest, WhiteoutsRemoveLowerEntries) {
  ASSERT_TRUE(
      apply({file("a/file1", "1"), file("a/file2", "2"), file("b/c/d", "3"), file("keep", "k")})
          .ok());
  ASSERT_TRUE(apply({file("a/.wh.file1", ""), file(".wh.b", ""), file(".wh.missing", "")}).ok());
  EXPECT_EQ(list_tree(root_), (Strings{"a d", "a/file2 f:2", "keep f:k"}));
}

TEST_F(ApplyTest, OpaqueDirectoryHidesLowerContentWhereverTheMarkerIs) {
  ASSERT_TRUE(apply({file("d/old", "o"), file("d/sub/old2", "o"), file("e/old", "o")}).ok());
  // The marker comes after the layer's own entries for d: they must survive it.
  ASSERT_TRUE(apply({dir("d/"), file("d/new", "n"), file("d/sub/new2", "n"),
                     file("d/.wh..wh..opq", ""), file("e/.wh..wh..opq", ""), file("e/x", "x")})
                  .ok());
  EXPECT_EQ(list_tree(root_),
            (Strings{"d d", "d/new f:n", "d/sub d", "d/sub/new2 f:n", "e d", "e/x f:x"}));
}

TEST_F(ApplyTest, WhiteoutNeverHidesTheSameLayersEntries) {
  ASSERT_TRUE(apply({file("x", "lower"), file("y/z", "lower")}).ok());
  ASSERT_TRUE(
      apply({file("x", "upper"), file(".wh.x", ""), file("y/new", "n"), file(".wh.y", "")}).ok());
  EXPECT_EQ(list_tree(root_), (Strings{"x f:upper", "y d", "y/new f:n"}));
}

TEST_F(ApplyTest, EntriesReplaceWhatWasThere) {
  ASSERT_TRUE(apply({file("p", "file"), file("q/inner", "i"), symlink("s", "p"), dir("d/", 0755),
                     file("d/child", "c")})
                  .ok());
  ASSERT_TRUE(apply({dir("p/"), file("p/child", "c"), file("q", "now a file"), file("s", "real"),
                     dir("d/", 0711)})
                  .ok());
  EXPECT_EQ(list_tree(root_),
            (Strings{"d d", "d/child f:c", "p d", "p/child f:c", "q f:now a file", "s f:real"}));
  struct stat st;
  ASSERT_EQ(::stat((root_ + "/d").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0711u);
}

TEST_F(ApplyTest, AcceptsDotSlashNamesAndLeavesTheRootAlone) {
  ASSERT_TRUE(apply({dir("./", 0700), dir("./etc/"), file("./etc/x", "1")}).ok());
  EXPECT_EQ(list_tree(root_), (Strings{"etc d", "etc/x f:1"}));
  struct stat st;
  ASSERT_EQ(::stat(root_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
}

TEST_F(ApplyTest, LaterLayersWriteIntoReadOnlyDirectories) {
  ASSERT_TRUE(apply({dir("ro/", 0555), file("ro/a", "a")}).ok());
  ASSERT_TRUE(apply({file("ro/b", "b"), file("ro/.wh.a", "")}).ok());
  EXPECT_EQ(list_tree(root_), (Strings{"ro d", "ro/b f:b"}));
  struct stat st;
  ASSERT_EQ(::stat((root_ + "/ro").c_str(), &st), 0);
  // Without preserve_owners, directories keep owner rwx so later layers can write into them.
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  if (!running_as_root()) return;
  ASSERT_TRUE(apply({dir("ro/", 0555)}, {.preserve_owners = true}).ok());
  ASSERT_TRUE(apply({file("ro/c", "c")}, {.preserve_owners = true}).ok());
  ASSERT_EQ(::stat((root_ + "/ro").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0555u);
}

TEST_F(ApplyTest, SkipsDevicesAndFifos) {
  ASSERT_TRUE(apply({dir("dev/"),
                     {.name = "dev/null", .kind = TarEntry::Kind::kCharDevice},
                     {.name = "fifo", .kind = TarEntry::Kind::kFifo},
                     file("ok", "1")})
                  .ok());
  EXPECT_EQ(list_tree(root_), (Strings{"dev d", "ok f:1"}));
}

// Setuid and setgid bits never reach the host, not even when root keeps the tar's owners:
// a setuid-root file in the cache would be a way to root for whoever reaches it.
TEST_F(ApplyTest, OwnersOnlyWhenPreservingOwnersAndNeverSetuidOrSetgid) {
  TarEntry suid = file("suid", "x", 04755);
  suid.uid = 1234;
  suid.gid = 5678;
  TarEntry sgid = file("sgid", "x", 02711);
  TarEntry sgid_dir = dir("sgid-dir/", 03775);
  ASSERT_TRUE(apply({suid, sgid, sgid_dir}).ok());
  struct stat st;
  ASSERT_EQ(::stat((root_ + "/suid").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, ::geteuid());
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  ASSERT_EQ(::stat((root_ + "/sgid").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0711u);
  ASSERT_EQ(::stat((root_ + "/sgid-dir").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 01775u);  // the sticky bit is no privilege: kept
  if (!running_as_root()) GTEST_SKIP() << "chown needs root";
  ASSERT_TRUE(apply({suid, sgid, sgid_dir}, {.preserve_owners = true}).ok());
  ASSERT_EQ(::stat((root_ + "/suid").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  ASSERT_EQ(::stat((root_ + "/sgid").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0711u);
  ASSERT_EQ(::stat((root_ + "/sgid-dir").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 01775u);
}

TEST_F(ApplyTest, ReadsEveryCompressionAndChecksDiffIdAndDigest) {
  std::string blobs = tmp_.path() + "/blobs";
  ASSERT_TRUE(make_dirs(blobs).ok());
  for (Compression c : {Compression::kNone, Compression::kGzip, Compression::kZstd}) {
    auto blob = write_layer_blob({testing::file_entry("f", "content")},
                                 {.compression = c, .mtime = 0}, blobs);
    ASSERT_TRUE(blob.ok());
    std::string path = blobs + "/" + blob->digest.hex;
    EXPECT_TRUE(
        apply_layer(path, root_, {.blob_digest = blob->digest, .diff_id = blob->diff_id}).ok())
        << compression_name(c);
    Digest wrong = sha256_of("wrong");
    auto bad_diff = apply_layer(path, root_, {.diff_id = wrong});
    ASSERT_FALSE(bad_diff.ok());
    EXPECT_EQ(bad_diff.error().code(), ErrorCode::kDigestMismatch);
    EXPECT_EQ(bad_diff.error().message(), "layer " + path + ": diff_id mismatch: expected " +
                                              wrong.str() + ", actual " + blob->diff_id.str());
  }
  EXPECT_EQ(list_tree(root_), (Strings{"f f:content"}));
}

TEST_F(ApplyTest, BlobDigestMismatchWritesNothing) {
  std::string blob = tmp_.path() + "/layer.tar";
  Digest actual = write_tar(blob, {file("f", "x")});
  Digest wrong = sha256_of("wrong");
  auto applied = apply_layer(blob, root_, {.blob_digest = wrong});
  ASSERT_FALSE(applied.ok());
  EXPECT_EQ(applied.error().message(), "layer " + blob + ": digest mismatch: expected " +
                                           wrong.str() + ", actual " + actual.str());
  EXPECT_TRUE(list_tree(root_).empty());
}

// Hostile layers: each must fail (or, for replacements, succeed harmlessly) and leave
// everything outside the root as it was.
class HostileTest : public ApplyTest {
 protected:
  void SetUp() override {
    ApplyTest::SetUp();
    outside_ = tmp_.path() + "/outside";
    ASSERT_TRUE(make_dirs(outside_).ok());
    ASSERT_TRUE(write_file(outside_ + "/victim", "safe").ok());
    passwd_before_ = *read_file("/etc/passwd");
  }
  void TearDown() override {
    EXPECT_EQ(list_tree(outside_), (Strings{"victim f:safe"}));
    EXPECT_EQ(*read_file("/etc/passwd"), passwd_before_);
  }
  void expect_error(const std::vector<TarEntry>& entries, const std::string& message) {
    auto applied = apply(entries);
    ASSERT_FALSE(applied.ok());
    std::string blob = tmp_.path() + "/layer" + std::to_string(layers_) + ".tar";
    EXPECT_EQ(applied.error().message(), "layer " + blob + ": " + message);
  }
  std::string outside_;
  std::string passwd_before_;
};

TEST_F(HostileTest, DotDotIsRefused) {
  expect_error({file("../outside/evil", "x")},
               "entry '../outside/evil': path '../outside/evil' leaves the root (..)");
  expect_error({file("a/../../outside/evil", "x")},
               "entry 'a/../../outside/evil': path 'a/../../outside/evil' leaves the root (..)");
}

TEST_F(HostileTest, AbsolutePathIsRefused) {
  std::string name = outside_ + "/evil";
  expect_error({file(name, "x")}, "entry '" + name + "': absolute path '" + name + "'");
}

TEST_F(HostileTest, NeverWritesThroughASymlink) {
  expect_error({symlink("link", outside_), file("link/evil", "x")},
               "entry 'link/evil': 'link' is a symlink: symlinks are never followed");
  expect_error({symlink("rel", "../outside"), dir("rel/sub/")},
               "entry 'rel/sub/': 'rel' is a symlink: symlinks are never followed");
  // Replacing a symlink replaces the link, not its target.
  ASSERT_TRUE(apply({symlink("victim", outside_ + "/victim"), file("victim", "pwned")}).ok());
  EXPECT_EQ(*read_file(root_ + "/victim"), "pwned");
}

TEST_F(HostileTest, HardlinksStayInsideTheRoot) {
  expect_error({hardlink("pw", "/etc/passwd")},
               "entry 'pw': hardlink target: absolute path '/etc/passwd'");
  expect_error({hardlink("v", "../outside/victim")},
               "entry 'v': hardlink target: path '../outside/victim' leaves the root (..)");
  expect_error(
      {symlink("l", outside_), hardlink("v", "l/victim")},
      "entry 'v': hardlink target 'l/victim': 'l' is a symlink: symlinks are never followed");
  expect_error({hardlink("self", "self")}, "entry 'self': hardlink to itself");
  // A hardlink to a symlink links the symlink itself.
  ASSERT_TRUE(apply({symlink("s", outside_ + "/victim"), hardlink("h", "s")}).ok());
  EXPECT_EQ(list_tree(root_), (Strings{"h l:" + outside_ + "/victim", "l l:" + outside_,
                                       "s l:" + outside_ + "/victim"}));
}

TEST_F(HostileTest, WhiteoutsCannotEscape) {
  expect_error({file(".wh.", "")}, "entry '.wh.': invalid whiteout '.wh.'");
  expect_error({file("a/.wh..", "")}, "entry 'a/.wh..': invalid whiteout '.wh..'");
  expect_error({file(".wh...", "")}, "entry '.wh...': invalid whiteout '.wh...'");
  ASSERT_TRUE(apply({symlink("l", outside_), symlink("lv", outside_ + "/victim")}).ok());
  expect_error({file("l/.wh.victim", "")},
               "entry 'l/.wh.victim': 'l' is a symlink: symlinks are never followed");
  expect_error({file("l/.wh..wh..opq", "")},
               "entry 'l/.wh..wh..opq': 'l' is a symlink: symlinks are never followed");
  // Whiting out a symlink removes the link only.
  ASSERT_TRUE(apply({file(".wh.lv", ""), file(".wh.l", "")}).ok());
  EXPECT_TRUE(list_tree(root_).empty());
}

}  // namespace
}  // namespace strata::builder::environment
