// Layers found by their inputs (layer_inputs.h, layer_cache.h find_layer_by_inputs): the key
// follows every input, a written layer is found by it whole (files and all), a damaged entry
// is not used, and a remote cache's blob is used only when it reads back as its statement says.
#include "builder/layer/layer_inputs.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include "builder/base/fd.h"
#include "builder/base/fs.h"
#include "builder/layer/layer_blob.h"
#include "builder/layer/layer_cache.h"
#include "tests/support/test_util.h"

namespace strata::builder {
namespace {

// A remote cache holding blobs by input key, each with the DiffID and tar size it claims.
class FakeRemote : public RemoteLayerCache {
 public:
  struct Held {
    std::string bytes;
    Digest diff_id;
    int64_t tar_size = 0;
  };
  std::map<std::string, Held> held;  // by key hex
  std::vector<std::string> rejected;
  int published = 0;

  Result<std::optional<RemoteLayer>> fetch_layer(const Digest&, const LayerBlob&, std::string_view,
                                                 int, const std::string&) override {
    return std::optional<RemoteLayer>();
  }
  Result<void> publish_layer(const Digest&, const LayerBlob&, const std::string&) override {
    return Ok{};
  }
  Result<std::optional<RemoteLayer>> fetch_layer_by_inputs(const Digest& key, std::string_view,
                                                           int fd) override {
    auto it = held.find(key.hex);
    if (it == held.end()) return std::optional<RemoteLayer>();
    STRATA_TRY(write_all(fd, it->second.bytes, "fake"));
    return std::optional<RemoteLayer>(
        RemoteLayer{.digest = sha256_of(it->second.bytes),
                    .size = static_cast<int64_t>(it->second.bytes.size()),
                    .diff_id = it->second.diff_id,
                    .tar_size = it->second.tar_size});
  }
  Result<void> publish_layer_inputs(const Digest& key, const Json&, const LayerBlob& blob,
                                    const std::string& path) override {
    ++published;
    STRATA_TRY_ASSIGN(std::string bytes, read_file(path));
    held[key.hex] = {bytes, blob.diff_id, blob.tar_size};
    return Ok{};
  }
  void reject_layer_by_inputs(const Digest&, const std::string& why) override {
    rejected.push_back(why);
  }
};

class LayerInputsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(write_file(dir_.path() + "/big", std::string(200000, 'x') + "end").ok());
    entries_ = {
        {.path = "usr", .type = EntryType::kDirectory, .mode = 0755},
        {.path = "usr/big", .mode = 0644, .host_path = dir_.path() + "/big", .size = 200003},
        {.path = "usr/hi", .mode = 0644, .content = "hi\n", .size = 3},
        {.path = "usr/hi2", .type = EntryType::kHardlink, .link_target = "usr/hi"},
        {.path = "usr/link", .type = EntryType::kSymlink, .mode = 0777, .link_target = "hi"},
    };
    cache_.cache_dir = dir_.path() + "/cache";
    cache_.warn = [this](const std::string& w) { warnings_.push_back(w); };
    inputs_ = {.packages = {sha256_of("p1")}, .files = sha256_of("f"), .lower = {}};
  }
  std::string blobs() {
    std::string d = dir_.path() + "/blobs" + std::to_string(++n_);
    EXPECT_TRUE(make_dirs(d).ok());
    return d;
  }
  Digest key() { return *layer_input_key(inputs_, options_); }
  // Writes the layer through the cache and notes it under key().
  LayerBlob write_and_note() {
    std::string dir = blobs();
    auto blob = write_layer_blob_cached(entries_, options_, dir, cache_);
    EXPECT_TRUE(blob.ok()) << blob.error().message();
    Result<void> noted = note_layer_inputs(key(), layer_inputs_document(inputs_, options_), *blob,
                                           options_, dir, cache_);
    EXPECT_TRUE(noted.ok()) << noted.error().message();
    return *blob;
  }
  static void expect_same(const LayerBlob& a, const LayerBlob& b) {
    EXPECT_EQ(a.digest, b.digest);
    EXPECT_EQ(a.diff_id, b.diff_id);
    EXPECT_EQ(a.size, b.size);
    EXPECT_EQ(a.tar_size, b.tar_size);
    EXPECT_EQ(a.media_type, b.media_type);
    EXPECT_EQ(a.files, b.files);
  }

