#include "builder/sources/unpack.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/base/fs.h"
#include "builder/sources/path_source.h"
#include "tests/support/test_archive.h"
#include "tests/support/test_util.h"

namespace strata::builder::sources {
namespace {

using testing::list_paths;
using testing::make_temp_dir;
using testing::TestEntry;
using testing::TestFormat;
using testing::write_test_archive;

// An archive under blobs/, and an empty work/ to unpack into: after a failure work/ must
// still be empty, whatever the archive tried.
class Unpack : public ::testing::Test {
 protected:
  StoredSource archive(const std::vector<TestEntry>& entries,
                       TestFormat format = TestFormat::kTarGz, int64_t strip = 0) {
    std::string name = std::string("pkg") + testing::test_suffix(format);
    std::string path = root_.path() + "/blobs/" + name;
    STRATA_CHECK(make_dirs(root_.path() + "/blobs").ok());
    write_test_archive(path, format, entries);
    return StoredSource{.source = {.name = "pkg", .url = "https://h/" + name, .strip = strip},
                        .kind = SourceKind::kArchive,
                        .file_name = name,
                        .blob_path = path};
  }

  std::string work() const { return root_.path() + "/work"; }
  std::string dest() const { return work() + "/src"; }

  void SetUp() override { ASSERT_TRUE(make_dirs(work()).ok()); }

  // Unpacking must fail with exactly `message` and leave nothing behind.
  void expect_refused(const StoredSource& stored, const std::string& message) {
    Result<void> unpacked = unpack_source(stored, dest());
    ASSERT_FALSE(unpacked.ok());
    EXPECT_EQ(unpacked.error().to_string(), message);
    EXPECT_EQ(list_paths(work()), std::vector<std::string>{});
    std::vector<std::string> left;
    for (std::string& path : list_paths(root_.path())) {
      if (!path.starts_with("blobs/")) left.push_back(std::move(path));
    }
    EXPECT_EQ(left, (std::vector<std::string>{"blobs", "work"}));
  }

  std::string read(const std::string& rel) const {
    Result<std::string> text = read_file(dest() + "/" + rel);
    return text.ok() ? *text : "<" + text.error().to_string() + ">";
  }

