// diff_images on small layouts written by strata's own layer and layout writers.
#include "builder/diff/image_diff.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "builder/base/fs.h"
#include "builder/diff/docker_archive.h"
#include "tests/support/test_image.h"

namespace strata::builder::diff {
namespace {

using testing::dir_entry;
using testing::file_entry;
using testing::symlink_entry;
using Layers = std::vector<std::vector<LayerEntry>>;

// An image with a config and layer options a test can vary (write_image fixes them).
struct ImageOptions {
  std::map<std::string, std::string> env = {{"PATH", "/bin"}};
  int64_t mtime = 1000;
  std::string created_by = "test layer";
  Compression compression = Compression::kGzip;
};

oci::WrittenImage write_custom_image(const std::string& dir, const Layers& layers,
                                     const ImageOptions& options) {
  auto blobs_dir = oci::prepare_layout_dir(dir);
  EXPECT_TRUE(blobs_dir.ok());
  std::vector<LayerBlob> blobs;
  std::vector<oci::HistoryEntry> history;
  for (const std::vector<LayerEntry>& entries : layers) {
    auto blob = write_layer_blob(
        entries, {.compression = options.compression, .mtime = options.mtime}, *blobs_dir);
    EXPECT_TRUE(blob.ok()) << blob.error().message();
    blobs.push_back(*blob);
    history.push_back({.created_by = options.created_by});
  }
  specs::Image image;
  image.architecture = "amd64";
  image.config.env = options.env;
  auto written = oci::write_layout_documents(
      dir, oci::make_config(image, options.mtime, blobs, history), blobs, {},
      {.name = "test", .tag = "1.0", .os = "linux", .architecture = "amd64"});
  EXPECT_TRUE(written.ok()) << written.error().message();
  return *written;
}

Layers base_layers() {
  return {{dir_entry("etc"), file_entry("etc/motd", "hello\n"), file_entry("etc/os", "strata\n")},
          {dir_entry("usr"), dir_entry("usr/bin"), file_entry("usr/bin/hi", "#!/bin/sh\n", 0755),
           symlink_entry("usr/bin/hey", "hi")}};
}

class DiffTest : public ::testing::Test {
 protected:
  std::string path(const std::string& name) const { return tmp_.path() + "/" + name; }

  ImageDiff diff(const std::string& a, const std::string& b, bool semantic = false) {
    auto d = diff_image_paths(path(a), path(b), {.semantic = semantic});
    EXPECT_TRUE(d.ok()) << d.error().message();
    return d.ok() ? *d : ImageDiff{};
  }

  // Replaces the bytes of `image`'s layer blob `index` with those of a layer holding
  // `entries`, leaving every document (and the blob's name) as it was.
  void tamper_layer(const std::string& image, const oci::WrittenImage& written, size_t index,
                    const std::vector<LayerEntry>& entries) {
    auto blobs = oci::prepare_layout_dir(path("scratch"));
    ASSERT_TRUE(blobs.ok());
    auto blob = write_layer_blob(entries, {.mtime = 1000}, *blobs);
    ASSERT_TRUE(blob.ok());
    std::string bytes = *read_file(*blobs + "/" + blob->digest.hex);
    std::string target = path(image) + "/blobs/sha256/" + written.layers[index].digest.hex;
    std::filesystem::remove(target);
    ASSERT_TRUE(write_file(target, bytes).ok());
  }