  TempDir dir_ = strata::testing::make_temp_dir();
  std::vector<LayerEntry> entries_;
  LayerWriteOptions options_{.compression = Compression::kGzip, .mtime = 1700000000};
  LayerCacheOptions cache_;
  LayerInputs inputs_;
  std::vector<std::string> warnings_;
  int n_ = 0;
};

TEST_F(LayerInputsTest, TheKeyFollowsEveryInput) {
  Digest base = key();
  auto changed = [&](auto change) {
    LayerInputs in = inputs_;
    LayerWriteOptions o = options_;
    change(in, o);
    return *layer_input_key(in, o);
  };
  EXPECT_NE(base,
            changed([](LayerInputs& in, LayerWriteOptions&) { in.packages = {sha256_of("p2")}; }));
  EXPECT_NE(base, changed([](LayerInputs& in, LayerWriteOptions&) {
              in.packages.push_back(sha256_of("p2"));
            }));
  EXPECT_NE(base, changed([](LayerInputs& in, LayerWriteOptions&) { in.files = sha256_of("g"); }));
  EXPECT_NE(base,
            changed([](LayerInputs& in, LayerWriteOptions&) { in.lower = {sha256_of("below")}; }));
  EXPECT_NE(base, changed([](LayerInputs&, LayerWriteOptions& o) { o.mtime = 1; }));
  EXPECT_NE(base, changed([](LayerInputs&, LayerWriteOptions& o) {
              o.compression = Compression::kZstd;
            }));
  EXPECT_EQ(base, changed([](LayerInputs&, LayerWriteOptions& o) { o.jobs = 7; }));
}

TEST_F(LayerInputsTest, EntriesDigestFollowsContentAndMetadata) {
  Digest base = *entries_digest(entries_);
  ASSERT_TRUE(write_file(dir_.path() + "/big", std::string(200000, 'y') + "end").ok());
  EXPECT_NE(base, *entries_digest(entries_));  // the same size and path, other bytes
  ASSERT_TRUE(write_file(dir_.path() + "/big", std::string(200000, 'x') + "end").ok());
  EXPECT_EQ(base, *entries_digest(entries_));
  entries_[2].mode = 0600;
  EXPECT_NE(base, *entries_digest(entries_));
  entries_[2].mode = 0644;
  entries_[2].uid = 1;
  EXPECT_NE(base, *entries_digest(entries_));
  FileRecords records;
  entries_[2].uid = 0;
  ASSERT_TRUE(entries_digest(entries_, &records).ok());
  std::vector<LayerFile> files = records.to_vector();
  ASSERT_EQ(files.size(), entries_.size());
  EXPECT_EQ(files[1].sha256.unpack(), sha256_of(std::string(200000, 'x') + "end"));
  EXPECT_EQ(files[2].sha256.unpack(), sha256_of("hi\n"));
  std::remove((dir_.path() + "/big").c_str());
  EXPECT_FALSE(entries_digest(entries_).ok());  // a host file that cannot be read
}

TEST_F(LayerInputsTest, AWrittenLayerIsFoundWholeByItsKey) {
  EXPECT_FALSE(find_layer_by_inputs(key(), options_, cache_)->has_value());
  LayerBlob written = write_and_note();
  auto found = find_layer_by_inputs(key(), options_, cache_);
  ASSERT_TRUE(found.ok()) << found.error().message();
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->blob.origin, BlobOrigin::kLocalCache);
  expect_same((*found)->blob, written);
  std::string dir = blobs();
  auto copied = copy_found_layer(**found, dir);
  ASSERT_TRUE(copied.ok()) << copied.error().message();
  EXPECT_EQ(sha256_file(dir + "/" + written.digest.hex)->str(), written.digest.str());
  // Another key, or the same inputs uncompressed, finds nothing.
  inputs_.files = sha256_of("other");
  EXPECT_FALSE(find_layer_by_inputs(key(), options_, cache_)->has_value());
  EXPECT_TRUE(warnings_.empty());
}

