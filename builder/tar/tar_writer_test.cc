#include "builder/tar/tar_writer.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>

#include "builder/base/utf8.h"
#include "builder/tar/layer_reader.h"

namespace strata::builder {
namespace {

class StringOutput : public BlobOutput {
 public:
  Result<void> write(std::string_view bytes) override {
    data.append(bytes);
    return Ok{};
  }
  std::string data;
};

class FailingOutput : public BlobOutput {
 public:
  Result<void> write(std::string_view) override { return Error::io("disk full"); }
};

// Accepts `limit` bytes, then fails: an error in the middle of a layer of many chunks.
class FailingAfterOutput : public BlobOutput {
 public:
  explicit FailingAfterOutput(size_t limit) : limit_(limit) {}
  Result<void> write(std::string_view bytes) override {
    if (written_ + bytes.size() > limit_) return Error::io("disk full later");
    written_ += bytes.size();
    return Ok{};
  }

 private:
  size_t limit_;
  size_t written_ = 0;
};

// Several MiB in files of assorted sizes (half of them incompressible), so the layer passes
// through the writer's threads in many chunks.
std::vector<LayerEntry> large_entries() {
  LayerTree tree;
  uint64_t x = 88172645463325252ULL;
  for (int i = 0; i < 40; ++i) {
    std::string content(static_cast<size_t>(1000 + i * 37000), '\0');
    for (size_t j = 0; j < content.size(); ++j) {
      if (i % 2 == 0) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        content[j] = static_cast<char>(x);
      } else {
        content[j] = static_cast<char>('a' + (j / 7 + i) % 26);
      }
    }
    int64_t size = static_cast<int64_t>(content.size());
    STRATA_CHECK(tree.add({.path = fmt::format("d/f{:02}", i),
                           .mode = 0644,
                           .content = content,
                           .size = size})
                     .ok());
  }
  return *std::move(tree).sorted_entries();
}

std::vector<LayerEntry> sample_entries() {
  LayerTree tree;
  auto add = [&](LayerEntry e) { STRATA_CHECK(tree.add(std::move(e)).ok()); };
  add({.path = "etc/motd", .mode = 0644, .content = "hello\n", .size = 6});
  add({.path = "tmp", .type = EntryType::kDirectory, .mode = 01777});
  add({.path = "usr/bin/hi", .type = EntryType::kSymlink, .mode = 0777, .link_target = "hello"});
  add({.path = "home/app",
       .type = EntryType::kDirectory,
       .mode = 0700,
       .uid = 65532,
       .gid = 65532});
  add({.path = "big/uid", .mode = 0600, .uid = 4000000, .gid = 5, .content = "", .size = 0});
  return *std::move(tree).sorted_entries();
}

struct Written {
  LayerBlob blob;
  std::string bytes;
};

Written write(Compression c, const std::vector<LayerEntry>& entries = sample_entries()) {
  StringOutput out;
  auto blob = write_layer(entries, {.compression = c, .mtime = 1700000000}, out);
  STRATA_CHECK(blob.ok());
  return {*blob, out.data};
}

std::vector<ReadEntry> read_back(const std::string& bytes) {
  std::vector<ReadEntry> out;
  auto n = read_layer_bytes(bytes, [&](const ReadEntry& e) -> Result<void> {
    out.push_back(e);
    return Ok{};
  });
  STRATA_CHECK(n.ok());
  return out;
}

TEST(LayerWriter, RoundTripsEveryAttribute) {
  for (Compression c : {Compression::kGzip, Compression::kZstd, Compression::kNone}) {
    Written w = write(c);
    auto entries = read_back(w.bytes);
    ASSERT_EQ(entries.size(), 10u) << compression_name(c);
    EXPECT_EQ(w.blob.entry_count, 10);
    std::vector<std::string> paths;
    for (const auto& e : entries) {
      paths.push_back(e.path);
      EXPECT_EQ(e.mtime, 1700000000);
      EXPECT_EQ(e.uname, "");
      EXPECT_EQ(e.gname, "");
      EXPECT_FALSE(e.has_atime);
      EXPECT_FALSE(e.has_ctime);
    }
    EXPECT_EQ(paths, (std::vector<std::string>{"big", "big/uid", "etc", "etc/motd", "home",
                                               "home/app", "tmp", "usr", "usr/bin", "usr/bin/hi"}));
    EXPECT_EQ(entries[1].uid, 4000000);  // too large for ustar: a PAX record carries it
    EXPECT_EQ(entries[3].content_digest, sha256_of("hello\n"));
    EXPECT_EQ(entries[5].mode, 0700u);
    EXPECT_EQ(entries[5].uid, 65532);
    EXPECT_EQ(entries[6].mode, 01777u);
    EXPECT_EQ(entries[9].type, EntryType::kSymlink);
    EXPECT_EQ(entries[9].link_target, "hello");
    EXPECT_EQ(w.blob.media_type, layer_media_type(c));
    EXPECT_EQ(w.blob.size, static_cast<int64_t>(w.bytes.size()));
    EXPECT_EQ(w.blob.digest, sha256_of(w.bytes));
  }
}

TEST(LayerWriter, RecordsEveryFileWithItsDigest) {
  LayerTree tree;
  ASSERT_TRUE(tree.add({.path = "a", .mode = 0644, .content = "data", .size = 4}).ok());
  tree.add_hardlink("b", "a", {});
  auto linked = std::move(tree).sorted_entries();
  ASSERT_TRUE(linked.ok());
  Written w = write(Compression::kGzip, *linked);
  ASSERT_EQ(w.blob.files.size(), 2u);
  EXPECT_EQ(w.blob.files.to_vector()[0].path, "a");
  EXPECT_EQ(w.blob.files.to_vector()[0].sha256.unpack(), sha256_of("data"));
  EXPECT_EQ(w.blob.files.to_vector()[1].type, EntryType::kHardlink);
  EXPECT_EQ(w.blob.files.to_vector()[1].sha256.unpack(), sha256_of("data"));
  EXPECT_EQ(w.blob.files.to_vector()[1].size, 4);
  Written sample = write(Compression::kNone);
  ASSERT_EQ(sample.blob.files.size(), 10u);
  EXPECT_EQ(sample.blob.files.to_vector()[3].path, "etc/motd");
  EXPECT_EQ(sample.blob.files.to_vector()[3].sha256.unpack(), sha256_of("hello\n"));
  EXPECT_EQ(sample.blob.files.to_vector()[9].link_target, "hello");
}

TEST(LayerWriter, UncompressedBlobIsTheTarAndEndsWithTwoZeroBlocks) {
  Written w = write(Compression::kNone);
  EXPECT_EQ(w.blob.digest, w.blob.diff_id);
  EXPECT_EQ(w.blob.tar_size, w.blob.size);
  EXPECT_EQ(w.bytes.size() % 512, 0u);
  EXPECT_EQ(w.bytes.substr(w.bytes.size() - 1024), std::string(1024, '\0'));
  EXPECT_NE(w.bytes.substr(w.bytes.size() - 1536, 512), std::string(512, '\0'));
}

TEST(LayerWriter, DiffIdIsTheSameForEveryCompression) {
  Digest none = write(Compression::kNone).blob.diff_id;
  EXPECT_EQ(write(Compression::kGzip).blob.diff_id, none);
  EXPECT_EQ(write(Compression::kZstd).blob.diff_id, none);
}

TEST(LayerWriter, GzipHeaderHasNoNameNoTimestampAndUnixOs) {
  std::string bytes = write(Compression::kGzip).bytes;
  ASSERT_GT(bytes.size(), 10u);
  EXPECT_EQ(static_cast<unsigned char>(bytes[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(bytes[1]), 0x8b);
  EXPECT_EQ(bytes[3], 0);                               // flags: no FNAME, no FCOMMENT
  EXPECT_EQ(bytes.substr(4, 4), std::string(4, '\0'));  // MTIME 0
  EXPECT_EQ(bytes[9], 3);                               // OS: Unix
}

TEST(LayerWriter, OutputIsDeterministic) {
  for (Compression c : {Compression::kGzip, Compression::kZstd, Compression::kNone}) {
    EXPECT_EQ(write(c).bytes, write(c).bytes);
  }
}

// Pins strata-det/1's tar bytes. If this changes, every image digest changes: update it only
// with a commit that says why.
TEST(LayerWriter, GoldenDiffId) {
  EXPECT_EQ(write(Compression::kNone).blob.diff_id.str(),
            "sha256:0aa2ab8d96128df690465ba58e79b66665e9019b68daa4ce3f6dd5a795fe206d");
}

TEST(LayerWriter, OutputErrorIsReported) {
  FailingOutput out;
  auto r = write_layer(sample_entries(), {.compression = Compression::kGzip}, out);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "disk full");
}

TEST(LayerWriter, LargeLayerDigestsAreOfTheBytesWritten) {
  std::vector<LayerEntry> entries = large_entries();
  Written plain = write(Compression::kNone, entries);
  ASSERT_GT(plain.bytes.size(), size_t{20} << 20);
  EXPECT_EQ(plain.blob.diff_id, sha256_of(plain.bytes));
  EXPECT_EQ(plain.blob.digest, plain.blob.diff_id);
  EXPECT_EQ(plain.blob.size, static_cast<int64_t>(plain.bytes.size()));
  EXPECT_EQ(plain.blob.tar_size, plain.blob.size);
  for (Compression c : {Compression::kGzip, Compression::kZstd}) {
    for (DeterminismProfile profile : {DeterminismProfile::kDet1, DeterminismProfile::kDet2}) {
      for (int64_t jobs : {1, 2, 8}) {
        StringOutput out;
        auto blob = write_layer(
            entries, {.compression = c, .mtime = 1700000000, .jobs = jobs, .profile = profile},
            out);
        ASSERT_TRUE(blob.ok()) << blob.error().message();
        EXPECT_EQ(blob->diff_id, plain.blob.diff_id);
        EXPECT_EQ(blob->digest, sha256_of(out.data));
        EXPECT_EQ(blob->size, static_cast<int64_t>(out.data.size()));
        EXPECT_EQ(blob->tar_size, plain.blob.tar_size);
        EXPECT_EQ(blob->files.size(), entries.size());
      }
    }
  }
}

TEST(LayerWriter, OutputErrorInTheMiddleOfALargeLayerIsReported) {
  std::vector<LayerEntry> entries = large_entries();
  for (Compression c : {Compression::kNone, Compression::kGzip, Compression::kZstd}) {
    for (DeterminismProfile profile : {DeterminismProfile::kDet1, DeterminismProfile::kDet2}) {
      for (size_t limit : {size_t{0}, size_t{3} << 20}) {
        FailingAfterOutput out(limit);
        auto r = write_layer(entries, {.compression = c, .jobs = 2, .profile = profile}, out);
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error().message(), "disk full later");
      }
    }
  }
}

TEST(LayerWriter, FdOutputWithWritebackWritesEveryByte) {
  std::vector<LayerEntry> entries = large_entries();
  Written plain = write(Compression::kNone, entries);
  char path[] = "/tmp/strata-tar-writer-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::unlink(path);
  ASSERT_EQ(::write(fd, "x", 1), 1);  // the output starts at an offset other than 0
  FdBlobOutput out(fd, path, /*start_writeback=*/true);
  auto blob = write_layer(entries, {.compression = Compression::kNone, .mtime = 1700000000}, out);
  ASSERT_TRUE(blob.ok());
  std::string back(plain.bytes.size() + 1, '\0');
  ASSERT_EQ(::pread(fd, back.data(), back.size(), 0), static_cast<ssize_t>(back.size()));
  ::close(fd);
  EXPECT_EQ(back, "x" + plain.bytes);
}

TEST(LayerWriter, NonUtf8NameIsRejected) {
  std::vector<LayerEntry> entries = {{.path = "bad\xff", .mode = 0644}};
  StringOutput out;
  auto r = write_layer(entries, {}, out);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "/bad\\xff: file names and link targets must be UTF-8");
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidInput);
}

