#include "builder/pipeline.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "builder/base/fs.h"
#include "builder/oci/image_reader.h"
#include "tests/support/spec_fixture.h"

namespace strata::builder {
namespace {

class PipelineTest : public SpecFixture {
 protected:
  void SetUp() override {
    SpecFixture::SetUp();
    plan_.spec.image.config.entrypoint = std::vector<std::string>{"/bin/true"};
  }
};

TEST_F(PipelineTest, BuildsAReadableLayoutAndArchive) {
  BuildOptions options{.output_root = tmp_.path() + "/out", .write_archive = true};
  auto result = build_image(plan_, options);
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  EXPECT_EQ(result->layout_dir, tmp_.path() + "/out/demo");
  for (const std::string& source : {result->layout_dir, result->archive_path}) {
    auto view = oci::open_image(source);
    ASSERT_TRUE(view.ok()) << view.error().to_string();
    EXPECT_EQ(view->manifest_descriptor.digest, result->image.manifest.digest);
    EXPECT_EQ(view->ref_name, "1.0");
    EXPECT_EQ(view->config["created"], "2023-11-14T22:13:20Z");
    EXPECT_EQ(view->config["config"]["Entrypoint"][0], "/bin/true");
  }
  EXPECT_TRUE(exists(result->layout_dir + "/manifest.json"));
}

TEST_F(PipelineTest, RebuildGivesTheSameDigestAndReplacesTheLayout) {
  BuildOptions options{.output_root = tmp_.path() + "/out"};
  auto first = build_image(plan_, options);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(write_file(first->layout_dir + "/stale", "x").ok());
  auto second = build_image(plan_, options);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(first->image.manifest.digest, second->image.manifest.digest);
  EXPECT_FALSE(exists(second->layout_dir + "/stale"));
}

TEST_F(PipelineTest, FailedBuildCreatesNothing) {
  plan_.spec.image.layers[0].files.push_back(
      {.src = "files/motd", .dest = "/etc/motd", .loc = {"s.yaml", 7, 9}});
  BuildOptions options{.output_root = tmp_.path() + "/out/nested"};
  auto result = build_image(plan_, options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().to_string(), "s.yaml:7:9: error: /etc/motd appears twice in one layer");
  EXPECT_FALSE(exists(tmp_.path() + "/out"));
}

TEST_F(PipelineTest, FailedBuildLeavesThePreviousImageUntouched) {
  BuildOptions options{.output_root = tmp_.path() + "/out"};
  auto first = build_image(plan_, options);
  ASSERT_TRUE(first.ok());
  // A source that vanishes mid-build (here: before the layer is written) fails the build.
  plan_.spec.image.layers[0].files[0].src = "files/missing";
  auto failed = build_image(plan_, options);
  ASSERT_FALSE(failed.ok());
  // The layer stage names the src it could not read (tar/tree.cc words the rest).
  EXPECT_EQ(failed.error().code(), ErrorCode::kSpec);
  EXPECT_NE(failed.error().message().find("/files/missing: No such file or directory"),
            std::string::npos)
      << failed.error().message();
  auto view = oci::open_image(first->layout_dir);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->manifest_descriptor.digest, first->image.manifest.digest);
  int leftovers = 0;
  for (const auto& e : std::filesystem::directory_iterator(tmp_.path() + "/out")) {
    leftovers += e.path().filename() != "demo";
  }
  EXPECT_EQ(leftovers, 0);
}

}  // namespace
}  // namespace strata::builder
