#include "builder/environment/debs_rootfs.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/base/fs.h"
#include "builder/tar/archive.h"
#include "tests/support/fake_fetcher.h"
#include "tests/support/test_archive.h"
#include "tests/support/test_util.h"

namespace strata::builder::environment {
namespace {

using Strings = std::vector<std::string>;

LayerEntry dir(std::string path) {
  return {.path = std::move(path), .type = EntryType::kDirectory, .mode = 0755};
}
LayerEntry file(std::string path, std::string content, uint32_t mode = 0644) {
  int64_t size = static_cast<int64_t>(content.size());
  return {.path = std::move(path), .mode = mode, .content = std::move(content), .size = size};
}
LayerEntry symlink(std::string path, std::string target) {
  return {.path = std::move(path),
          .type = EntryType::kSymlink,
          .mode = 0777,
          .link_target = std::move(target)};
}
LayerEntry hardlink(std::string path, std::string target) {
  return {.path = std::move(path),
          .type = EntryType::kHardlink,
          .mode = 0644,
          .link_target = std::move(target)};
}

std::string link_of(const std::string& path) {
  char buf[256];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
  return n < 0 ? "" : std::string(buf, static_cast<size_t>(n));
}

class DebsRootfs : public ::testing::Test {
 protected:
  void SetUp() override {
    tree_ = tmp_.path() + "/tree";
    ASSERT_EQ(::mkdir(tree_.c_str(), 0755), 0);
    root_ = UniqueFd(::open(tree_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  }
  Result<void> write(const std::vector<LayerEntry>& entries) {
    return write_deb_entries(root_.get(), entries);
  }
  TempDir tmp_ = strata::testing::make_temp_dir();
  std::string tree_;
  UniqueFd root_;
};

TEST_F(DebsRootfs, PlacesTopLevelDirectoriesBelowUsr) {
  ASSERT_TRUE(write({dir("bin"), file("bin/dash", "sh", 0755), dir("lib"), dir("lib/x"),
                     file("lib/x/libc.so.6", "c"), symlink("lib64", "usr/lib64"), dir("lib64"),
                     symlink("lib64/ld.so", "/lib/x/ld.so"), hardlink("bin/sh.hard", "bin/dash"),
                     file("usr/bin/tool", "t", 04755)})
                  .ok());
  EXPECT_EQ(*read_file(tree_ + "/usr/bin/dash"), "sh");
  EXPECT_EQ(*read_file(tree_ + "/usr/lib/x/libc.so.6"), "c");
  EXPECT_EQ(link_of(tree_ + "/usr/lib64/ld.so"), "/lib/x/ld.so");
  struct stat a, b;
  ASSERT_EQ(::stat((tree_ + "/usr/bin/dash").c_str(), &a), 0);
  ASSERT_EQ(::stat((tree_ + "/usr/bin/sh.hard").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  ASSERT_EQ(::stat((tree_ + "/usr/bin/tool").c_str(), &a), 0);
  EXPECT_EQ(a.st_mode & 07777, 0755u) << "setuid is dropped";
  EXPECT_FALSE(path_exists(tree_ + "/bin"));  // make_toolchain_links makes it
  EXPECT_EQ(::access((tree_ + "/lib64").c_str(), F_OK), -1)
      << "the package's lib64 link is dropped";
}

TEST_F(DebsRootfs, LaterFileReplacesAndTypeClashesAreErrors) {
  ASSERT_TRUE(write({file("bin/x", "old")}).ok());
  ASSERT_TRUE(write({file("usr/bin/x", "new")}).ok());
  EXPECT_EQ(*read_file(tree_ + "/usr/bin/x"), "new");
  auto clash = write({dir("usr/bin/x")});
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.error().message(),
            "'usr/bin/x': a directory where an earlier package installed a file");
  ASSERT_FALSE(write({file("usr/bin", "f")}).ok());
}

TEST_F(DebsRootfs, NeverWritesThroughALink) {
  ASSERT_TRUE(write({symlink("usr/evil", "/tmp")}).ok());
  auto r = write({file("usr/evil/x", "x")});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("symlink"), std::string::npos) << r.error().message();
  EXPECT_FALSE(write({file("../x", "x")}).ok());
}

TEST_F(DebsRootfs, ToolchainLinksOnlyWhereTargetsExist) {
  ASSERT_TRUE(write({file("bin/dash", "", 0755), file("usr/bin/gcc-12", "", 0755),
                     symlink("usr/bin/gcc", "gcc-12"), file("usr/bin/mawk", "", 0755),
                     file("usr/bin/automake-1.16", "", 0755),
                     file("usr/bin/automake-1.9", "", 0755), symlink("usr/bin/g++", "missing"),
                     file("usr/bin/c99-gcc", "", 0755), symlink("usr/bin/c89", "somewhere")})
                  .ok());
  auto made = make_toolchain_links(tree_);
  ASSERT_TRUE(made.ok()) << made.error().message();
  EXPECT_EQ(*made, (Strings{"bin -> usr/bin", "usr/bin/sh -> dash", "usr/bin/cc -> gcc",
                            "usr/bin/c99 -> c99-gcc", "usr/bin/awk -> mawk",
                            "usr/bin/automake -> automake-1.16"}));
  EXPECT_EQ(link_of(tree_ + "/usr/bin/c89"), "somewhere") << "a package's own link stays";
  EXPECT_FALSE(path_exists(tree_ + "/usr/bin/c++")) << "g++ is a dangling link";
  auto again = make_toolchain_links(tree_);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
}

std::string make_deb(const std::string& name, const std::string& data_path) {
  return strata::builder::testing::deb_bytes(
      "Package: " + name + "\nVersion: 1\n",
      {{.path = data_path, .content = name + "\n", .mode = 0755}});
}

TEST(DebsRootfsCache, AssemblesOnceAndIsKeyedByTheLockSection) {
  TempDir tmp = strata::testing::make_temp_dir();
  testing::FakeFetcher fetcher;
  debian::LockedEnvironment env;
  for (const auto& [name, path] : {std::pair{"dash", "./bin/dash"}, {"gcc", "./usr/bin/gcc"}}) {
    std::string deb = make_deb(name, path);
    std::string url = std::string("http://127.0.0.1/") + name + ".deb";
    fetcher.bodies[url] = deb;
    env.packages.push_back({.name = name,
                            .version = "1",
                            .architecture = "amd64",
                            .url = url,
                            .size = static_cast<int64_t>(deb.size()),
                            .sha256 = sha256_of(deb)});
  }
  std::string cache = tmp.path() + "/cache";
  DebsRootfsOptions options{.cache_dir = cache,
                            .sources = {.cache_dir = cache},
                            .spec_dir = tmp.path(),
                            .fetcher = &fetcher};
  auto tree = ensure_debs_rootfs(env, options);
  ASSERT_TRUE(tree.ok()) << tree.error().message();
  Digest digest = debian::environment_digest(env);
  EXPECT_EQ(*tree, debs_rootfs_entry_dir(cache, digest) + "/rootfs");
  EXPECT_EQ(*read_file(*tree + "/bin/dash"), "dash\n");
  EXPECT_EQ(link_of(*tree + "/usr/bin/sh"), "dash");
  EXPECT_EQ(link_of(*tree + "/usr/bin/cc"), "gcc");
  EXPECT_EQ(*read_file(debs_rootfs_entry_dir(cache, digest) + "/complete"), digest.str() + "\n");
  EXPECT_EQ(fetcher.calls, 2);
  auto hit = ensure_debs_rootfs(env, options);
  ASSERT_TRUE(hit.ok());
  EXPECT_EQ(*hit, *tree);
  EXPECT_EQ(fetcher.calls, 2) << "a hit fetches nothing";

  // A damaged entry (its marker lost, say by a crash or a manual edit) is discarded and made
  // again, from the content store: nothing is downloaded twice.
  std::string entry = debs_rootfs_entry_dir(cache, digest);
  ASSERT_EQ(::chmod(entry.c_str(), 0700), 0);
  ASSERT_EQ(::unlink((entry + "/complete").c_str()), 0);
  ASSERT_TRUE(write_file(*tree + "/planted", "x").ok());
  auto rebuilt = ensure_debs_rootfs(env, options);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.error().message();
  EXPECT_FALSE(path_exists(*rebuilt + "/planted"));
  EXPECT_EQ(*read_file(*rebuilt + "/bin/dash"), "dash\n");
  EXPECT_EQ(fetcher.calls, 2);

  // A .deb that is not the lock's stores nothing and publishes no entry.
  debian::LockedEnvironment bad = env;
  bad.packages[1].sha256 = sha256_of("other");
  auto failed = ensure_debs_rootfs(bad, options);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().message().find("deb 'gcc' 1"), std::string::npos)
      << failed.error().message();
  EXPECT_FALSE(path_exists(debs_rootfs_entry_dir(cache, debian::environment_digest(bad))));
  EXPECT_NE(debian::environment_digest(bad), digest);
}

}  // namespace
}  // namespace strata::builder::environment
