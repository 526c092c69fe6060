// The layer blob cache: a miss writes and stores, a hit copies the stored bytes (and is the
// same LayerBlob), a damaged entry is rewritten with a warning, and the key follows exactly
// what fixes the bytes.
#include "builder/layer/layer_cache.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "builder/base/fs.h"
#include "builder/layer/layer_blob.h"
#include "tests/support/test_util.h"

namespace strata::builder {
namespace {

class LayerCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(write_file(dir_.path() + "/big", std::string(300000, 'x') + "end").ok());
    entries_ = {
        {.path = "usr", .type = EntryType::kDirectory, .mode = 0755},
        {.path = "usr/big", .mode = 0644, .host_path = dir_.path() + "/big", .size = 300003},
        {.path = "usr/hi", .mode = 0644, .content = "hi\n", .size = 3},
        {.path = "usr/link", .type = EntryType::kSymlink, .mode = 0777, .link_target = "hi"},
    };
    cache_.cache_dir = dir_.path() + "/cache";
    cache_.warn = [this](const std::string& w) { warnings_.push_back(w); };
  }

  // A fresh blobs directory for each write.
  std::string blobs() {
    std::string d = dir_.path() + "/blobs" + std::to_string(++n_);
    EXPECT_TRUE(make_dirs(d).ok());
    return d;
  }
  std::string entry_path(const LayerBlob& blob) const {
    return cache_.cache_dir + "/layers/sha256/" + layer_cache_key(blob.diff_id, options_).hex;
  }

  TempDir dir_ = strata::testing::make_temp_dir();
  std::vector<LayerEntry> entries_;
  LayerWriteOptions options_{.compression = Compression::kGzip, .mtime = 1700000000};
  LayerCacheOptions cache_;
  std::vector<std::string> warnings_;
  int n_ = 0;
};

TEST_F(LayerCacheTest, AMissIsStoredAndAHitIsTheSameBlob) {
  std::string plain_dir = blobs();
  auto plain = write_layer_blob(entries_, options_, plain_dir);
  ASSERT_TRUE(plain.ok()) << plain.error().message();

  std::string first_dir = blobs();
  auto first = write_layer_blob_cached(entries_, options_, first_dir, cache_);
  ASSERT_TRUE(first.ok()) << first.error().message();
  EXPECT_EQ(first->digest, plain->digest);
  EXPECT_EQ(first->diff_id, plain->diff_id);
  ASSERT_TRUE(path_exists(entry_path(*first) + "/blob"));
  EXPECT_EQ(*read_file(entry_path(*first) + "/blob"),
            *read_file(first_dir + "/" + first->digest.hex));

  std::string second_dir = blobs();
  auto second = write_layer_blob_cached(entries_, options_, second_dir, cache_);
  ASSERT_TRUE(second.ok()) << second.error().message();
  EXPECT_EQ(second->digest, plain->digest);
  EXPECT_EQ(second->diff_id, plain->diff_id);
  EXPECT_EQ(second->size, plain->size);
  EXPECT_EQ(second->tar_size, plain->tar_size);
  EXPECT_EQ(second->entry_count, plain->entry_count);
  EXPECT_EQ(second->media_type, plain->media_type);
  std::vector<LayerFile> second_files = second->files.to_vector();
  std::vector<LayerFile> plain_files = plain->files.to_vector();
  ASSERT_EQ(second_files.size(), plain_files.size());
  for (size_t i = 0; i < plain_files.size(); ++i) {
    EXPECT_EQ(second_files[i].path, plain_files[i].path);
    EXPECT_EQ(second_files[i].sha256, plain_files[i].sha256);
  }
  EXPECT_EQ(*read_file(second_dir + "/" + second->digest.hex),
            *read_file(plain_dir + "/" + plain->digest.hex));
  EXPECT_TRUE(warnings_.empty());
}

TEST_F(LayerCacheTest, AHitCopiesTheStoredBytes) {
  auto first = write_layer_blob_cached(entries_, options_, blobs(), cache_);
  ASSERT_TRUE(first.ok());
  // An entry whose bytes and layer.json agree is used as it is: what proves the copy
  // came from the cache and was not compressed again.
  std::string entry = entry_path(*first);
  ASSERT_TRUE(write_file(entry + "/blob", "stored bytes").ok());
  Digest d = sha256_of("stored bytes");
  ASSERT_TRUE(write_file(entry + "/layer.json", R"({"digest":")" + d.str() +
                                                    R"(","diff_id":"","media_type":"","size":12})")
                  .ok());
  std::string out = blobs();
  auto hit = write_layer_blob_cached(entries_, options_, out, cache_);
  ASSERT_TRUE(hit.ok()) << hit.error().message();
  EXPECT_EQ(hit->digest, d);
  EXPECT_EQ(hit->diff_id, first->diff_id);
  EXPECT_EQ(*read_file(out + "/" + d.hex), "stored bytes");
}

TEST_F(LayerCacheTest, ADamagedEntryIsRewrittenWithAWarning) {
  auto first = write_layer_blob_cached(entries_, options_, blobs(), cache_);
  ASSERT_TRUE(first.ok());
  std::string entry = entry_path(*first);
  ASSERT_TRUE(write_file(entry + "/blob", "flipped").ok());
  std::string out = blobs();
  auto again = write_layer_blob_cached(entries_, options_, out, cache_);
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ(again->digest, first->digest);
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_NE(warnings_[0].find("is damaged"), std::string::npos) << warnings_[0];
  EXPECT_EQ(*sha256_file(entry + "/blob"), first->digest);  // rewritten
  EXPECT_EQ(*sha256_file(out + "/" + first->digest.hex), first->digest);

  ASSERT_TRUE(write_file(entry + "/layer.json", "not json").ok());
  auto third = write_layer_blob_cached(entries_, options_, blobs(), cache_);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->digest, first->digest);
  EXPECT_EQ(warnings_.size(), 2u);
}

