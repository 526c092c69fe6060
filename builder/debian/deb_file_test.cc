#include "builder/debian/deb_file.h"

#include <gtest/gtest.h>
#include <sys/sysmacros.h>

#include "builder/base/fs.h"
#include "builder/debian/debs_stage.h"
#include "builder/tar/archive.h"
#include "tests/support/test_util.h"

namespace strata::builder::debian {
namespace {

struct TarItem {
  std::string path;
  mode_t type = AE_IFREG;
  std::string content;   // regular files
  std::string link;      // symlink target
  std::string hardlink;  // hardlink target
  unsigned mode = 0644;
};

std::string write_archive(const std::vector<TarItem>& items, bool ar) {
  ArchiveWriter a = new_archive_writer();
  if (ar) {
    archive_write_set_format_ar_svr4(a.get());
  } else {
    archive_write_set_format_pax_restricted(a.get());
    archive_write_add_filter_gzip(a.get());
  }
  std::string out(16 << 20, '\0');
  size_t used = 0;
  EXPECT_EQ(archive_write_open_memory(a.get(), out.data(), out.size(), &used), ARCHIVE_OK);
  for (const TarItem& item : items) {
    ArchiveEntry e = new_archive_entry();
    archive_entry_set_pathname(e.get(), item.path.c_str());
    archive_entry_set_filetype(e.get(), item.type);
    archive_entry_set_perm(e.get(), item.mode);
    if (!item.link.empty()) archive_entry_set_symlink(e.get(), item.link.c_str());
    if (!item.hardlink.empty()) archive_entry_set_hardlink(e.get(), item.hardlink.c_str());
    if (item.type == AE_IFCHR) archive_entry_set_rdev(e.get(), makedev(1, 3));
    if (item.type == AE_IFREG && item.hardlink.empty()) {
      archive_entry_set_size(e.get(), static_cast<la_int64_t>(item.content.size()));
    }
    EXPECT_EQ(archive_write_header(a.get(), e.get()), ARCHIVE_OK) << item.path;
    if (!item.content.empty())
      archive_write_data(a.get(), item.content.data(), item.content.size());
  }
  archive_write_close(a.get());
  out.resize(used);
  return out;
}

std::string make_deb(const std::vector<TarItem>& data, bool postinst = false) {
  std::vector<TarItem> control = {{.path = "./control", .content = "Package: t\nVersion: 1\n"},
                                  {.path = "./md5sums", .content = "abc  usr/bin/t\n"}};
  if (postinst) control.push_back({.path = "./postinst", .content = "#!/bin/sh\n", .mode = 0755});
  return write_archive({{.path = "debian-binary", .content = "2.0\n"},
                        {.path = "control.tar.gz", .content = write_archive(control, false)},
                        {.path = "data.tar.gz", .content = write_archive(data, false)}},
                       true);
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
      write_file(path, write_archive({{.path = "debian-binary", .content = "2.0\n"}}, true)).ok());
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
