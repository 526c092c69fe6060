#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/base/fs.h"
#include "builder/base/time.h"
#include "builder/oci/image_config.h"
#include "builder/oci/image_reader.h"
#include "builder/oci/layout_writer.h"
#include "builder/oci/media_types.h"
#include "builder/oci/pinned_image.h"
#include "tests/support/test_util.h"

namespace strata::builder::oci {
namespace {

// A tar of (name, type, content) entries written by libarchive as is, hostile names
// included.
struct RawEntry {
  std::string name;
  mode_t type = AE_IFREG;
  std::string content;
};

void write_raw_tar(const std::string& path, const std::vector<RawEntry>& entries) {
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  ASSERT_EQ(archive_write_open_filename(a, path.c_str()), ARCHIVE_OK);
  for (const RawEntry& e : entries) {
    archive_entry* h = archive_entry_new();
    archive_entry_set_pathname(h, e.name.c_str());
    archive_entry_set_filetype(h, e.type);
    archive_entry_set_perm(h, 0644);
    if (e.type == AE_IFLNK) archive_entry_set_symlink(h, e.content.c_str());
    if (e.type == AE_IFREG) archive_entry_set_size(h, static_cast<la_int64_t>(e.content.size()));
    ASSERT_EQ(archive_write_header(a, h), ARCHIVE_OK);
    if (e.type == AE_IFREG) archive_write_data(a, e.content.data(), e.content.size());
    archive_entry_free(h);
  }
  archive_write_close(a);
  archive_write_free(a);
}

class ExtractTar : public ::testing::Test {
 protected:
  std::string extract_error(const std::vector<RawEntry>& entries) {
    write_raw_tar(tar(), entries);
    Result<void> r = extract_tar(tar(), root(), ExtractPolicy::kRefuseOthers);
    return r.ok() ? "ok" : r.error().message();
  }
  std::string tar() const { return dir_.path() + "/layout.tar"; }
  std::string root() const { return dir_.path() + "/root"; }
  TempDir dir_ = std::move(*TempDir::create("/tmp", "strata-oci-extract-"));
};

TEST_F(ExtractTar, ExtractsCleanRelativePaths) {
  EXPECT_EQ(extract_error({{"./blobs/", AE_IFDIR},
                           {"./blobs/sha256/ab", AE_IFREG, "x"},
                           {"index.json", AE_IFREG, "{}"}}),
            "ok");
  EXPECT_EQ(*read_file(root() + "/blobs/sha256/ab"), "x");
  EXPECT_EQ(*read_file(root() + "/index.json"), "{}");
}

TEST_F(ExtractTar, RefusesHostileNamesAndLinks) {
  std::string t = tar();
  EXPECT_EQ(extract_error({{"../evil", AE_IFREG, "x"}}), t + ": unsafe path '../evil'");
  EXPECT_EQ(extract_error({{"a/../../evil", AE_IFREG, "x"}}), t + ": unsafe path 'a/../../evil'");
  EXPECT_EQ(extract_error({{"/tmp/strata-oci-evil", AE_IFREG, "x"}}),
            t + ": absolute path '/tmp/strata-oci-evil'");
  EXPECT_EQ(extract_error({{"a//b", AE_IFREG, "x"}}), t + ": unsafe path 'a//b'");
  EXPECT_EQ(extract_error({{"blobs", AE_IFLNK, "/etc"}}),
            t + ": 'blobs' is not a regular file or directory");
  EXPECT_NE(::access("/tmp/strata-oci-evil", F_OK), 0);
  EXPECT_NE(::access((dir_.path() + "/evil").c_str(), F_OK), 0);
}

TEST_F(ExtractTar, NeverWritesThroughASymlinkAlreadyThere) {
  // The root may hold a symlink from elsewhere (a reused directory): entries below it are
  // refused rather than written wherever it points.
  ASSERT_TRUE(make_dirs(root()).ok());
  ASSERT_TRUE(make_dirs(dir_.path() + "/outside").ok());
  ASSERT_EQ(::symlink((dir_.path() + "/outside").c_str(), (root() + "/blobs").c_str()), 0);
  EXPECT_EQ(extract_error({{"blobs/f", AE_IFREG, "x"}}),
            tar() + ": " + root() + "/blobs/f: 'blobs' is a symlink: symlinks are never followed");
  EXPECT_EQ(extract_error({{"blobs", AE_IFREG, "x"}}),
            tar() + ": " + root() + "/blobs: open 'blobs': File exists");
  EXPECT_NE(::access((dir_.path() + "/outside/f").c_str(), F_OK), 0);
}

TEST(Rfc3339, FormatsUtcWholeSeconds) {
  EXPECT_EQ(rfc3339_utc(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(rfc3339_utc(315532800), "1980-01-01T00:00:00Z");
  EXPECT_EQ(rfc3339_utc(1700000000), "2023-11-14T22:13:20Z");
}

TEST(Config, MapsEveryExecutionField) {
  specs::Image image;
  image.architecture = "arm64";
  image.config.entrypoint = std::vector<std::string>{"/app"};
  image.config.cmd = std::vector<std::string>{};
  image.config.env = {{"PATH", "/bin"}, {"A", "1"}};
  image.config.workdir = "/srv";
  image.config.user = "65532:65532";
  image.config.labels = {{"k", "v"}};
  image.config.ports = {"8080/tcp", "53/udp"};
  image.config.volumes = {"/data"};
  image.config.stop_signal = "SIGINT";
  LayerBlob layer{.diff_id = sha256_of("x")};
  Json c = make_config(image, 0, {layer}, {{.created_by = "strata: layer 1: files"}});
  EXPECT_EQ(
      *canonical_json(c["config"]),
      R"({"Cmd":[],"Entrypoint":["/app"],"Env":["A=1","PATH=/bin"],)"
      R"("ExposedPorts":{"53/udp":{},"8080/tcp":{}},"Labels":{"k":"v"},"StopSignal":"SIGINT",)"
      R"("User":"65532:65532","Volumes":{"/data":{}},"WorkingDir":"/srv"})");
  EXPECT_EQ(c["architecture"], "arm64");
  EXPECT_EQ(c["os"], "linux");
  EXPECT_EQ(c["rootfs"]["diff_ids"][0], layer.diff_id.str());
  EXPECT_EQ(c["history"][0]["created"], "1970-01-01T00:00:00Z");
}

TEST(Config, OmitsEmptyExecutionConfig) {
  specs::Image image;
  image.architecture = "amd64";
  Json c = make_config(image, 0, {}, {});
  EXPECT_FALSE(c.contains("config"));
}

class ReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.path() + "/layout";
    ASSERT_TRUE(prepare_layout_dir(dir_).ok());
    auto layer = write_blob(dir_, "not really a tar", "application/vnd.oci.image.layer.v1.tar");
    ASSERT_TRUE(layer.ok());
    LayerBlob blob{.digest = layer->digest,
                   .diff_id = layer->digest,
                   .size = layer->size,
                   .media_type = layer->media_type};
    specs::Image image;
    image.architecture = "amd64";
    auto written =
        write_layout_documents(dir_, make_config(image, 0, {blob}, {{}}), {blob}, {},
                               {.name = "t", .tag = "v1", .os = "linux", .architecture = "amd64"});
    ASSERT_TRUE(written.ok());
    image_ = *written;
  }
  TempDir tmp_ = testing::make_temp_dir("strata-oci-test-");
  std::string dir_;
  WrittenImage image_;
};

TEST_F(ReaderTest, OpensByTagOrAlone) {
  EXPECT_TRUE(open_image(dir_).ok());
  EXPECT_TRUE(open_image(dir_, "v1").ok());
  auto missing = open_image(dir_, "v2");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message(), dir_ + ": no image tagged 'v2'; tags: v1");
}

// Attestations attached as OCI 1.1 artifacts sit in index.json beside the image; opening the
// layout without a tag must still find the one image, whether the artifact is marked in the
// index (artifactType) or only by its manifest's subject.
TEST_F(ReaderTest, IgnoresArtifactsListedBesideTheImage) {
  auto empty = write_blob(dir_, "{}", "application/vnd.oci.empty.v1+json");
  auto sbom = write_blob(dir_, "{\"spdxVersion\":\"SPDX-2.3\"}", "application/spdx+json");
  ASSERT_TRUE(empty.ok() && sbom.ok());
  Json artifact = {{"schemaVersion", 2},
                   {"mediaType", kManifestMediaType},
                   {"artifactType", "application/spdx+json"},
                   {"config", empty->to_json()},
                   {"layers", {sbom->to_json()}},
                   {"subject", image_.manifest.to_json()}};
  auto manifest = write_blob(dir_, *canonical_json(artifact), kManifestMediaType);
  ASSERT_TRUE(manifest.ok());
  Json index = *parse_json(*read_file(dir_ + "/index.json"), "index.json");
  Json marked = manifest->to_json();
  marked["artifactType"] = "application/spdx+json";
  index["manifests"].push_back(marked);
  index["manifests"].push_back(manifest->to_json());  // unmarked: found by its subject
  ASSERT_TRUE(write_file(dir_ + "/index.json", index.dump()).ok());

  for (const char* tag : {"", "v1"}) {
    auto view = open_image(dir_, tag);
    ASSERT_TRUE(view.ok()) << view.error().message();
    EXPECT_EQ(view->manifest_descriptor.digest, image_.manifest.digest);
    EXPECT_EQ(view->ref_name, "v1");
  }
}

// A nested index (a multi-platform image) is followed to the entry for this platform. Its
// `platform` comes from outside: any JSON there is skipped, never a crash.
TEST_F(ReaderTest, NestedIndexWithHostilePlatformsIsFollowedSafely) {
  Json good = image_.manifest.to_json();
  good["platform"] = {{"os", "linux"}, {"architecture", "amd64"}};
  Json nested = {
      {"schemaVersion", 2}, {"mediaType", kIndexMediaType}, {"manifests", Json::array()}};
  for (Json platform : {Json("linux/amd64"), Json(42), Json::array({1}), Json(nullptr)}) {
    Json entry = image_.manifest.to_json();
    entry["platform"] = platform;
    nested["manifests"].push_back(entry);
  }
  nested["manifests"].push_back(good);
  auto blob = write_blob(dir_, *canonical_json(nested), kIndexMediaType);
  ASSERT_TRUE(blob.ok());
  Json index = {{"schemaVersion", 2}, {"manifests", {blob->to_json()}}};
  ASSERT_TRUE(write_file(dir_ + "/index.json", index.dump()).ok());
  auto view = open_image(dir_);
  ASSERT_TRUE(view.ok()) << view.error().message();
  EXPECT_EQ(view->manifest_descriptor.digest, image_.manifest.digest);
}

TEST_F(ReaderTest, TamperedConfigNamesExpectedAndActualDigest) {
  std::string path = dir_ + "/blobs/sha256/" + image_.config.digest.hex;
  ASSERT_TRUE(write_file(path, "{}").ok());
  auto view = open_image(dir_);
  ASSERT_FALSE(view.ok());
  EXPECT_EQ(view.error().code(), ErrorCode::kDigestMismatch);
  EXPECT_EQ(view.error().message(), path + ": digest mismatch: expected " +
                                        image_.config.digest.str() + ", actual " +
                                        sha256_of("{}").str());
}

TEST_F(ReaderTest, OpensByDigestAmongSeveralImages) {
  // A second image in the same layout: its own config and manifest, both listed in index.json.
  specs::Image arm;
  arm.architecture = "arm64";
  auto config = write_blob(dir_, *canonical_json(make_config(arm, 0, {}, {})), kConfigMediaType);
  ASSERT_TRUE(config.ok());
  auto manifest =
      write_blob(dir_, *canonical_json(make_manifest(*config, {}, {})), kManifestMediaType);
  ASSERT_TRUE(manifest.ok());
  Json index = *parse_json(*read_file(dir_ + "/index.json"), "index.json");
  index["manifests"].push_back(manifest->to_json());
  ASSERT_TRUE(write_file(dir_ + "/index.json", index.dump()).ok());

  auto ambiguous = open_image(dir_);
  ASSERT_FALSE(ambiguous.ok());
  EXPECT_EQ(ambiguous.error().message(),
            dir_ + ": the index lists several images: name one with IMAGE:TAG");
  auto first = open_image_by_digest(dir_, image_.manifest.digest);
  ASSERT_TRUE(first.ok()) << first.error().message();
  EXPECT_EQ(first->ref_name, "v1");
  EXPECT_EQ(first->layers.size(), 1u);
  auto second = open_image_by_digest(dir_, manifest->digest);
  ASSERT_TRUE(second.ok()) << second.error().message();
  EXPECT_EQ(second->config["architecture"], "arm64");
  EXPECT_TRUE(second->layers.empty());
}

TEST_F(ReaderTest, DigestNotInLayoutNamesTheDigestsItHas) {
  Digest wanted = sha256_of("another image");
  auto view = open_image_by_digest(dir_, wanted);
  ASSERT_FALSE(view.ok());
  EXPECT_EQ(view.error().code(), ErrorCode::kDigestMismatch);
  EXPECT_EQ(view.error().message(), dir_ + ": manifest digest mismatch: expected " + wanted.str() +
                                        ", actual " + image_.manifest.digest.str());
}

// One check for environment and base images (issue 11): a layer descriptor whose size is not
// its blob's is refused when the pinned image is opened, before any mode reads the blob.
TEST_F(ReaderTest, PinnedImageRefusesALayerWhoseDescriptorSizeLies) {
  specs::ImageRef good{.path = "layout", .digest = image_.manifest.digest};
  ASSERT_TRUE(open_pinned_image(good, tmp_.path()).ok());
  Json manifest =
      *parse_json(*read_file(dir_ + "/blobs/sha256/" + image_.manifest.digest.hex), "manifest");
  int64_t size = manifest["layers"][0]["size"].get<int64_t>();
  manifest["layers"][0]["size"] = size + 1;
  auto lying = write_blob(dir_, *canonical_json(manifest), kManifestMediaType);
  ASSERT_TRUE(lying.ok());
  Json index = *parse_json(*read_file(dir_ + "/index.json"), "index.json");
  index["manifests"] = Json::array({lying->to_json()});
  ASSERT_TRUE(write_file(dir_ + "/index.json", index.dump()).ok());
  ASSERT_TRUE(open_image_by_digest(dir_, lying->digest).ok()) << "the reader alone accepts it";
  auto view = open_pinned_image({.path = "layout", .digest = lying->digest}, tmp_.path());
  ASSERT_FALSE(view.ok());
  EXPECT_EQ(view.error().code(), ErrorCode::kDigestMismatch);
  EXPECT_EQ(view.error().message(),
            fmt::format("image layout: layer 1 of 1 ({}): size mismatch: the manifest says {}, "
                        "the blob has {}",
                        manifest["layers"][0]["digest"].get<std::string>(), size + 1, size));
}

// Issue 13 part 6: an image's documents are hostile input. Each case is a clear error, before
// a huge read, an endless read or a recursive walk can happen.
TEST_F(ReaderTest, EndlessOrHugeIndexIsRefusedUnread) {
  std::string index = dir_ + "/index.json";
  ASSERT_EQ(::unlink(index.c_str()), 0);
  ASSERT_EQ(::symlink("/dev/zero", index.c_str()), 0);
  auto endless = open_image(dir_);
  ASSERT_FALSE(endless.ok());
  EXPECT_EQ(endless.error().message(), dir_ + ": " + index + " is not a regular file");

  ASSERT_EQ(::unlink(index.c_str()), 0);
  ASSERT_EQ(::mkfifo(index.c_str(), 0600), 0);  // a FIFO with no writer must not block
  EXPECT_FALSE(open_image(dir_).ok());

  ASSERT_EQ(::unlink(index.c_str()), 0);
  ASSERT_TRUE(write_file(index, std::string(kMaxDocumentBytes + 1, ' ')).ok());
  auto huge = open_image(dir_);
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.error().code(), ErrorCode::kInvalidInput);
  EXPECT_EQ(huge.error().message(),
            fmt::format("{}: {} is {} bytes, more than the limit of {} bytes", dir_, index,
                        kMaxDocumentBytes + 1, kMaxDocumentBytes));
}

