#include "builder/run_layer/tree_diff.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>

#include "builder/base/fs.h"
#include "tests/support/test_util.h"

namespace strata::builder::run_layer {
namespace {

class TreeDiffTest : public ::testing::Test {
 protected:
  std::string before() const { return tmp_.path() + "/before"; }
  std::string after() const { return tmp_.path() + "/after"; }

  // The same tree in both: usr/share/doc/{a,b}, etc/conf, bin -> usr/bin, usr/bin/tool.
  void SetUp() override {
    for (const std::string& root : {before(), after()}) {
      ASSERT_TRUE(make_dirs(root + "/usr/share/doc/pkg").ok());
      ASSERT_TRUE(make_dirs(root + "/usr/bin").ok());
      ASSERT_TRUE(make_dirs(root + "/etc").ok());
      write(root + "/usr/share/doc/pkg/README", "readme");
      write(root + "/usr/share/doc/pkg/copyright", "(c)");
      write(root + "/etc/conf", "a=1\n");
      write(root + "/usr/bin/tool", "#!/bin/sh\n");
      ASSERT_EQ(::chmod((root + "/usr/bin/tool").c_str(), 0755), 0);
      ASSERT_EQ(::symlink("usr/bin", (root + "/bin").c_str()), 0);
    }
  }

  static void write(const std::string& path, const std::string& text) {
    ASSERT_TRUE(write_file(path, text).ok()) << path;
  }

  // "path type mode uid:gid [-> target]" per entry, in layer order.
  std::vector<std::string> diff(const DiffOptions& o = {}) {
    auto entries = diff_trees(before(), after(), o);
    EXPECT_TRUE(entries.ok()) << entries.error().to_string();
    std::vector<std::string> out;
    if (!entries.ok()) return out;
    for (const LayerEntry& e : *entries) {
      const char* type = e.type == EntryType::kDirectory  ? "dir"
                         : e.type == EntryType::kSymlink  ? "symlink"
                         : e.type == EntryType::kHardlink ? "hardlink"
                                                          : "file";
      std::string line = fmt::format("{} {} {:04o} {}:{}", e.path, type, e.mode, e.uid, e.gid);
      if (!e.link_target.empty()) line += " -> " + e.link_target;
      out.push_back(line);
    }
    return out;
  }

