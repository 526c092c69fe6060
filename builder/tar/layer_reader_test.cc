#include "builder/tar/layer_reader.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>

#include <cstring>

#include "builder/base/fd.h"
#include "builder/base/fs.h"
#include "tests/support/test_util.h"

namespace strata::builder {
namespace {

// The layer of `entries`, written into the file `path` as strata writes a blob.
Result<LayerBlob> write_to(const std::string& path, const std::vector<LayerEntry>& entries,
                           const LayerWriteOptions& options) {
  STRATA_TRY_ASSIGN(UniqueFd fd, open_fd(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  FdBlobOutput out(fd.get(), path);
  return write_layer(entries, options, out);
}

std::vector<LayerEntry> entries() {
  LayerTree tree;
  auto add = [&](LayerEntry e) { STRATA_CHECK(tree.add(std::move(e)).ok()); };
  add({.path = "etc/motd", .mode = 0644, .content = "hello\n", .size = 6});
  add({.path = "tmp", .type = EntryType::kDirectory, .mode = 01777});
  add({.path = "usr/bin/hi", .type = EntryType::kSymlink, .mode = 0777, .link_target = "hello"});
  add({.path = "home/app", .type = EntryType::kDirectory, .mode = 0700, .uid = 7, .gid = 8});
  add({.path = "big/uid", .mode = 0600, .uid = 4000000, .gid = 5, .content = "", .size = 0});
  add({.path = std::string(150, 'n') + "/f", .mode = 0640, .content = "long", .size = 4});
  tree.add_hardlink("etc/motd.link", "etc/motd", {});
  return *std::move(tree).sorted_entries();
}

// What a layer written by strata records of its files is what reading it back finds, for
// every compression: a layer taken from a cache lists the same files in the SBOM.
TEST(ReadLayerFiles, FindsWhatTheWriterRecorded) {
  TempDir dir = testing::make_temp_dir();
  for (Compression c : {Compression::kGzip, Compression::kZstd, Compression::kNone}) {
    std::string path = dir.path() + "/layer";
    auto written = write_to(path, entries(), {.compression = c, .mtime = 1700000000});
    ASSERT_TRUE(written.ok()) << written.error().message();
    LayerBlob read;
    ASSERT_TRUE(read_layer_files(path, written->tar_size, read).ok());
    EXPECT_EQ(read.diff_id, written->diff_id) << compression_name(c);
    EXPECT_EQ(read.tar_size, written->tar_size);
    EXPECT_EQ(read.entry_count, written->entry_count);
    std::vector<LayerFile> read_files = read.files.to_vector();
    std::vector<LayerFile> written_files = written->files.to_vector();
    ASSERT_EQ(read_files.size(), written_files.size());
    for (size_t i = 0; i < read_files.size(); ++i) {
      const LayerFile& a = read_files[i];
      const LayerFile& b = written_files[i];
      EXPECT_EQ(a.path, b.path);
      EXPECT_EQ(a.type, b.type) << a.path;
      EXPECT_EQ(a.mode, b.mode) << a.path;
      EXPECT_EQ(a.uid, b.uid) << a.path;
      EXPECT_EQ(a.gid, b.gid) << a.path;
      EXPECT_EQ(a.size, b.size) << a.path;
      EXPECT_EQ(a.sha256, b.sha256) << a.path;
      EXPECT_EQ(a.link_target, b.link_target) << a.path;
    }
  }
}

// A tar from elsewhere (a cache, a registry) names its hardlinks' targets as it likes: a
// target with a "./" prefix is the file without it; one that comes later or not at all
// gives the hardlink no digest, and reading goes on.
TEST(ReadLayerFiles, HardlinksTakeTheDigestOfAnEarlierFileOnly) {
  TempDir dir = testing::make_temp_dir();
  std::string path = dir.path() + "/layer.tar";
  archive* w = archive_write_new();
  ASSERT_EQ(archive_write_set_format_pax_restricted(w), ARCHIVE_OK);
  ASSERT_EQ(archive_write_open_filename(w, path.c_str()), ARCHIVE_OK);
  auto add = [&](const char* name, const char* content, const char* hardlink) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    if (hardlink != nullptr) archive_entry_set_hardlink(e, hardlink);
    size_t size = hardlink != nullptr ? 0 : std::strlen(content);
    archive_entry_set_size(e, static_cast<la_int64_t>(size));
    ASSERT_EQ(archive_write_header(w, e), ARCHIVE_OK);
    if (size > 0) {
      ASSERT_EQ(archive_write_data(w, content, size), static_cast<la_ssize_t>(size));
    }
    archive_entry_free(e);
  };
  add("./a", "x", nullptr);
  add("./h1", nullptr, "./a");
  add("./h2", nullptr, "later");
  add("./later", "later", nullptr);
  add("./h3", nullptr, "missing");
  ASSERT_EQ(archive_write_close(w), ARCHIVE_OK);
  archive_write_free(w);

  LayerBlob read;
  auto r = read_layer_files(path, 1 << 20, read);
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(read.files.size(), 5u);
  EXPECT_EQ(read.files.to_vector()[1].path, "h1");
  EXPECT_EQ(read.files.to_vector()[1].sha256.unpack(), sha256_of("x"));
  EXPECT_EQ(read.files.to_vector()[1].size, 1);
  for (size_t i : {2u, 4u}) {
    EXPECT_TRUE(read.files.to_vector()[i].sha256.empty()) << read.files.to_vector()[i].path;
    EXPECT_EQ(read.files.to_vector()[i].size, 0) << read.files.to_vector()[i].path;
  }
  EXPECT_EQ(read.files.to_vector()[3].sha256.unpack(), sha256_of("later"));
}

// A blob that expands past the bound it is read with is refused, not read to its end.
TEST(ReadLayerFiles, RefusesMoreThanTheBound) {
  TempDir dir = testing::make_temp_dir();
  std::string path = dir.path() + "/layer";
  auto written = write_to(path, entries(), {.compression = Compression::kGzip});
  ASSERT_TRUE(written.ok()) << written.error().message();
  LayerBlob read;
  Result<void> r = read_layer_files(path, written->tar_size - 1, read);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("decompresses to more than"), std::string::npos)
      << r.error().message();
}

}  // namespace
}  // namespace strata::builder