TEST_F(LayerInputsTest, ADamagedEntryIsNotUsed) {
  LayerBlob written = write_and_note();
  std::string entry =
      cache_.cache_dir + "/layers/sha256/" + layer_cache_key(written.diff_id, options_).hex;
  // Another valid layer's bytes where the blob was: it decompresses to another DiffID.
  entries_[2].content = "ho\n";
  std::string other = blobs();
  auto replaced = write_layer_blob(entries_, options_, other);
  ASSERT_TRUE(replaced.ok());
  ASSERT_TRUE(write_file(entry + "/blob", *read_file(other + "/" + replaced->digest.hex)).ok());
  auto found = find_layer_by_inputs(key(), options_, cache_);
  ASSERT_TRUE(found.ok()) << found.error().message();
  EXPECT_FALSE(found->has_value());
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_NE(warnings_[0].find("is not used (its blob is sha256:"), std::string::npos)
      << warnings_[0];
  EXPECT_FALSE(path_exists(cache_.cache_dir + "/layers/inputs/" + key().hex));
}

TEST_F(LayerInputsTest, ARemoteLayerIsCheckedAndKept) {
  FakeRemote remote;
  cache_.remote = &remote;
  LayerBlob written = write_and_note();
  EXPECT_EQ(remote.published, 1);
  // A second machine: its own cache is empty.
  LayerCacheOptions other{.cache_dir = dir_.path() + "/cache-b", .remote = &remote};
  auto found = find_layer_by_inputs(key(), options_, other);
  ASSERT_TRUE(found.ok()) << found.error().message();
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->blob.origin, BlobOrigin::kRegistryCache);
  expect_same((*found)->blob, written);
  // ... and then it has it itself.
  other.remote = nullptr;
  auto again = find_layer_by_inputs(key(), options_, other);
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_EQ((*again)->blob.origin, BlobOrigin::kLocalCache);
  EXPECT_TRUE(remote.rejected.empty());
}

TEST_F(LayerInputsTest, ARemoteLayerThatIsNotWhatItsStatementSaysIsRejected) {
  FakeRemote remote;
  cache_.remote = &remote;
  LayerBlob written = write_and_note();
  Digest k = key();
  for (int attack = 0; attack < 2; ++attack) {
    FakeRemote::Held& h = remote.held[k.hex];
    h.diff_id = written.diff_id;
    h.tar_size = written.tar_size;
    if (attack == 0) h.diff_id = sha256_of("another tar");  // a statement over another layer
    if (attack == 1) h.tar_size = 1024;                     // a bound the blob exceeds
    LayerCacheOptions other{.cache_dir = dir_.path() + "/cache-" + std::to_string(attack),
                            .remote = &remote};
    auto found = find_layer_by_inputs(k, options_, other);
    ASSERT_TRUE(found.ok()) << found.error().message();
    EXPECT_FALSE(found->has_value()) << attack;
    ASSERT_EQ(remote.rejected.size(), static_cast<size_t>(attack + 1));
    EXPECT_FALSE(path_exists(other.cache_dir + "/layers/inputs/" + k.hex)) << attack;
  }
  EXPECT_NE(remote.rejected[0].find("decompresses to DiffID"), std::string::npos)
      << remote.rejected[0];
  EXPECT_NE(remote.rejected[1].find("decompresses to more than 1024 bytes"), std::string::npos)
      << remote.rejected[1];
}

TEST_F(LayerInputsTest, UncompressedLayersAreNeverFound) {
  options_.compression = Compression::kNone;
  EXPECT_FALSE(find_layer_by_inputs(key(), options_, cache_)->has_value());
}

}  // namespace
}  // namespace strata::builder