TEST_F(LayerCacheTest, TheKeyFollowsWhatFixesTheBytes) {
  Digest id = sha256_of("tar");
  LayerWriteOptions zstd = options_;
  zstd.compression = Compression::kZstd;
  LayerWriteOptions det1 = options_;
  det1.profile = DeterminismProfile::kDet1;
  LayerWriteOptions jobs = options_;
  jobs.jobs = 8;
  EXPECT_NE(layer_cache_key(id, options_), layer_cache_key(sha256_of("other"), options_));
  EXPECT_NE(layer_cache_key(id, options_), layer_cache_key(id, zstd));
  EXPECT_NE(layer_cache_key(id, options_), layer_cache_key(id, det1));
  EXPECT_EQ(layer_cache_key(id, options_), layer_cache_key(id, jobs));  // same bytes
}

TEST_F(LayerCacheTest, ACacheThatCannotBeUsedIsGivenUpOnceAndTheLayerStillWritten) {
  ASSERT_TRUE(write_file(dir_.path() + "/not-a-dir", "").ok());
  cache_.cache_dir = dir_.path() + "/not-a-dir";
  auto plain = write_layer_blob(entries_, options_, blobs());
  ASSERT_TRUE(plain.ok());
  for (int i = 0; i < 2; ++i) {
    auto blob = write_layer_blob_cached(entries_, options_, blobs(), cache_);
    ASSERT_TRUE(blob.ok()) << blob.error().message();
    EXPECT_EQ(blob->digest, plain->digest);
  }
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_NE(warnings_[0].find("the layer cache is not used for this build"), std::string::npos)
      << warnings_[0];
  EXPECT_TRUE(cache_.cache_dir.empty());
}

TEST_F(LayerCacheTest, NoCacheDirectoryKeepsNothing) {
  cache_.cache_dir.clear();
  auto blob = write_layer_blob_cached(entries_, options_, blobs(), cache_);
  ASSERT_TRUE(blob.ok());
  EXPECT_FALSE(path_exists(dir_.path() + "/cache"));
}

TEST_F(LayerCacheTest, ALayerNeverSeenIsCompressedWithoutALookupPass) {
  auto first = write_layer_blob_cached(entries_, options_, blobs(), cache_);
  ASSERT_TRUE(first.ok()) << first.error().message();
  EXPECT_EQ(cache_.lookup_passes, 0) << "nothing to find: one pass";
  ASSERT_TRUE(path_exists(entry_path(*first) + "/blob"));

  auto second = write_layer_blob_cached(entries_, options_, blobs(), cache_);
  ASSERT_TRUE(second.ok()) << second.error().message();
  EXPECT_EQ(cache_.lookup_passes, 1) << "seen before: looked up";
  EXPECT_EQ(second->digest, first->digest);
  ASSERT_EQ(second->files.size(), first->files.size());

  // A host file rewritten (its mtime moves): a new fingerprint, compressed at once.
  ASSERT_TRUE(write_file(dir_.path() + "/big", std::string(300000, 'y') + "end").ok());
  struct timespec times[2] = {{.tv_sec = 1234567, .tv_nsec = 0}, {.tv_sec = 1234567, .tv_nsec = 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (dir_.path() + "/big").c_str(), times, 0), 0);
  auto changed = write_layer_blob_cached(entries_, options_, blobs(), cache_);
  ASSERT_TRUE(changed.ok()) << changed.error().message();
  EXPECT_EQ(cache_.lookup_passes, 1);
  EXPECT_NE(changed->diff_id, first->diff_id);
  EXPECT_TRUE(warnings_.empty());
}

TEST_F(LayerCacheTest, AHintNeverStandsInForTheContent) {
  // Every hint present, pointing nowhere useful: each write looks up by the real DiffID.
  auto first = write_layer_blob_cached(entries_, options_, blobs(), cache_);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(remove_tree(entry_path(*first)).ok());
  std::string plain_dir = blobs();
  auto plain = write_layer_blob(entries_, options_, plain_dir);
  auto again = write_layer_blob_cached(entries_, options_, blobs(), cache_);
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ(cache_.lookup_passes, 1);
  EXPECT_EQ(again->digest, plain->digest);
  EXPECT_TRUE(path_exists(entry_path(*again) + "/blob")) << "stored again";
}

TEST_F(LayerCacheTest, UncompressedLayersAreWrittenNotCached) {
  LayerWriteOptions none = options_;
  none.compression = Compression::kNone;
  std::string plain_dir = blobs();
  auto plain = write_layer_blob(entries_, none, plain_dir);
  ASSERT_TRUE(plain.ok());
  auto blob = write_layer_blob_cached(entries_, none, blobs(), cache_);
  ASSERT_TRUE(blob.ok()) << blob.error().message();
  EXPECT_EQ(blob->digest, plain->digest);
  EXPECT_EQ(blob->digest, blob->diff_id);
  EXPECT_FALSE(path_exists(dir_.path() + "/cache"));
}

}  // namespace
}  // namespace strata::builder
