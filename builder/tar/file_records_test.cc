#include "builder/tar/file_records.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "builder/base/beneath.h"
#include "builder/base/fs.h"
#include "tests/support/test_util.h"

namespace strata::builder {
namespace {

LayerFile file(std::string path, int64_t size, uint8_t digest_byte) {
  LayerFile f{.path = std::move(path), .mode = 0644, .uid = 1000, .gid = 1000, .size = size};
  f.sha256.bytes.fill(digest_byte);
  return f;
}

TEST(FileRecords, ReadsBackWhatWasAppendedInOrder) {
  std::vector<LayerFile> in = {
      {.path = "etc", .type = EntryType::kDirectory, .mode = 0755},
      file("etc/motd", 12, 0xab),
      {.path = "etc/link", .type = EntryType::kSymlink, .mode = 0777, .link_target = "motd"},
      {.path = "etc/hard",
       .type = EntryType::kHardlink,
       .mode = 0644,
       .size = 12,
       .link_target = "etc/motd"},
      // What a hostile tar may carry reads back as it was, not as a clamped value.
      {.path = "odd", .mode = 07777, .uid = -5, .gid = int64_t{1} << 40, .size = -1},
  };
  in[3].sha256 = in[1].sha256;
  FileRecords records(in);
  EXPECT_EQ(records.size(), in.size());
  EXPECT_EQ(records.to_vector(), in);
  size_t i = 0;
  for (const LayerFile& f : records) EXPECT_EQ(f, in[i++]) << i;
  EXPECT_EQ(i, in.size());
}

TEST(FileRecords, EmptyHasNoRecords) {
  FileRecords records;
  EXPECT_TRUE(records.empty());
  EXPECT_TRUE(records.begin() == records.end());
  records.push_back(file("a", 1, 1));
  records.clear();
  EXPECT_TRUE(records.empty());
  EXPECT_TRUE(records.begin() == records.end());
}

TEST(FileRecords, SpansChunksAndTakesLessThanTheStructs) {
  FileRecords records;
  std::vector<LayerFile> in;
  for (int i = 0; i < 20000; ++i) {
    in.push_back(file("data/d" + std::to_string(i % 100) + "/f" + std::to_string(i), i,
                      static_cast<uint8_t>(i)));
    records.push_back(in.back());
  }
  // A path longer than a chunk gets a chunk of its own.
  in.push_back(file(std::string(100000, 'x'), 1, 2));
  records.push_back(in.back());
  in.push_back(file("z", 1, 3));
  records.push_back(in.back());
  EXPECT_EQ(records.to_vector(), in);
  EXPECT_LT(records.packed_bytes(), 20000 * 64 + 100000 + 200);
  EXPECT_TRUE(records == FileRecords(in));
  in.back().mode = 0600;
  EXPECT_FALSE(records == FileRecords(in));
}

TEST(FileRecords, SpillsFullChunksToAnUnlinkedFileAndReadsThemBack) {
  TempDir dir = testing::make_temp_dir();
  // The temporary directory's file system may lack O_TMPFILE; then nothing spills (the next
  // test covers that) and there is nothing to read back.
  int probe = ::open(dir.path().c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (probe < 0) GTEST_SKIP() << "no O_TMPFILE in " << dir.path() << ": " << std::strerror(errno);
  ::close(probe);
  FileRecords records;
  records.spill_to(dir.path());
  std::vector<LayerFile> in;
  for (int i = 0; i < 20000; ++i) {
    in.push_back(file("data/f" + std::to_string(i), i, static_cast<uint8_t>(i)));
    records.push_back(in.back());
  }
  ASSERT_TRUE(records.is_spilled());
  EXPECT_EQ(records.to_vector(), in);
  EXPECT_EQ(records.to_vector(), in);  // every pass reads it again
  FileRecords copy = records;          // copies share the file
  records.clear();
  EXPECT_EQ(copy.to_vector(), in);
  EXPECT_FALSE(copy.read_error());
  // Unlinked: nothing is left in the directory.
  EXPECT_TRUE(list_dir(dir.path())->empty());
}

TEST(FileRecords, StaysInMemoryWhereNoFileCanBeMade) {
  FileRecords records;
  records.spill_to("/nonexistent-strata-dir");
  for (int i = 0; i < 5000; ++i) records.push_back(file("f" + std::to_string(i), i, 1));
  EXPECT_FALSE(records.is_spilled());
  EXPECT_EQ(records.size(), 5000u);
  EXPECT_EQ(records.to_vector().back().path, "f4999");
}

}  // namespace
}  // namespace strata::builder