// A config nested 100,000 deep (valid JSON, correct digest): refused at parse time, because
// every later walk of it (inspect --json, diff, canonical JSON) is recursive.
TEST_F(ReaderTest, DeeplyNestedConfigIsRefused) {
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  auto config = write_blob(dir_, "{\"x\":" + deep + "}", kConfigMediaType);
  ASSERT_TRUE(config.ok());
  Json manifest =
      *parse_json(*read_file(dir_ + "/blobs/sha256/" + image_.manifest.digest.hex), "manifest");
  manifest["config"] = config->to_json();
  auto blob = write_blob(dir_, *canonical_json(manifest), kManifestMediaType);
  ASSERT_TRUE(blob.ok());
  Json index = {{"schemaVersion", 2}, {"manifests", {blob->to_json()}}};
  ASSERT_TRUE(write_file(dir_ + "/index.json", index.dump()).ok());
  auto view = open_image(dir_);
  ASSERT_FALSE(view.ok());
  EXPECT_EQ(view.error().code(), ErrorCode::kInvalidInput);
  EXPECT_NE(view.error().message().find("nest more than 128 levels"), std::string::npos)
      << view.error().message();
  // Strings may hold brackets: they are not nesting.
  EXPECT_TRUE(parse_json("[\"" + std::string(1000, '[') + "\\\"[\"]", "t").ok());
}