  TempDir root_ = make_temp_dir();
};

std::vector<TestEntry> release_tree() {
  return {{.path = "pkg-1.0/", .type = 'd', .mode = 0755},
          {.path = "pkg-1.0/src/main.c", .content = "int main() {}\n"},
          {.path = "pkg-1.0/configure", .content = "#!/bin/sh\n", .mode = 0755},
          {.path = "pkg-1.0/main.c", .type = 'l', .content = "src/main.c"}};
}

class UnpackFormats : public Unpack, public ::testing::WithParamInterface<TestFormat> {};

TEST_P(UnpackFormats, ExtractsWithStripZeroOneAndTwo) {
  StoredSource stored = archive(release_tree(), GetParam(), 0);
  ASSERT_TRUE(unpack_source(stored, dest()).ok());
  EXPECT_EQ(read("pkg-1.0/src/main.c"), "int main() {}\n");
  ASSERT_TRUE(remove_tree(dest()).ok());

  stored.source.strip = 1;
  Result<void> one = unpack_source(stored, dest());
  ASSERT_TRUE(one.ok()) << one.error().to_string();
  EXPECT_EQ(list_paths(dest()),
            (std::vector<std::string>{"configure", "main.c", "src", "src/main.c"}));
  EXPECT_EQ(read("main.c"), "int main() {}\n");  // through the unpacked symlink
  struct stat st;
  ASSERT_EQ(::stat((dest() + "/configure").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  EXPECT_EQ(st.st_mtime, 1'600'000'000);
  ASSERT_TRUE(remove_tree(dest()).ok());

  stored.source.strip = 2;
  ASSERT_TRUE(unpack_source(stored, dest()).ok());
  EXPECT_EQ(list_paths(dest()), std::vector<std::string>{"main.c"});
}

INSTANTIATE_TEST_SUITE_P(AllFormats, UnpackFormats,
                         ::testing::Values(TestFormat::kTar, TestFormat::kTarGz, TestFormat::kTarXz,
                                           TestFormat::kTarBz2, TestFormat::kTarZst,
                                           TestFormat::kZip));

TEST_F(Unpack, HardlinksToEarlierFilesAreKept) {
  StoredSource stored =
      archive({{.path = "p/a", .content = "same"}, {.path = "p/b", .type = 'h', .content = "p/a"}},
              TestFormat::kTar, 1);
  ASSERT_TRUE(unpack_source(stored, dest()).ok());
  struct stat a, b;
  ASSERT_EQ(::stat((dest() + "/a").c_str(), &a), 0);
  ASSERT_EQ(::stat((dest() + "/b").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
}

TEST_F(Unpack, DropsSetuidAndKeepsDirectoriesWritableByTheOwner) {
  StoredSource stored = archive({{.path = "ro/", .type = 'd', .mode = 0555},
                                 {.path = "ro/suid", .content = "x", .mode = 04755}});
  ASSERT_TRUE(unpack_source(stored, dest()).ok());
  struct stat st;
  ASSERT_EQ(::stat((dest() + "/ro/suid").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  ASSERT_EQ(::stat((dest() + "/ro").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
}

TEST_F(Unpack, DotComponentsAreNotCountedByStrip) {
  StoredSource stored = archive({{.path = "./", .type = 'd'},
                                 {.path = "./pkg-1.0/", .type = 'd'},
                                 {.path = "./pkg-1.0/./src/x.c", .content = "x"}},
                                TestFormat::kTarGz, 1);
  ASSERT_TRUE(unpack_source(stored, dest()).ok());
  EXPECT_EQ(list_paths(dest()), (std::vector<std::string>{"src", "src/x.c"}));
}

TEST_F(Unpack, RefusesEntriesBelowAFile) {
  expect_refused(archive({{.path = "f", .content = "x"}, {.path = "f/g", .content = "y"}}),
                 "source 'pkg' (pkg.tar.gz): entry 'f/g': 'f' is not a directory");
}

TEST_F(Unpack, LaterEntryReplacesAnEarlierFile) {
  StoredSource stored = archive({{.path = "f", .content = "old"}, {.path = "f", .content = "new"}});
  ASSERT_TRUE(unpack_source(stored, dest()).ok());
  EXPECT_EQ(read("f"), "new");
}

TEST_F(Unpack, RefusesDotDot) {
  expect_refused(archive({{.path = "ok", .content = "x"}, {.path = "../evil", .content = "x"}}),
                 "source 'pkg' (pkg.tar.gz): entry '../evil': path escapes the source tree");
}

TEST_F(Unpack, RefusesDotDotEvenWhenStripWouldRemoveIt) {
  expect_refused(archive({{.path = "../evil", .content = "x"}}, TestFormat::kTarGz, 1),
                 "source 'pkg' (pkg.tar.gz): entry '../evil': path escapes the source tree");
  expect_refused(archive({{.path = "a/../../evil", .content = "x"}}),
                 "source 'pkg' (pkg.tar.gz): entry 'a/../../evil': path escapes the source tree");
}

TEST_F(Unpack, RefusesAbsolutePaths) {
  expect_refused(archive({{.path = "/tmp/strata-evil", .content = "x"}}, TestFormat::kTar),
                 "source 'pkg' (pkg.tar): entry '/tmp/strata-evil': absolute paths are not "
                 "allowed");
  EXPECT_NE(::access("/tmp/strata-evil", F_OK), 0);
}

TEST_F(Unpack, RefusesSymlinksThatEscape) {
  expect_refused(archive({{.path = "up", .type = 'l', .content = "../.."}}),
                 "source 'pkg' (pkg.tar.gz): entry 'up': symlink target '../..' escapes the "
                 "source tree");
  expect_refused(archive({{.path = "etc", .type = 'l', .content = "/etc"}}, TestFormat::kZip),
                 "source 'pkg' (pkg.zip): entry 'etc': symlink target '/etc' escapes the source "
                 "tree");
}

TEST_F(Unpack, RefusesEscapesThroughChainsOfSymlinks) {
  // a/b -> .. is the root itself, so c -> a/b/.. is the root's parent.
  expect_refused(archive({{.path = "a/b", .type = 'l', .content = ".."},
                          {.path = "c", .type = 'l', .content = "a/b/.."}}),
                 "source 'pkg' (pkg.tar.gz): entry 'c': symlink target 'a/b/..' escapes the "
                 "source tree");
  // The same with the links in the other order: caught when the tree is complete.
  expect_refused(archive({{.path = "c", .type = 'l', .content = "a/b/.."},
                          {.path = "a/b", .type = 'l', .content = ".."}}),
                 "source 'pkg' (pkg.tar.gz): entry 'c': symlink target 'a/b/..' escapes the "
                 "source tree");
}

TEST_F(Unpack, RefusesWritesThroughASymlink) {
  expect_refused(archive({{.path = "sub/", .type = 'd'},
                          {.path = "link", .type = 'l', .content = "sub"},
                          {.path = "link/file", .content = "x"}}),
                 "source 'pkg' (pkg.tar.gz): entry 'link/file': 'link' is a symlink: symlinks "
                 "are never followed");
}

TEST_F(Unpack, RefusesHardlinksOutOfTheTree) {
  expect_refused(
      archive({{.path = "passwd", .type = 'h', .content = "/etc/passwd"}}, TestFormat::kTar),
      "source 'pkg' (pkg.tar): entry 'passwd': hardlink target '/etc/passwd': "
      "absolute paths are not allowed");
  expect_refused(archive({{.path = "x", .type = 'h', .content = "../x"}}, TestFormat::kTar),
                 "source 'pkg' (pkg.tar): entry 'x': hardlink target '../x': path escapes the "
                 "source tree");
  expect_refused(archive({{.path = "x", .type = 'h', .content = "missing"}}, TestFormat::kTar),
                 "source 'pkg' (pkg.tar): entry 'x': hardlink target 'missing' is not a file "
                 "unpacked before it");
}

TEST_F(Unpack, RefusesDevicesAndFifos) {
  expect_refused(archive({{.path = "dev/null", .type = 'c'}}),
                 "source 'pkg' (pkg.tar.gz): entry 'dev/null': device nodes, fifos and sockets "
                 "are not allowed in sources");
  expect_refused(archive({{.path = "pipe", .type = 'p'}}),
                 "source 'pkg' (pkg.tar.gz): entry 'pipe': device nodes, fifos and sockets are "
                 "not allowed in sources");
}

TEST_F(Unpack, ReportsACorruptArchive) {
  // Incompressible content, so cutting the blob in half cuts the entry's data.
  std::string noise(1 << 20, '\0');
  uint32_t state = 1;
  for (char& c : noise) c = static_cast<char>((state = state * 1103515245u + 12345u) >> 24);
  StoredSource stored = archive({{.path = "f", .content = noise}});
  std::string bytes = *read_file(stored.blob_path);
  ASSERT_TRUE(write_file(stored.blob_path, bytes.substr(0, bytes.size() / 2)).ok());
  Result<void> unpacked = unpack_source(stored, dest());
  ASSERT_FALSE(unpacked.ok());
  EXPECT_EQ(unpacked.error().message(),
            "source 'pkg' (pkg.tar.gz): entry 'f': reading the entry's data: truncated gzip input");
  EXPECT_EQ(list_paths(work()), std::vector<std::string>{});
}

TEST_F(Unpack, ReportsAFileThatIsNotAnArchive) {
  StoredSource stored = archive({});
  ASSERT_TRUE(write_file(stored.blob_path, "just text\n").ok());
  Result<void> unpacked = unpack_source(stored, dest());
  ASSERT_FALSE(unpacked.ok());
  EXPECT_EQ(unpacked.error().message(),
            "source 'pkg' (pkg.tar.gz): opening the archive: Unrecognized archive format");
}

TEST_F(Unpack, PlainFileIsCopiedUnderItsName) {
  std::string blob = root_.path() + "/blob";
  ASSERT_TRUE(write_file(blob, "data").ok());
  StoredSource stored{.source = {.name = "cfg"},
                      .kind = SourceKind::kFile,
                      .file_name = "config.txt",
                      .blob_path = blob};
  ASSERT_TRUE(unpack_source(stored, dest()).ok());
  EXPECT_EQ(read("config.txt"), "data");
  struct stat st;
  ASSERT_EQ(::stat((dest() + "/config.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  EXPECT_EQ(st.st_mtime, 0);
}

TEST_F(Unpack, DestinationMustNotExist) {
  StoredSource stored = archive(release_tree());
  ASSERT_TRUE(make_dirs(dest()).ok());
  Result<void> unpacked = unpack_source(stored, dest());
  ASSERT_FALSE(unpacked.ok());
  EXPECT_EQ(unpacked.error().message(), "source 'pkg' (pkg.tar.gz): " + dest() + " already exists");
}

TEST_F(Unpack, DirectorySourceRoundTrips) {
  std::string tree = root_.path() + "/tree";
  ASSERT_TRUE(make_dirs(tree + "/sub").ok());
  ASSERT_TRUE(write_file(tree + "/sub/f", "content").ok());
  ASSERT_EQ(::symlink("sub/f", (tree + "/l").c_str()), 0);
  std::string blob = root_.path() + "/tree.tar";
  Result<AtomicFile> file = AtomicFile::create(blob);
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE(write_directory_tar(tree, file->fd()).ok());
  ASSERT_TRUE(file->commit(blob).ok());
  StoredSource stored{.source = {.name = "tree", .path = "tree"},
                      .kind = SourceKind::kDirectory,
                      .file_name = "tree",
                      .blob_path = blob};
  ASSERT_TRUE(unpack_source(stored, dest()).ok());
  EXPECT_EQ(list_paths(dest()), (std::vector<std::string>{"l", "sub", "sub/f"}));
  EXPECT_EQ(read("l"), "content");
}

}  // namespace
}  // namespace strata::builder::sources