  TempDir tmp_ = testing::make_temp_dir();
};

TEST_F(TreeDiffTest, NothingChangedIsAnEmptyLayer) {
  // Times alone are no change: the commands may have read or touched files.
  struct timeval times[2] = {{1, 0}, {2, 0}};
  ASSERT_EQ(::utimes((after() + "/etc/conf").c_str(), times), 0);
  ASSERT_EQ(::utimes((after() + "/usr").c_str(), times), 0);
  EXPECT_EQ(diff(), std::vector<std::string>());
}

TEST_F(TreeDiffTest, NewChangedAndDeletedFiles) {
  write(after() + "/etc/conf", "a=2\n");
  write(after() + "/etc/new", "n");
  ASSERT_EQ(::unlink((after() + "/usr/bin/tool").c_str()), 0);
  uid_t uid = ::geteuid();
  gid_t gid = ::getegid();
  std::string owner = fmt::format("{}:{}", uid, gid);
  EXPECT_EQ(diff(), (std::vector<std::string>{
                        fmt::format("etc dir 0755 {}", owner),
                        fmt::format("etc/conf file 0644 {}", owner),
                        fmt::format("etc/new file 0644 {}", owner),
                        fmt::format("usr dir 0755 {}", owner),
                        fmt::format("usr/bin dir 0755 {}", owner),
                        "usr/bin/.wh.tool file 0644 0:0",
                    }));
  // Unprivileged, the invoking user's files are root's inside.
  DiffOptions mapped{.map_owners = true, .host_uid = uid, .host_gid = gid};
  EXPECT_EQ(diff(mapped)[0], "etc dir 0755 0:0");
}

TEST_F(TreeDiffTest, ADeletedDirectoryIsOneWhiteout) {
  ASSERT_TRUE(remove_tree(after() + "/usr/share/doc").ok());
  DiffOptions o{.map_owners = true, .host_uid = ::geteuid(), .host_gid = ::getegid()};
  EXPECT_EQ(diff(o), (std::vector<std::string>{"usr dir 0755 0:0", "usr/share dir 0755 0:0",
                                               "usr/share/.wh.doc file 0644 0:0"}));
}

TEST_F(TreeDiffTest, ARecreatedDirectoryWhitesOutWhatItNoLongerHolds) {
  // rm -rf doc && mkdir -p doc/pkg && echo > doc/pkg/README: the same README is no change.
  ASSERT_TRUE(remove_tree(after() + "/usr/share/doc").ok());
  ASSERT_TRUE(make_dirs(after() + "/usr/share/doc/pkg").ok());
  write(after() + "/usr/share/doc/pkg/README", "readme");
  DiffOptions o{.map_owners = true, .host_uid = ::geteuid(), .host_gid = ::getegid()};
  EXPECT_EQ(diff(o), (std::vector<std::string>{"usr dir 0755 0:0", "usr/share dir 0755 0:0",
                                               "usr/share/doc dir 0755 0:0",
                                               "usr/share/doc/pkg dir 0755 0:0",
                                               "usr/share/doc/pkg/.wh.copyright file 0644 0:0"}));
}

TEST_F(TreeDiffTest, ModeChangesSymlinksAndTypeChanges) {
  DiffOptions o{.map_owners = true, .host_uid = ::geteuid(), .host_gid = ::getegid()};
  ASSERT_EQ(::chmod((after() + "/usr/bin/tool").c_str(), 0700), 0);
  ASSERT_EQ(::unlink((after() + "/bin").c_str()), 0);
  ASSERT_EQ(::symlink("/usr/bin", (after() + "/bin").c_str()), 0);
  ASSERT_EQ(::unlink((after() + "/etc/conf").c_str()), 0);
  ASSERT_TRUE(make_dirs(after() + "/etc/conf").ok());
  write(after() + "/etc/conf/part", "p");
  EXPECT_EQ(diff(o), (std::vector<std::string>{
                         "bin symlink 0777 0:0 -> /usr/bin", "etc dir 0755 0:0",
                         "etc/conf dir 0755 0:0", "etc/conf/part file 0644 0:0", "usr dir 0755 0:0",
                         "usr/bin dir 0755 0:0", "usr/bin/tool file 0700 0:0"}));
}

TEST_F(TreeDiffTest, HardlinksBetweenChangedFilesStayHardlinks) {
  DiffOptions o{.map_owners = true, .host_uid = ::geteuid(), .host_gid = ::getegid()};
  write(after() + "/etc/b", "shared");
  ASSERT_EQ(::link((after() + "/etc/b").c_str(), (after() + "/etc/a").c_str()), 0);
  // A new link to an unchanged file: the new name holds the content itself.
  ASSERT_EQ(::link((after() + "/usr/bin/tool").c_str(), (after() + "/usr/bin/tool2").c_str()), 0);
  EXPECT_EQ(diff(o),
            (std::vector<std::string>{"etc dir 0755 0:0", "etc/a file 0644 0:0",
                                      "etc/b hardlink 0644 0:0 -> etc/a", "usr dir 0755 0:0",
                                      "usr/bin dir 0755 0:0", "usr/bin/tool2 file 0755 0:0"}));
}

TEST_F(TreeDiffTest, KeptAttributesComeFromTheLowerLayers) {
  // On disk the lower tree lost its setuid bit and its owners; the layer keeps the image's.
  LowerMeta meta{{"usr", {0755, 0, 0}},
                 {"usr/bin", {0755, 0, 0}},
                 {"usr/bin/tool", {04755, 0, 50}},
                 {"etc", {0755, 0, 0}},
                 {"etc/conf", {0640, 7, 8}}};
  write(after() + "/usr/bin/tool", "#!/bin/sh\nexit 0\n");
  ASSERT_EQ(::chmod((after() + "/etc/conf").c_str(), 0600), 0);
  DiffOptions o{
      .lower = &meta, .map_owners = true, .host_uid = ::geteuid(), .host_gid = ::getegid()};
  EXPECT_EQ(diff(o), (std::vector<std::string>{"etc dir 0755 0:0", "etc/conf file 0600 7:8",
                                               "usr dir 0755 0:0", "usr/bin dir 0755 0:0",
                                               "usr/bin/tool file 4755 0:50"}));
}

TEST_F(TreeDiffTest, TheSandboxesOwnDirectoriesAreIgnored) {
  ASSERT_TRUE(make_dirs(after() + "/tmp/x").ok());
  ASSERT_TRUE(make_dirs(after() + "/proc").ok());
  EXPECT_EQ(diff(), std::vector<std::string>());
}

TEST_F(TreeDiffTest, AFifoIsAnError) {
  ASSERT_EQ(::mkfifo((after() + "/etc/pipe").c_str(), 0644), 0);
  auto entries = diff_trees(before(), after(), {});
  ASSERT_FALSE(entries.ok());
  EXPECT_EQ(entries.error().message(),
            "/etc/pipe: a run layer may not create a device, fifo or socket");
}

// An overlayfs upper directory for the same change gives the same layer as the copy.
class OverlayDiffTest : public TreeDiffTest {
 protected:
  std::string upper() const { return tmp_.path() + "/upper"; }

