#include "builder/pipeline.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "builder/base/fs.h"
#include "builder/layer/lower_layers.h"
#include "builder/oci/image_reader.h"
#include "builder/tar/layer_reader.h"
#include "tests/support/spec_fixture.h"
#include "tests/support/test_image.h"

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

TEST_F(PipelineTest, ARebuildWithoutTheArchiveRemovesTheOldOne) {
  // An archive of the previous build must not stay beside the new layout.
  BuildOptions options{.output_root = tmp_.path() + "/out", .write_archive = true};
  auto first = build_image(plan_, options);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(exists(first->archive_path));
  plan_.spec.image.config.entrypoint = std::vector<std::string>{"/bin/false"};
  options.write_archive = false;
  auto second = build_image(plan_, options);
  ASSERT_TRUE(second.ok()) << second.error().to_string();
  EXPECT_NE(first->image.manifest.digest, second->image.manifest.digest);
  EXPECT_FALSE(exists(first->archive_path));
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(tmp_.path() + "/out")) {
    names.push_back(e.path().filename());
  }
  EXPECT_EQ(names, std::vector<std::string>{"demo"});  // no lock file, no staging left
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

// A directory's files are walked at each pass over its layer (LayerEntries), not held; one
// that holds a file no layer can hold still fails the build before anything is written,
// whichever layer it is in (a lower layer's pass, the last layer's own check or its write).
TEST_F(PipelineTest, AFifoInACopiedDirectoryFailsTheBuildWhicheverLayerHoldsIt) {
  ASSERT_TRUE(make_dirs(tmp_.path() + "/spec/tree/sub").ok());
  ASSERT_TRUE(write_file(tmp_.path() + "/spec/tree/sub/a", "a").ok());
  ASSERT_EQ(::mkfifo((tmp_.path() + "/spec/tree/sub/fifo").c_str(), 0644), 0);
  specs::FileMapping tree{.src = "tree", .dest = "/opt", .loc = {"s.yaml", 9, 5}};
  specs::LayerSpec plain = plan_.spec.image.layers[0];
  for (int layers : {1, 2, 3}) {
    for (size_t at = 0; at < static_cast<size_t>(layers); ++at) {
      plan_.spec.image.layers.assign(static_cast<size_t>(layers), plain);
      plan_.spec.image.layers[at].files.push_back(tree);
      auto result = build_image(plan_, BuildOptions{.output_root = tmp_.path() + "/out"});
      ASSERT_FALSE(result.ok()) << layers << " layers, the fifo in layer " << at + 1;
      EXPECT_EQ(result.error().code(), ErrorCode::kSpec);
      EXPECT_NE(result.error().to_string().find(
                    "/sub/fifo is a fifo: layers may hold only files, directories and links"),
                std::string::npos)
          << result.error().to_string();
      EXPECT_FALSE(exists(tmp_.path() + "/out/demo")) << layers << " layers, layer " << at + 1;
    }
  }
}