// Surrogates and overlong forms pass a lead-byte check; libarchive then fails with "Can't
// translate pathname".
TEST(LayerWriter, SurrogateAndOverlongNamesAreRejected) {
  for (std::string name : {"s\xed\xa0\x80", "o\xc0\xaf"}) {
    std::vector<LayerEntry> entries = {{.path = name, .mode = 0644}};
    StringOutput out;
    auto r = write_layer(entries, {}, out);
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_EQ(r.error().message(),
              "/" + escape_bytes(name) + ": file names and link targets must be UTF-8");
  }
}

TEST(LayerWriter, Utf8AndLongNamesAreIndependentOfTheLocale) {
  std::vector<LayerEntry> entries = {
      {.path = "caf\xc3\xa9", .type = EntryType::kDirectory, .mode = 0755},
      {.path = "caf\xc3\xa9/" + std::string(150, 'x'), .mode = 0644}};
  Written w = write(Compression::kNone, entries);
  auto back = read_back(w.bytes);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].path, "caf\xc3\xa9");
  EXPECT_EQ(back[1].path, entries[1].path);
}

TEST(Compression, ParsesNames) {
  EXPECT_EQ(*parse_compression("zstd"), Compression::kZstd);
  EXPECT_EQ(parse_compression("lz4").error().message(),
            "unknown compression 'lz4': use gzip, zstd or none");
}

}  // namespace
}  // namespace strata::builder
