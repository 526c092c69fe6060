#include "builder/debian/deb_file.h"

#include <gtest/gtest.h>
#include <sys/sysmacros.h>

#include "builder/base/fs.h"
#include "builder/debian/debs_stage.h"
#include "builder/tar/archive.h"
#include "tests/support/test_archive.h"
#include "tests/support/test_util.h"

namespace strata::builder::debian {
namespace {

using TarItem = strata::builder::testing::ArchiveItem;
using strata::builder::testing::archive_bytes;

std::string make_deb(const std::vector<TarItem>& data, bool postinst = false) {
  std::vector<TarItem> control = {{.path = "./md5sums", .content = "abc  usr/bin/t\n"}};
  if (postinst) control.push_back({.path = "./postinst", .content = "#!/bin/sh\n", .mode = 0755});
  return strata::builder::testing::deb_bytes("Package: t\nVersion: 1\n", data, control);
}

class DebFile : public ::testing::Test {
 protected:
  Result<DebContents> read(const std::vector<TarItem>& data, bool postinst = false) {
    std::string path = dir_.path() + "/t.deb";
    EXPECT_TRUE(write_file(path, make_deb(data, postinst)).ok());
    return read_deb(path, "deb 't' 1");
  }
  TempDir dir_ = strata::testing::make_temp_dir();
};

TEST_F(DebFile, ReadsControlAndEntries) {
  auto deb = read({{.path = "./", .type = AE_IFDIR, .mode = 0755},
                   {.path = "./usr/bin/t", .content = "hi", .mode = 04755},
                   {.path = "./usr/bin/u", .hardlink = "./usr/bin/t"},
                   {.path = "./usr/lib/x", .type = AE_IFLNK, .link = "../bin/t"},
                   {.path = "./etc/abs", .type = AE_IFLNK, .link = "/usr/bin/t"}},
                  true);
  ASSERT_TRUE(deb.ok()) << deb.error().message();
  EXPECT_EQ(deb->control, "Package: t\nVersion: 1\n");
  EXPECT_EQ(deb->md5sums, "abc  usr/bin/t\n");
  EXPECT_EQ(deb->scripts, std::vector<std::string>{"postinst"});
  ASSERT_EQ(deb->entries.size(), 4u);
  EXPECT_EQ(deb->entries[0].path, "usr/bin/t");
  EXPECT_EQ(deb->entries[0].mode, 04755u);
  EXPECT_EQ(deb->entries[0].content, "hi");
  EXPECT_EQ(deb->entries[1].type, EntryType::kHardlink);
  EXPECT_EQ(deb->entries[1].link_target, "usr/bin/t");
  EXPECT_EQ(deb->entries[2].link_target, "../bin/t");
}

TEST_F(DebFile, RefusesHostileEntries) {
  struct Case {
    TarItem item;
    const char* message;
  };
  std::vector<Case> cases = {
      {{.path = "./../../etc/passwd", .content = "x"}, "path escapes the root"},
      {{.path = "/etc/passwd", .content = "x"}, "absolute path"},
      {{.path = "./usr/evil", .type = AE_IFLNK, .link = "../../../etc"}, "escapes the root"},
      {{.path = "./dev/null", .type = AE_IFCHR, .mode = 0666}, "a device node"},
      {{.path = "./dev/fifo", .type = AE_IFIFO}, "a device node, fifo or socket"},
      {{.path = "./x", .hardlink = "./etc/shadow"}, "hardlink to './etc/shadow'"},
  };
  for (const Case& c : cases) {
    auto deb = read({c.item});
    ASSERT_FALSE(deb.ok()) << c.item.path;
    EXPECT_NE(deb.error().message().find(c.message), std::string::npos) << deb.error().message();
    EXPECT_NE(deb.error().message().find("deb 't' 1"), std::string::npos);
  }
}

TEST_F(DebFile, RefusesWhatIsNoDeb) {
  std::string path = dir_.path() + "/no.deb";
  ASSERT_TRUE(write_file(path, "not an ar archive").ok());
  EXPECT_FALSE(read_deb(path, "deb 'no'").ok());
  ASSERT_TRUE(
      write_file(path, archive_bytes({{.path = "debian-binary", .content = "2.0\n"}}, true)).ok());
  auto r = read_deb(path, "deb 'no'");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("lacks control.tar"), std::string::npos);
}

TEST(CopyrightLicense, MachineReadableOnly) {
  EXPECT_EQ(copyright_license("Format: https://www.debian.org/doc/packaging-manuals/"
                              "copyright-format/1.0/\n\nFiles: *\nCopyright: me\nLicense: "
                              "MPL-2.0\n\nFiles: x/*\nLicense: GPL-2+ or MIT\n text\n\n"
                              "License: MPL-2.0\n full text\n"),
            "MPL-2.0 AND (GPL-2+ or MIT)");
  EXPECT_EQ(copyright_license("This package was debianized by ...\nLicense: GPL\n"), "");
}

}  // namespace
}  // namespace strata::builder::debian