  TempDir tmp_ = testing::make_temp_dir();
};

TEST_F(DiffTest, IdenticalImagesAreSame) {
  testing::write_image(path("a"), base_layers());
  testing::write_image(path("b"), base_layers());
  ImageDiff d = diff("a", "b");
  EXPECT_TRUE(d.is_same());
  EXPECT_EQ(d.manifest_a, d.manifest_b);
  EXPECT_EQ(format_diff(d), "images are identical\n");
  Json j = diff_to_json(d);
  EXPECT_EQ(j["same"], true);
  EXPECT_EQ(j["differences"], 0);
}

TEST_F(DiffTest, ConfigChangeIsAFieldAtItsPointer) {
  write_custom_image(path("a"), base_layers(), {.env = {{"A", "1"}, {"PATH", "/bin"}}});
  write_custom_image(path("b"), base_layers(), {.env = {{"A", "2"}, {"PATH", "/bin"}}});
  ImageDiff d = diff("a", "b");
  EXPECT_FALSE(d.is_same());
  EXPECT_TRUE(d.layers.empty());
  std::string text = format_diff(d);
  EXPECT_NE(text.find("config /config/Env/0: \"A=1\" -> \"A=2\"\n"), std::string::npos) << text;
  // The config's digest changes with it, in the manifest and hence in the index.
  EXPECT_NE(text.find("manifest /config/digest: "), std::string::npos) << text;
  EXPECT_NE(text.find("index /manifests/0/digest: "), std::string::npos) << text;
}

TEST_F(DiffTest, ChangedAddedAndRemovedFilesInTheDifferingLayer) {
  Layers b = base_layers();
  b[1] = {dir_entry("usr"), dir_entry("usr/bin"), file_entry("usr/bin/hi", "#!/bin/bash\n", 0755),
          file_entry("usr/bin/new", "x")};
  testing::write_image(path("a"), base_layers());
  testing::write_image(path("b"), b);
  ImageDiff d = diff("a", "b");
  ASSERT_EQ(d.layers.size(), 1u);
  const LayerDiff& l = d.layers[0];
  EXPECT_EQ(l.index_a, 1);
  EXPECT_EQ(l.index_b, 1);
  ASSERT_EQ(l.files.size(), 3u);
  EXPECT_EQ(l.files[0].path, "usr/bin/hey");
  EXPECT_EQ(l.files[0].change, FileChange::kRemoved);
  EXPECT_EQ(l.files[1].path, "usr/bin/hi");
  EXPECT_EQ(l.files[1].aspects, (std::vector<std::string>{"content", "size"}));
  EXPECT_EQ(l.files[2].path, "usr/bin/new");
  EXPECT_EQ(l.files[2].change, FileChange::kAdded);
  std::string text = format_diff(d);
  EXPECT_NE(text.find("layer 2: sha256:"), std::string::npos) << text;
  EXPECT_NE(text.find("  ~ usr/bin/hi: content sha256:"), std::string::npos) << text;
  EXPECT_NE(text.find(", size 10 -> 12\n  + usr/bin/new\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  - usr/bin/hey\n"), std::string::npos) << text;
  Json j = diff_to_json(d);
  EXPECT_EQ(j["layers"][0]["files"][1]["aspects"], Json({"content", "size"}));
  EXPECT_EQ(j["layers"][0]["files"][1]["b"]["size"], 12);
}

TEST_F(DiffTest, EachMetadataAspectIsNamed) {
  LayerEntry owned = file_entry("etc/motd", "hello\n");
  owned.uid = 1000;
  owned.gid = 1001;
  LayerEntry with_xattr = file_entry("etc/os", "strata\n", 0600);
  with_xattr.xattrs = {{"user.note", "x"}};
  Layers b = base_layers();
  b[0] = {dir_entry("etc", 0700), owned, with_xattr};
  b[1][3] = symlink_entry("usr/bin/hey", "hello");
  testing::write_image(path("a"), base_layers());
  testing::write_image(path("b"), b);
  ImageDiff d = diff("a", "b");
  ASSERT_EQ(d.layers.size(), 2u);
  ASSERT_EQ(d.layers[0].files.size(), 3u);
  EXPECT_EQ(d.layers[0].files[0].aspects, std::vector<std::string>{"mode"});
  EXPECT_EQ(d.layers[0].files[1].aspects, (std::vector<std::string>{"uid", "gid"}));
  EXPECT_EQ(d.layers[0].files[2].aspects, (std::vector<std::string>{"mode", "xattrs"}));
  ASSERT_EQ(d.layers[1].files.size(), 1u);
  EXPECT_EQ(d.layers[1].files[0].aspects, std::vector<std::string>{"link"});
  std::string text = format_diff(d);
  EXPECT_NE(text.find("  ~ etc: mode 0755 -> 0700\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  ~ etc/motd: uid 0 -> 1000, gid 0 -> 1001\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  ~ etc/os: mode 0644 -> 0600, xattrs +user.note\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("  ~ usr/bin/hey: link \"hi\" -> \"hello\"\n"), std::string::npos) << text;
}

TEST_F(DiffTest, MtimeAndHistoryDifferUnlessSemantic) {
  write_custom_image(path("a"), base_layers(), {});
  write_custom_image(path("b"), base_layers(), {.mtime = 2000, .created_by = "other builder"});
  ImageDiff strict = diff("a", "b");
  ASSERT_EQ(strict.layers.size(), 2u);
  EXPECT_EQ(strict.layers[0].files[0].aspects, std::vector<std::string>{"mtime"});
  EXPECT_NE(format_diff(strict).find("  ~ etc/motd: mtime 1000 -> 2000\n"), std::string::npos);
  ImageDiff semantic = diff("a", "b", /*semantic=*/true);
  EXPECT_TRUE(semantic.is_same()) << format_diff(semantic);
}

// After a registry round trip (push, then pull into a layout) only index.json differs: the
// ref.name annotation, or the index's own fields. --ignore index says so.
TEST_F(DiffTest, IgnoreLeavesOutDocumentsAndEntryAspects) {
  testing::write_image(path("a"), base_layers(), "test", "1.0");
  testing::write_image(path("b"), base_layers(), "test", "2.0");
  ImageDiff strict = diff("a", "b");
  ASSERT_FALSE(strict.is_same());
  for (const FieldDiff& f : strict.fields) EXPECT_EQ(f.document, "index") << f.pointer;
  auto ignoring = diff_image_paths(path("a"), path("b"), {.ignore = {"index"}});
  ASSERT_TRUE(ignoring.ok()) << ignoring.error().message();
  EXPECT_TRUE(ignoring->is_same()) << format_diff(*ignoring);

  // Entries that differ only in mtime: the layers are no difference with --ignore mtime,
  // but the config (history) still is.
  write_custom_image(path("c"), base_layers(), {});
  write_custom_image(path("d"), base_layers(), {.mtime = 2000});
  auto mtime = diff_image_paths(path("c"), path("d"), {.ignore = {"mtime"}});
  ASSERT_TRUE(mtime.ok());
  EXPECT_TRUE(mtime->layers.empty()) << format_diff(*mtime);
  auto everything =
      diff_image_paths(path("c"), path("d"), {.ignore = {"mtime", "index", "manifest", "config"}});
  ASSERT_TRUE(everything.ok());
  EXPECT_TRUE(everything->is_same()) << format_diff(*everything);

  auto unknown = diff_image_paths(path("a"), path("b"), {.ignore = {"created"}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code(), ErrorCode::kUsage);
  EXPECT_NE(unknown.error().message().find("unknown aspect 'created' (one of: index, manifest"),
            std::string::npos)
      << unknown.error().message();
}

TEST_F(DiffTest, SemanticComparesTheMergedFilesystem) {
  // The same files, once in two layers and once in one layer plus a whiteout for an extra.
  Layers b = {
      {dir_entry("etc"), file_entry("etc/motd", "hello\n"), file_entry("etc/os", "strata\n"),
       dir_entry("usr"), dir_entry("usr/bin"), file_entry("usr/bin/gone", "x"),
       file_entry("usr/bin/hi", "#!/bin/sh\n", 0755), symlink_entry("usr/bin/hey", "hi")},
      {dir_entry("usr"), dir_entry("usr/bin"), file_entry("usr/bin/.wh.gone", "")}};
  testing::write_image(path("a"), base_layers());
  testing::write_image(path("b"), b);
  EXPECT_FALSE(diff("a", "b").is_same());
  ImageDiff semantic = diff("a", "b", /*semantic=*/true);
  EXPECT_TRUE(semantic.is_same()) << format_diff(semantic);

  testing::write_image(path("c"), {{file_entry("etc/motd", "changed\n")}});
  ImageDiff changed = diff("a", "c", /*semantic=*/true);
  EXPECT_TRUE(changed.layers.empty());
  std::string text = format_diff(changed);
  EXPECT_NE(text.find("filesystem (layers merged):\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  ~ etc/motd: content sha256:"), std::string::npos) << text;
  EXPECT_NE(text.find("  - usr/bin/hi\n"), std::string::npos) << text;
}

TEST_F(DiffTest, TamperedBlobIsReportedAndItsFilesCompared) {
  oci::WrittenImage a = testing::write_image(path("a"), base_layers());
  testing::write_image(path("b"), base_layers());
  Layers evil = base_layers();
  evil[1][2] = file_entry("usr/bin/hi", "#!/bin/sh\nrm -rf /\n", 0755);
  tamper_layer("b", a, 1, evil[1]);
  ImageDiff d = diff("a", "b");
  EXPECT_FALSE(d.is_same());
  EXPECT_TRUE(d.fields.empty());  // the manifests are byte for byte the same
  ASSERT_EQ(d.layers.size(), 1u);
  ASSERT_EQ(d.layers[0].files.size(), 1u);
  EXPECT_EQ(d.layers[0].files[0].path, "usr/bin/hi");
  ASSERT_EQ(d.integrity.size(), 2u);
  std::string blob = a.layers[1].digest.str();
  EXPECT_TRUE(d.integrity[0].starts_with("blob " + blob +
                                         " (layer 2 of B) does not match its descriptor: actual "))
      << d.integrity[0];
  EXPECT_TRUE(d.integrity[1].starts_with("layer 2 of B does not match the config's diff_id "))
      << d.integrity[1];
  std::string text = format_diff(d);
  EXPECT_NE(text.find("integrity: blob " + blob + " (layer 2 of B)"), std::string::npos) << text;
}

TEST_F(DiffTest, ImageComparedWithItselfStillChecksItsBlobs) {
  oci::WrittenImage a = testing::write_image(path("a"), base_layers());
  tamper_layer("a", a, 0, {file_entry("etc/motd", "other\n")});
  ImageDiff d = diff("a", "a");
  EXPECT_FALSE(d.is_same());
  EXPECT_TRUE(d.layers.empty());
  EXPECT_EQ(d.integrity.size(), 4u);  // digest and diff_id, on either side
}

TEST_F(DiffTest, MissingBlobIsAnIntegrityProblem) {
  oci::WrittenImage a = testing::write_image(path("a"), base_layers());
  testing::write_image(path("b"), base_layers());
  std::filesystem::remove(path("b") + "/blobs/sha256/" + a.layers[0].digest.hex);
  ImageDiff d = diff("a", "b");
  EXPECT_FALSE(d.is_same());
  ASSERT_EQ(d.integrity.size(), 1u);
  EXPECT_NE(d.integrity[0].find("(layer 1 of B) cannot be read: "), std::string::npos)
      << d.integrity[0];
}

TEST_F(DiffTest, LayersAlignByDiffIdWhenCountsDiffer) {
  Layers a = base_layers();
  Layers b = {a[0], {file_entry("opt/extra", "x")}, a[1]};
  testing::write_image(path("a"), a);
  testing::write_image(path("b"), b);
  ImageDiff d = diff("a", "b");
  ASSERT_EQ(d.layers.size(), 1u);
  EXPECT_EQ(d.layers[0].index_a, -1);
  EXPECT_EQ(d.layers[0].index_b, 1);
  ASSERT_EQ(d.layers[0].files.size(), 1u);
  EXPECT_EQ(d.layers[0].files[0].change, FileChange::kAdded);
  EXPECT_NE(format_diff(d).find("layer 2: only in B: sha256:"), std::string::npos);

  // Both sides changed in the middle: the unmatched positions pair up in order.
  Layers c = {a[0], {file_entry("opt/one", "1")}, {file_entry("opt/two", "2")}};
  testing::write_image(path("c"), c);
  ImageDiff d2 = diff("b", "c");
  ASSERT_EQ(d2.layers.size(), 2u);
  EXPECT_EQ(d2.layers[0].index_a, 1);
  EXPECT_EQ(d2.layers[0].index_b, 1);
  EXPECT_EQ(d2.layers[1].index_a, 2);
  EXPECT_EQ(d2.layers[1].index_b, 2);
  ImageDiff d3 = diff("a", "c");  // 2 layers against 3, nothing after the first in common
  ASSERT_EQ(d3.layers.size(), 2u);
  EXPECT_EQ(d3.layers[1].index_a, -1);
}

TEST_F(DiffTest, RecompressedLayerIsSameContent) {
  write_custom_image(path("a"), base_layers(), {});
  write_custom_image(path("b"), base_layers(), {.compression = Compression::kZstd});
  ImageDiff d = diff("a", "b");
  EXPECT_TRUE(d.layers.empty());
  EXPECT_TRUE(d.integrity.empty());
  std::string text = format_diff(d);
  EXPECT_NE(text.find("manifest /layers/1/digest: "), std::string::npos) << text;
  EXPECT_NE(text.find(" (same content, different compression)\n"), std::string::npos) << text;
  for (const FieldDiff& f : d.fields) {
    if (f.document == "manifest" && f.pointer.starts_with("/layers/")) {
      EXPECT_EQ(f.note, "same content, different compression") << f.pointer;
    }
  }
}

TEST_F(DiffTest, ArchiveOfTheLayoutIsIdentical) {
  testing::write_image(path("a"), base_layers());
  auto fd = open_fd(path("a.tar"), O_WRONLY | O_CREAT | O_TRUNC);
  ASSERT_TRUE(fd.ok());
  FdBlobOutput out(fd->get(), "a.tar");
  ASSERT_TRUE(oci::write_layout_archive(path("a"), out, 0).ok());
  ImageDiff d = diff("a", "a.tar");
  EXPECT_TRUE(d.is_same()) << format_diff(d);
  EXPECT_EQ(d.source_b, path("a.tar"));
}

TEST_F(DiffTest, DockerArchiveComparesWithItsOciLayout) {
  oci::WrittenImage a =
      testing::write_image(path("a"), base_layers(), "test", "1.0", Compression::kNone);
  // What `skopeo copy docker-archive:` writes: manifest.json, <hex>.json, <hex>.tar.
  std::string docker = path("docker");
  ASSERT_TRUE(make_dirs(docker).ok());
  auto copy = [&](const Digest& d, const std::string& name) {
    ASSERT_TRUE(
        write_file(docker + "/" + name, *read_file(path("a") + "/blobs/sha256/" + d.hex)).ok());
  };
  copy(a.config.digest, a.config.digest.hex + ".json");
  Json layers = Json::array();
  for (const LayerBlob& l : a.layers) {
    copy(l.digest, l.digest.hex + ".tar");
    layers.push_back(l.digest.hex + ".tar");
  }
  Json manifest = Json::array({{{"Config", a.config.digest.hex + ".json"},
                                {"RepoTags", {"example.com/test:1.0"}},
                                {"Layers", layers}}});
  ASSERT_TRUE(write_file(docker + "/manifest.json", manifest.dump()).ok());

  ImageDiff d = diff("a", "docker");
  EXPECT_TRUE(d.layers.empty()) << format_diff(d);
  EXPECT_TRUE(d.integrity.empty()) << format_diff(d);
  std::string text = format_diff(d);
  EXPECT_NE(text.find("manifest /mediaType: \"application/vnd.oci.image.manifest.v1+json\" -> "
                      "\"application/vnd.docker.distribution.manifest.v2+json\"\n"),
            std::string::npos)
      << text;
  ImageDiff semantic = diff("a", "docker", /*semantic=*/true);
  EXPECT_TRUE(semantic.is_same()) << format_diff(semantic);
  // A tag that is not there names the tags that are, for either kind of archive.
  auto missing = open_any_image(docker, "2.0");
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.error().message().ends_with(
      docker + ": no image tagged '2.0'; tags: example.com/test:1.0"))
      << missing.error().message();
  auto missing_oci = open_any_image(path("a"), "2.0");
  ASSERT_FALSE(missing_oci.ok());
  EXPECT_EQ(missing_oci.error().message(), path("a") + ": no image tagged '2.0'; tags: 1.0");
}

TEST_F(DiffTest, TextCapsFilesPerLayerButJsonListsAll) {
  std::vector<LayerEntry> many = {dir_entry("data")};
  for (int i = 0; i < 60; ++i) many.push_back(file_entry(fmt::format("data/{:02}", i), "x"));
  testing::write_image(path("a"), {{dir_entry("data")}});
  testing::write_image(path("b"), {many});
  ImageDiff d = diff("a", "b");
  std::string text = format_diff(d);
  EXPECT_NE(text.find("  + data/49\n  … and 10 more (--all prints every path, --json lists "
                      "them all)\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("data/50"), std::string::npos);
  EXPECT_EQ(diff_to_json(d)["layers"][0]["files"].size(), 60u);
  std::string all = format_diff(d, {.all = true});
  EXPECT_NE(all.find("  + data/59\n"), std::string::npos) << all;
  EXPECT_EQ(all.find("more"), std::string::npos) << all;
}

}  // namespace
}  // namespace strata::builder::diff
