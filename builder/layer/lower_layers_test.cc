#include "builder/layer/lower_layers.h"

#include <gtest/gtest.h>

#include "tests/support/test_image.h"

namespace strata::builder {
namespace {

using testing::dir;
using testing::file;
using testing::symlink;
using testing::TarEntry;

class LowerLayersTest : public ::testing::Test {
 protected:
  // A base layer as a tar, merged into lower_.
  void base_layer(const std::vector<TarEntry>& entries) {
    std::string path = tmp_.path() + "/layer" + std::to_string(count_++) + ".tar";
    testing::write_tar(path, entries);
    auto added = lower_.add_blob(path, "the base image");
    ASSERT_TRUE(added.ok()) << added.error().to_string();
  }
  // A Debian-style merged-/usr base: lib, bin and sbin are symlinks into usr.
  void merged_usr_base() {
    base_layer({symlink("bin", "usr/bin"), symlink("lib", "usr/lib"), symlink("sbin", "/usr/sbin"),
                dir("usr/"), dir("usr/bin/"), file("usr/bin/sh", "sh"), dir("usr/lib/"),
                dir("usr/sbin/")});
  }

  TempDir tmp_ = testing::make_temp_dir();
  LowerLayers lower_;
  int count_ = 0;
};

LayerEntry at(LayerEntry e, Loc loc) {
  e.origin = std::move(loc);
  return e;
}

std::vector<std::string> described(const std::vector<LayerEntry>& entries) {
  std::vector<std::string> out;
  for (const LayerEntry& e : entries) {
    switch (e.type) {
      case EntryType::kDirectory:
        out.push_back(e.path + "/");
        break;
      case EntryType::kRegular:
        out.push_back(e.path + "=" + e.content);
        break;
      case EntryType::kSymlink:
        out.push_back(e.path + "->" + e.link_target);
        break;
      case EntryType::kHardlink:
        out.push_back(e.path + "=>" + e.link_target);
        break;
    }
  }
  return out;
}

TEST_F(LowerLayersTest, FollowsASymlinkToADirectoryLikeDpkg) {
  merged_usr_base();
  LayerEntry link = testing::file_entry("lib/libfoo.so.1", "foo");
  link.type = EntryType::kHardlink;
  link.link_target = "lib/libfoo.so";
  link.content.clear();
  std::vector<LayerEntry> layer = {testing::dir_entry("lib"),
                                   testing::file_entry("lib/libfoo.so", "foo"),
                                   link,
                                   testing::dir_entry("lib/x86_64-linux-gnu"),
                                   testing::file_entry("lib/x86_64-linux-gnu/libbar.so", "bar"),
                                   testing::dir_entry("sbin"),
                                   testing::file_entry("sbin/tool", "t"),
                                   testing::dir_entry("usr"),
                                   testing::dir_entry("usr/share"),
                                   testing::file_entry("usr/share/doc", "d")};
  auto placed = place_entries(layer, lower_);
  ASSERT_TRUE(placed.ok()) << placed.error().to_string();
  // lib and sbin stay the base's symlinks; what was below them is below their targets, in
  // strata-det/1 order, the hardlink still after the file it names.
  EXPECT_EQ(
      described(*placed),
      (std::vector<std::string>{
          "usr/", "usr/lib/", "usr/lib/libfoo.so=foo", "usr/lib/libfoo.so.1=>usr/lib/libfoo.so",
          "usr/lib/x86_64-linux-gnu/", "usr/lib/x86_64-linux-gnu/libbar.so=bar", "usr/sbin/",
          "usr/sbin/tool=t", "usr/share/", "usr/share/doc=d"}));
  lower_.add_entries(*placed, "layer 1");
  const LowerLayers::Node* lib = lower_.find("lib");
  ASSERT_NE(lib, nullptr);
  EXPECT_EQ(lib->kind, LowerLayers::Kind::kSymlink);
  EXPECT_EQ(lib->target, "usr/lib");
}

TEST_F(LowerLayersTest, EarlierLayersCountToo) {
  lower_.add_entries({testing::dir_entry("opt"), testing::dir_entry("opt/real"),
                      testing::symlink_entry("opt/app", "real")},
                     "layer 1");
  auto placed = place_entries({testing::dir_entry("opt"), testing::dir_entry("opt/app"),
                               testing::file_entry("opt/app/bin", "b")},
                              lower_);
  ASSERT_TRUE(placed.ok()) << placed.error().to_string();
  EXPECT_EQ(described(*placed), (std::vector<std::string>{"opt/", "opt/real/", "opt/real/bin=b"}));
}

// Only the parents of an entry are followed: a file where the lower layers have a symlink
// replaces the symlink, as it would on a real filesystem.
TEST_F(LowerLayersTest, AFileReplacesASymlinkInsteadOfFollowingIt) {
  base_layer({dir("lib/"), symlink("lib/libc.so", "libc.so.6"), file("lib/libc.so.6", "c")});
  std::vector<LayerEntry> layer = {testing::dir_entry("lib"),
                                   testing::file_entry("lib/libc.so", "f")};
  auto placed = place_entries(layer, lower_);
  ASSERT_TRUE(placed.ok()) << placed.error().to_string();
  EXPECT_EQ(described(*placed), (std::vector<std::string>{"lib/", "lib/libc.so=f"}));
  lower_.add_entries(*placed, "layer 1");
  EXPECT_FALSE(lower_.has_symlinks());
}

TEST_F(LowerLayersTest, WhiteoutsAndOpaqueDirectoriesHideSymlinks) {
  merged_usr_base();
  base_layer({file(".wh.lib", ""), dir("usr/"), file("usr/.wh..wh..opq", ""), dir("usr/lib/")});
  EXPECT_EQ(lower_.find("lib"), nullptr);
  EXPECT_EQ(lower_.find("usr/bin"), nullptr);
  ASSERT_NE(lower_.find("bin"), nullptr);
  auto placed =
      place_entries({testing::dir_entry("lib"), testing::file_entry("lib/a", "a")}, lower_);
  ASSERT_TRUE(placed.ok()) << placed.error().to_string();
  EXPECT_EQ(described(*placed), (std::vector<std::string>{"lib/", "lib/a=a"}));
}

// Issue 13 part 6: a base whose config names other DiffIDs than its layers' tars would be
// copied into an invalid image. The DiffID is hashed while the layer is read for placing.
TEST_F(LowerLayersTest, ABaseLayerMustHaveItsConfigsDiffId) {
  for (Compression c : {Compression::kNone, Compression::kGzip, Compression::kZstd}) {
    std::string path = tmp_.path() + "/checked" + std::to_string(count_++);
    std::vector<TarEntry> entries = {dir("etc/"), file("etc/motd", "hi")};
    // write_tar returns the digest of an uncompressed tar: the same entries' DiffID.
    Digest diff_id = testing::write_tar(path + ".tar", entries);
    testing::write_tar(path, entries, c);
    EXPECT_TRUE(lower_.add_blob(path, "the base image", diff_id).ok());
    Digest wrong = sha256_of("another layer");
    auto added = lower_.add_blob(path, "the base image", wrong);
    ASSERT_FALSE(added.ok());
    EXPECT_EQ(added.error().code(), ErrorCode::kDigestMismatch);
    EXPECT_EQ(added.error().message(), "the base image: layer " + path +
                                           ": diff_id mismatch: the config says " + wrong.str() +
                                           ", the layer's tar is " + diff_id.str());
  }
}

TEST_F(LowerLayersTest, SymlinkNotLeadingToADirectoryIsAnError) {
  base_layer({symlink("lib", "usr/lib"), dir("usr/"), file("usr/lib", "not a directory"),
              symlink("etc", "../../host/etc"), symlink("loop", "loop"),
              symlink("abs", "/usr/missing")});
  Loc loc{"s.yaml", 5, 11};
  auto error_of = [&](const std::string& path) {
    auto placed = place_entries(
        {at(testing::dir_entry(path), loc), at(testing::file_entry(path + "/f", "f"), loc)},
        lower_);
    return placed.ok() ? std::string("ok") : placed.error().to_string();
  };
  EXPECT_EQ(error_of("lib"),
            "s.yaml:5:11: error: cannot install /lib: /lib is a symlink to 'usr/lib' in the base "
            "image, which does not lead to a directory there; install it at a path that is a "
            "directory there");
  EXPECT_EQ(error_of("etc"),
            "s.yaml:5:11: error: cannot install /etc: /etc is a symlink to '../../host/etc' in "
            "the base image, which leads out of the image root; install it at a path that is a "
            "directory there");
  EXPECT_EQ(error_of("loop"),
            "s.yaml:5:11: error: cannot install /loop: /loop is a symlink to 'loop' in the base "
            "image, which loops; install it at a path that is a directory there");
  EXPECT_EQ(error_of("abs"),
            "s.yaml:5:11: error: cannot install /abs: /abs is a symlink to '/usr/missing' in "
            "the base image, which does not lead to a directory there; install it at a path "
            "that is a directory there");
}

}  // namespace
}  // namespace strata::builder