  void SetUp() override {
    TreeDiffTest::SetUp();
    std::string probe = tmp_.path() + "/xattr-probe";
    write(probe, "");
    if (::setxattr(probe.c_str(), "user.probe", "y", 1, 0) != 0)
      GTEST_SKIP() << "no user xattrs in " << tmp_.path() << ": " << std::strerror(errno);
  }

  // A whiteout as overlayfs makes it: a 0/0 character device (needs CAP_MKNOD), else an empty
  // file with the user.overlay.whiteout xattr (overlayfs reads both).
  void whiteout(const std::string& rel) {
    std::string path = upper() + "/" + rel;
    if (::mknod(path.c_str(), S_IFCHR | 0000, 0) == 0) return;
    write(path, "");
    ASSERT_EQ(::setxattr(path.c_str(), "user.overlay.whiteout", "y", 1, 0), 0)
        << "user xattrs in " << path << ": " << std::strerror(errno);
  }
  void opaque(const std::string& rel) {
    std::string path = upper() + "/" + rel;
    ASSERT_EQ(::setxattr(path.c_str(), "user.overlay.opaque", "y", 1, 0), 0)
        << std::strerror(errno);
  }
  std::vector<std::string> both(const DiffOptions& o) {
    std::vector<std::string> copy = diff(o);
    auto entries = diff_overlay(before(), upper(), o);
    EXPECT_TRUE(entries.ok()) << entries.error().to_string();
    std::vector<std::string> out;
    if (entries.ok()) {
      for (const LayerEntry& e : *entries) {
        out.push_back(fmt::format("{} {} {:04o} {}:{} {}", e.path, static_cast<int>(e.type), e.mode,
                                  e.uid, e.gid, e.link_target));
      }
    }
    std::vector<std::string> copy_plain;
    auto again = diff_trees(before(), after(), o);
    if (again.ok()) {
      for (const LayerEntry& e : *again) {
        copy_plain.push_back(fmt::format("{} {} {:04o} {}:{} {}", e.path, static_cast<int>(e.type),
                                         e.mode, e.uid, e.gid, e.link_target));
      }
    }
    EXPECT_EQ(out, copy_plain);
    return copy;
  }
};

TEST_F(OverlayDiffTest, WhiteoutsOpaqueDirectoriesAndCopiesUpGiveTheCopysLayer) {
  DiffOptions o{.map_owners = true, .host_uid = ::geteuid(), .host_gid = ::getegid()};
  // The change, made in the copy: rm -rf doc/pkg && mkdir doc/pkg && echo readme >
  // doc/pkg/README; echo a=2 > etc/conf; rm usr/bin/tool; touch etc/conf (times only).
  ASSERT_TRUE(remove_tree(after() + "/usr/share/doc/pkg").ok());
  ASSERT_TRUE(make_dirs(after() + "/usr/share/doc/pkg").ok());
  write(after() + "/usr/share/doc/pkg/README", "new readme");
  write(after() + "/etc/conf", "a=2\n");
  ASSERT_EQ(::unlink((after() + "/usr/bin/tool").c_str()), 0);
  // The same change as overlayfs records it.
  for (const char* d : {"/usr/share/doc/pkg", "/usr/bin", "/etc"})
    ASSERT_TRUE(make_dirs(upper() + d).ok());
  opaque("usr/share/doc/pkg");
  write(upper() + "/usr/share/doc/pkg/README", "new readme");
  write(upper() + "/etc/conf", "a=2\n");
  whiteout("usr/bin/tool");
  for (const char* d :
       {"/usr", "/usr/share", "/usr/share/doc", "/usr/share/doc/pkg", "/usr/bin", "/etc"})
    ASSERT_EQ(::chmod((upper() + d).c_str(), 0755), 0);
  EXPECT_EQ(
      both(o),
      (std::vector<std::string>{
          "etc dir 0755 0:0", "etc/conf file 0644 0:0", "usr dir 0755 0:0", "usr/bin dir 0755 0:0",
          "usr/bin/.wh.tool file 0644 0:0", "usr/share dir 0755 0:0", "usr/share/doc dir 0755 0:0",
          "usr/share/doc/pkg dir 0755 0:0", "usr/share/doc/pkg/.wh.copyright file 0644 0:0",
          "usr/share/doc/pkg/README file 0644 0:0"}));
}

TEST_F(OverlayDiffTest, SymlinksModesAndHardlinksInTheUpperDirectory) {
  DiffOptions o{.map_owners = true, .host_uid = ::geteuid(), .host_gid = ::getegid()};
  // ln -sf /usr/bin bin; chmod 0700 usr/bin/tool; echo s > etc/b; ln etc/b etc/a.
  for (const std::string& root : {after(), upper()}) {
    ASSERT_TRUE(make_dirs(root + "/usr/bin").ok());
    ASSERT_TRUE(make_dirs(root + "/etc").ok());
    ASSERT_EQ(::chmod((root + "/usr").c_str(), 0755), 0);
    ASSERT_EQ(::chmod((root + "/usr/bin").c_str(), 0755), 0);
    ASSERT_EQ(::chmod((root + "/etc").c_str(), 0755), 0);
    if (root == upper()) write(root + "/usr/bin/tool", "#!/bin/sh\n");  // the copy-up
    ASSERT_EQ(::chmod((root + "/usr/bin/tool").c_str(), 0700), 0);
    (void)::unlink((root + "/bin").c_str());
    ASSERT_EQ(::symlink("/usr/bin", (root + "/bin").c_str()), 0);
    write(root + "/etc/b", "s");
    ASSERT_EQ(::link((root + "/etc/b").c_str(), (root + "/etc/a").c_str()), 0);
  }
  EXPECT_EQ(both(o),
            (std::vector<std::string>{"bin symlink 0777 0:0 -> /usr/bin", "etc dir 0755 0:0",
                                      "etc/a file 0644 0:0", "etc/b hardlink 0644 0:0 -> etc/a",
                                      "usr dir 0755 0:0", "usr/bin dir 0755 0:0",
                                      "usr/bin/tool file 0700 0:0"}));
}

TEST_F(OverlayDiffTest, ACopiedUpButUnchangedFileIsNoChange) {
  // chmod 0644 on a 0644 file (or a touch) copies it up with the same bytes and mode.
  ASSERT_TRUE(make_dirs(upper() + "/etc").ok());
  ASSERT_EQ(::chmod((upper() + "/etc").c_str(), 0755), 0);
  write(upper() + "/etc/conf", "a=1\n");
  EXPECT_EQ(both({}), std::vector<std::string>());
}

}  // namespace
}  // namespace strata::builder::run_layer
