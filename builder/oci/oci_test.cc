#include <gtest/gtest.h>

#include "builder/base/fs.h"
#include "builder/oci/image_config.h"
#include "builder/oci/image_reader.h"
#include "builder/oci/layout_writer.h"
#include "builder/oci/media_types.h"

namespace strata::builder::oci {
namespace {

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
    auto t = TempDir::create("/tmp", "strata-oci-test-");
    ASSERT_TRUE(t.ok());
    tmp_ = std::make_unique<TempDir>(*std::move(t));
    dir_ = tmp_->path() + "/layout";
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
  std::unique_ptr<TempDir> tmp_;
  std::string dir_;
  WrittenImage image_;
};

TEST_F(ReaderTest, OpensByTagOrAlone) {
  EXPECT_TRUE(open_image(dir_).ok());
  EXPECT_TRUE(open_image(dir_, "v1").ok());
  auto missing = open_image(dir_, "v2");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message(), dir_ + ": no image tagged 'v2'");
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

TEST_F(ReaderTest, MissingIndexIsNotALayout) {
  auto view = open_image(tmp_->path());
  ASSERT_FALSE(view.ok());
  EXPECT_EQ(view.error().message(), tmp_->path() + ": not an OCI image layout (no index.json)");
}

}  // namespace
}  // namespace strata::builder::oci