// The layer stage resolves every src again: a file swapped for a symlink to the host's /etc
// after validation is refused, not copied (issue 11 part 1).
TEST_F(PipelineTest, ASrcSwappedForASymlinkOutOfTheSpecIsRefusedAtBuildTime) {
  ASSERT_EQ(::unlink((tmp_.path() + "/spec/files/motd").c_str()), 0);
  ASSERT_EQ(::symlink("/etc/passwd", (tmp_.path() + "/spec/files/motd").c_str()), 0);
  auto failed = build_image(plan_, BuildOptions{.output_root = tmp_.path() + "/out"});
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code(), ErrorCode::kSpec);
  EXPECT_NE(failed.error().message().find(
                "src 'files/motd': 'files/motd' is a symlink to '/etc/passwd', which leads out of"),
            std::string::npos)
      << failed.error().message();
  EXPECT_FALSE(exists(tmp_.path() + "/out/demo"));
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
  EXPECT_NE(failed.error().message().find("src 'files/missing': 'files/missing' does not exist"),
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

// A Debian-style base where lib is a symlink to usr/lib (and, broken, sbin to a usr/sbin it
// lacks), as image.base.
class OnBaseTest : public PipelineTest {
 protected:
  void SetUp() override {
    PipelineTest::SetUp();
    using testing::dir_entry;
    base_ = testing::write_image(
        tmp_.path() + "/spec/base",
        {{testing::symlink_entry("bin", "usr/bin"), testing::symlink_entry("lib", "usr/lib"),
          testing::symlink_entry("sbin", "usr/sbin"), dir_entry("usr"), dir_entry("usr/bin"),
          testing::file_entry("usr/bin/sh", "sh", 0755), dir_entry("usr/lib"),
          testing::file_entry("usr/lib/libc.so.6", "c")}});
    plan_.spec.image.base =
        specs::ImageRef{.path = "base", .digest = base_.manifest.digest, .loc = {"s.yaml", 4, 9}};
    plan_.spec.image.layers[0].files.push_back(
        {.src = "files/motd", .dest = "/lib/libfoo.so", .loc = {"s.yaml", 8, 11}});
  }
  oci::WrittenImage base_;
};

TEST_F(OnBaseTest, FilesForLibGoToUsrLibAndTheSymlinkStays) {
  BuildOptions options{.output_root = tmp_.path() + "/out"};
  auto result = build_image(plan_, options);
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  auto view = oci::open_image(result->layout_dir);
  ASSERT_TRUE(view.ok()) << view.error().to_string();
  ASSERT_EQ(view->layers.size(), 2u);
  std::vector<std::string> paths;
  auto read = read_layer_file(view->blob_path(view->layers[1].digest), [&](const ReadEntry& e) {
    paths.push_back(e.path);
    return Result<void>(Ok{});
  });
  ASSERT_TRUE(read.ok()) << read.error().to_string();
  EXPECT_EQ(paths,
            (std::vector<std::string>{"etc", "etc/motd", "usr", "usr/lib", "usr/lib/libfoo.so"}));
  // In the merged image, lib is still the base's symlink.
  LowerLayers merged;
  for (const oci::Descriptor& d : view->layers) {
    ASSERT_TRUE(merged.add_blob(view->blob_path(d.digest), "the image").ok());
  }
  const LowerLayers::Node* lib = merged.find("lib");
  ASSERT_NE(lib, nullptr);
  EXPECT_EQ(lib->kind, LowerLayers::Kind::kSymlink);
  EXPECT_EQ(lib->target, "usr/lib");
}

// The base's sbin -> usr/sbin has no directory behind it.
TEST_F(OnBaseTest, SymlinkToANonDirectoryIsALocatedError) {
  plan_.spec.image.layers[0].files.back().dest = "/sbin/tool";
  BuildOptions options{.output_root = tmp_.path() + "/out"};
  auto result = build_image(plan_, options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().to_string(),
            "s.yaml:8:11: error: cannot install /sbin: /sbin is a symlink to 'usr/sbin' in the "
            "base image, which does not lead to a directory there; install it at a path that "
            "is a directory there");
  EXPECT_FALSE(exists(tmp_.path() + "/out"));
}

// Wrong pins are found by `strata validate` (check_image) and before any package work.
TEST_F(OnBaseTest, WrongPinsAreLocatedDigestMismatches) {
  Digest wrong = sha256_of("not the base");
  plan_.spec.image.base->digest = wrong;
  auto checked = check_image(plan_);
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.error().code(), ErrorCode::kDigestMismatch);
  EXPECT_EQ(checked.error().to_string(),
            "s.yaml:4:9: error: image base: manifest digest mismatch: expected " + wrong.str() +
                ", actual " + base_.manifest.digest.str());

  plan_.spec.image.base.reset();
  plan_.spec.environment.rootfs = specs::RootfsKind::kImage;
  plan_.spec.environment.image =
      specs::ImageRef{.path = "missing", .digest = wrong, .loc = {"s.yaml", 12, 10}};
  checked = check_image(plan_);
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.error().to_string(),
            "s.yaml:12:10: error: image missing: No such file or directory");
  // build_image stops there too, before it would need a fetcher or a runner for packages.
  plan_.spec.packages.push_back({.name = "pkg", .steps = {"true"}});
  BuildOptions options{.output_root = tmp_.path() + "/out"};
  auto built = build_image(plan_, options);
  ASSERT_FALSE(built.ok());
  EXPECT_EQ(built.error().to_string(), checked.error().to_string());
}

}  // namespace
}  // namespace strata::builder