TEST_F(ReaderTest, ImpossibleDescriptorSizesAreRefused) {
  Json manifest =
      *parse_json(*read_file(dir_ + "/blobs/sha256/" + image_.manifest.digest.hex), "manifest");
  for (Json size : {Json(uint64_t{1} << 63), Json(-1)}) {
    Json lying = manifest;
    lying["layers"][0]["size"] = size;
    auto blob = write_blob(dir_, *canonical_json(lying), kManifestMediaType);
    ASSERT_TRUE(blob.ok());
    Json index = {{"schemaVersion", 2}, {"manifests", {blob->to_json()}}};
    ASSERT_TRUE(write_file(dir_ + "/index.json", index.dump()).ok());
    auto view = open_image(dir_);
    ASSERT_FALSE(view.ok()) << size.dump();
    EXPECT_EQ(view.error().code(), ErrorCode::kInvalidInput);
    EXPECT_NE(view.error().message().find("impossible size " + size.dump()), std::string::npos)
        << view.error().message();
  }
  // A config descriptor claiming 1 GiB is refused before its blob is read.
  Json big = manifest;
  big["config"]["size"] = int64_t{1} << 30;
  auto blob = write_blob(dir_, *canonical_json(big), kManifestMediaType);
  ASSERT_TRUE(blob.ok());
  Json index = {{"schemaVersion", 2}, {"manifests", {blob->to_json()}}};
  ASSERT_TRUE(write_file(dir_ + "/index.json", index.dump()).ok());
  auto view = open_image(dir_);
  ASSERT_FALSE(view.ok());
  EXPECT_NE(view.error().message().find("larger than the limit of 4194304 bytes"),
            std::string::npos)
      << view.error().message();
}

TEST_F(ReaderTest, MissingIndexIsNotALayout) {
  auto view = open_image(tmp_.path());
  ASSERT_FALSE(view.ok());
  EXPECT_EQ(view.error().message(), tmp_.path() + ": not an OCI image layout (no index.json)");
}

}  // namespace
}  // namespace strata::builder::oci
