#include "builder/base_image/base_image.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tests/support/test_image.h"

namespace strata::builder::base_image {
namespace {

using testing::file_entry;

Json parse(std::string_view text) { return *parse_json(text, "test"); }

std::string config_of(const Json& base, const Json& own) {
  return *canonical_json(extend_config(base, own));
}

TEST(ExtendConfig, BaseFieldsAreDefaultsThatTheSpecOverrides) {
  Json base = parse(R"({"architecture":"amd64","os":"linux","variant":"v2",
    "config":{"Entrypoint":["/base"],"Cmd":["run"],"WorkingDir":"/b","User":"1",
              "Env":["PATH=/usr/bin","A=base","B=b"],"Labels":{"k":"base","only":"b"},
              "ExposedPorts":{"80/tcp":{}},"Volumes":{"/v":{}},"StopSignal":"SIGINT",
              "Healthcheck":{"Test":["NONE"]},"OnBuild":null},
    "rootfs":{"type":"layers","diff_ids":["sha256:b1"]},
    "history":[{"created_by":"base 1"},{"created_by":"env","empty_layer":true}]})");
  Json own = parse(R"({"architecture":"amd64","os":"linux","created":"1980-01-01T00:00:00Z",
    "config":{"Cmd":[],"Env":["A=own","C=c"],"Labels":{"k":"own"},"ExposedPorts":{"8080/tcp":{}},
              "Volumes":{"/data":{}},"User":"65532"},
    "rootfs":{"type":"layers","diff_ids":["sha256:s1"]},"history":[{"created_by":"strata"}]})");
  EXPECT_EQ(
      config_of(base, own),
      R"({"architecture":"amd64","config":{"Cmd":[],"Entrypoint":["/base"],)"
      R"("Env":["PATH=/usr/bin","A=own","B=b","C=c"],"ExposedPorts":{"80/tcp":{},"8080/tcp":{}},)"
      R"("Healthcheck":{"Test":["NONE"]},"Labels":{"k":"own","only":"b"},"StopSignal":"SIGINT",)"
      R"("User":"65532","Volumes":{"/data":{},"/v":{}},"WorkingDir":"/b"},)"
      R"("created":"1980-01-01T00:00:00Z","history":[{"created_by":"base 1"},)"
      R"({"created_by":"env","empty_layer":true},{"created_by":"strata"}],"os":"linux",)"
      R"("rootfs":{"diff_ids":["sha256:b1","sha256:s1"],"type":"layers"},"variant":"v2"})");
}

TEST(ExtendConfig, EitherSideMayLackExecutionConfig) {
  Json bare = parse(R"({"os":"linux","rootfs":{"type":"layers","diff_ids":[]}})");
  Json with = parse(R"({"os":"linux","config":{"Cmd":["x"]},"rootfs":{"diff_ids":["sha256:a"]}})");
  EXPECT_EQ(config_of(with, bare),
            R"({"config":{"Cmd":["x"]},"os":"linux","rootfs":{"diff_ids":["sha256:a"],)"
            R"("type":"layers"}})");
  EXPECT_EQ(config_of(bare, with),
            R"({"config":{"Cmd":["x"]},"os":"linux","rootfs":{"diff_ids":["sha256:a"],)"
            R"("type":"layers"}})");
  EXPECT_EQ(config_of(bare, bare), R"({"os":"linux","rootfs":{"diff_ids":[],"type":"layers"}})");
  // Whatever shape a foreign config has, extend_config does not throw.
  EXPECT_EQ(config_of(parse(R"([1,{"config":7}])"), parse(R"({"config":{"Env":"x"}})")),
            R"({"config":{"Env":"x"},"rootfs":{"diff_ids":[],"type":"layers"}})");
}

// Docker's ENTRYPOINT rule: the base's Cmd held arguments for the base's entrypoint.
TEST(ExtendConfig, EntrypointResetsTheBasesCmdUnlessTheSpecSetsCmd) {
  Json base = parse(R"({"config":{"Entrypoint":["/base"],"Cmd":["bash"],"WorkingDir":"/b"}})");
  auto execution = [&](std::string_view own_config) {
    Json own = parse(fmt::format(R"({{"config":{}}})", own_config));
    return *canonical_json(member(extend_config(base, own), "config"));
  };
  EXPECT_EQ(execution(R"({"Entrypoint":["/app"]})"),
            R"({"Entrypoint":["/app"],"WorkingDir":"/b"})");
  EXPECT_EQ(execution(R"({"Entrypoint":["/app"],"Cmd":[]})"),
            R"({"Cmd":[],"Entrypoint":["/app"],"WorkingDir":"/b"})");
  EXPECT_EQ(execution(R"({"Entrypoint":["/app"],"Cmd":["--serve"]})"),
            R"({"Cmd":["--serve"],"Entrypoint":["/app"],"WorkingDir":"/b"})");
  EXPECT_EQ(execution(R"({"WorkingDir":"/w"})"),
            R"({"Cmd":["bash"],"Entrypoint":["/base"],"WorkingDir":"/w"})");
}

class BaseImageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    image_ = testing::write_image(tmp_.path() + "/base",
                                  {{file_entry("a", "1")}, {file_entry("b", "2")}}, "base", "1.0",
                                  Compression::kZstd);
    ref_ = {.path = "base", .digest = image_.manifest.digest, .loc = {"spec.yaml", 4, 9}};
  }
  TempDir tmp_ = testing::make_temp_dir();
  oci::WrittenImage image_;
  specs::ImageRef ref_;
};

TEST_F(BaseImageTest, LoadsLayersConfigAndAnnotations) {
  auto base = load_base_image(ref_, tmp_.path());
  ASSERT_TRUE(base.ok()) << base.error().message();
  EXPECT_EQ(base->manifest.digest, image_.manifest.digest);
  ASSERT_EQ(base->layers.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(base->layers[i].blob.digest, image_.layers[i].digest);
    EXPECT_EQ(base->layers[i].blob.diff_id, image_.layers[i].diff_id);
    EXPECT_EQ(base->layers[i].blob.size, image_.layers[i].size);
    EXPECT_EQ(base->layers[i].blob.media_type, "application/vnd.oci.image.layer.v1.tar+zstd");
  }
  EXPECT_EQ(base->annotations, (std::map<std::string, std::string>{
                                   {kBaseDigestAnnotation, image_.manifest.digest.str()},
                                   {kBaseNameAnnotation, "base:1.0"}}));
  EXPECT_TRUE(check_base_platform(*base, "linux", "amd64").ok());
  auto other = check_base_platform(*base, "linux", "arm64");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().to_string().substr(0, other.error().to_string().find('\n')),
            "spec.yaml:4:9: error: base image base is linux/amd64, but this image is linux/arm64");
}

TEST_F(BaseImageTest, CopiesLayersByteForByte) {
  auto base = load_base_image(ref_, tmp_.path());
  ASSERT_TRUE(base.ok()) << base.error().message();
  std::string blobs = tmp_.path() + "/out/blobs/sha256";
  ASSERT_TRUE(make_dirs(blobs).ok());
  auto copied = copy_base_layers(*base, blobs);
  ASSERT_TRUE(copied.ok()) << copied.error().message();
  ASSERT_EQ(copied->size(), 2u);
  for (const LayerBlob& l : *copied) {
    EXPECT_EQ(*read_file(blobs + "/" + l.digest.hex),
              *read_file(tmp_.path() + "/base/blobs/sha256/" + l.digest.hex));
  }
  // Each layer's entries are read back, for the SBOM and the build summary.
  EXPECT_EQ((*copied)[0].entry_count, 1);
  ASSERT_EQ((*copied)[0].files.size(), 1u);
  EXPECT_EQ((*copied)[0].files.to_vector()[0].path, "a");
  EXPECT_EQ((*copied)[0].files.to_vector()[0].sha256.unpack(), sha256_of("1"));
  EXPECT_EQ((*copied)[0].files.to_vector()[0].size, 1);
  ASSERT_EQ((*copied)[1].files.size(), 1u);
  EXPECT_EQ((*copied)[1].files.to_vector()[0].path, "b");
}

TEST_F(BaseImageTest, TamperedBlobIsNotCopied) {
  auto base = load_base_image(ref_, tmp_.path());
  ASSERT_TRUE(base.ok()) << base.error().message();
  std::string source = base->layers[0].source_path;
  std::string tampered = *read_file(source);
  tampered[tampered.size() / 2] ^= 1;
  ASSERT_TRUE(write_file(source, tampered).ok());
  std::string blobs = tmp_.path() + "/out";
  ASSERT_TRUE(make_dirs(blobs).ok());
  auto copied = copy_base_layers(*base, blobs);
  ASSERT_FALSE(copied.ok());
  EXPECT_EQ(copied.error().code(), ErrorCode::kDigestMismatch);
  EXPECT_EQ(copied.error().message(),
            "base image base: " + source + ": digest mismatch: expected " +
                image_.layers[0].digest.str() + ", actual " + sha256_of(tampered).str());
  EXPECT_TRUE(testing::list_tree(blobs).empty());
}

}  // namespace
}  // namespace strata::builder::base_image
