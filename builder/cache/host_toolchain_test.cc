#include "builder/cache/host_toolchain.h"

#include <gtest/gtest.h>

#include "builder/base/fs.h"
#include "tests/support/test_util.h"

namespace strata::builder::cache {
namespace {

const std::vector<std::string> kExposed = {"/usr", "/bin", "/lib", "/etc/ld.so.cache",
                                           "/etc/alternatives"};

constexpr char kStatus[] =
    "Package: gcc-12\n"
    "Status: install ok installed\n"
    "Architecture: amd64\n"
    "Version: 12.2.0-14\n"
    "Description: GNU C compiler\n"
    " A long description.\n"
    " .\n"
    "\n"
    "Package: tzdata\n"
    "Status: install ok installed\n"
    "Architecture: all\n"
    "Version: 2024a-0\n"
    "\n"
    "Package: oldtool\n"
    "Status: deinstall ok config-files\n"
    "Architecture: amd64\n"
    "Version: 1.0\n";

HostTexts fixture() {
  return {.os_release = "PRETTY_NAME=\"Debian GNU/Linux 12\"\nID=debian\nVERSION_ID=\"12\"\n",
          .dpkg_status = kStatus,
          .file_lists = {{"gcc-12:amd64", "/.\n/usr\n/usr/bin\n/usr/bin/gcc-12\n"},
                         {"tzdata:all", "/.\n/etc\n/etc/timezone\n/var/lib/tz\n"}}};
}

Json document(const HostTexts& t) {
  Result<Json> doc = host_toolchain_document(t, kExposed);
  EXPECT_TRUE(doc.ok()) << doc.error().message();
  return doc.ok() ? *doc : Json();
}

TEST(HostToolchain, KeysOnInstalledPackagesOwningExposedFilesAndOsRelease) {
  EXPECT_EQ(document(fixture()).dump(),
            R"({"dpkg":{"gcc-12:amd64":"12.2.0-14"},"os":{"ID":"debian","VERSION_ID":"12"}})");
}

TEST(HostToolchain, UnrelatedChangesLeaveTheDocumentAlone) {
  Json base = document(fixture());
  HostTexts t = fixture();
  // A description edit, an unrelated deinstalled package's status, a package with files in
  // /etc and /var only, upgraded.
  std::string& s = *t.dpkg_status;
  s.replace(s.find("GNU C compiler"), 14, "the GNU C compiler, newer text");
  s.replace(s.find("deinstall ok config-files"), 25, "purge ok not-installed");
  s.replace(s.find("2024a-0"), 7, "2025b-1");
  EXPECT_EQ(document(t), base);
}

TEST(HostToolchain, ToolchainChangesChangeTheDocument) {
  Json base = document(fixture());
  HostTexts upgraded = fixture();
  std::string& s = *upgraded.dpkg_status;
  s.replace(s.find("12.2.0-14"), 9, "12.2.0-15");
  EXPECT_NE(document(upgraded), base);
  HostTexts now_exposed = fixture();
  now_exposed.file_lists["tzdata:all"] = "/usr/share/zoneinfo/UTC\n";
  EXPECT_EQ(document(now_exposed)["dpkg"].size(), 2u);
  HostTexts other_os = fixture();
  other_os.os_release = "ID=debian\nVERSION_ID=13\n";
  EXPECT_NE(document(other_os), base);
}

TEST(HostToolchain, HeldPackagesAreInstalled) {
  HostTexts t = fixture();
  std::string& s = *t.dpkg_status;
  s.replace(s.find("install ok installed"), 20, "hold ok installed");
  EXPECT_EQ(document(t), document(fixture()));
  s.replace(s.find("hold ok installed"), 17, "install ok half-configured");
  EXPECT_EQ(document(t)["dpkg"].size(), 0u);
}

TEST(HostToolchain, PackageWithoutFileListCountsAsExposed) {
  HostTexts t = fixture();
  t.file_lists.erase("tzdata:all");
  EXPECT_EQ(document(t)["dpkg"].value("tzdata:all", ""), "2024a-0");
}

TEST(HostToolchain, NoDpkgKeysOnOsReleaseOnly) {
  HostTexts t = fixture();
  t.dpkg_status.reset();
  EXPECT_EQ(document(t).dump(), R"({"dpkg":null,"os":{"ID":"debian","VERSION_ID":"12"}})");
}

TEST(HostToolchain, ExposedPathRules) {
  EXPECT_TRUE(is_exposed_path("/usr/bin/cc", kExposed));
  EXPECT_TRUE(is_exposed_path("/etc/ld.so.cache", kExposed));
  EXPECT_TRUE(is_exposed_path("/etc/alternatives/cc", kExposed));
  EXPECT_FALSE(is_exposed_path("/usr", kExposed));  // every package lists its parents
  EXPECT_FALSE(is_exposed_path("/usrlocal/x", kExposed));
  EXPECT_FALSE(is_exposed_path("/etc/passwd", kExposed));
  EXPECT_FALSE(is_exposed_path("/var/lib/x", kExposed));
}

TEST(HostToolchain, MalformedStatusNamesTheLine) {
  auto r = parse_dpkg_status("Package: a\nStatus: install ok installed\nno colon here\n", "S");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "S:3: expected 'Field: value'");
  r = parse_dpkg_status(" continuation\n", "S");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "S:1: continuation line outside a field");
  r = parse_dpkg_status("\nStatus: install ok installed\nVersion: 1\n", "S");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "S:2: paragraph without a Package field");
  r = parse_dpkg_status("Package: a\nStatus: install ok installed\nVersion: 1\n", "S");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "S:1: installed package a without Architecture or Version");
}

TEST(HostToolchain, ReaderFindsArchQualifiedAndPlainLists) {
  TempDir root = testing::make_temp_dir();
  const std::string& r = root.path();
  ASSERT_TRUE(make_dirs(r + "/etc").ok());
  ASSERT_TRUE(make_dirs(r + "/var/lib/dpkg/info").ok());
  ASSERT_TRUE(write_file(r + "/etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n").ok());
  ASSERT_TRUE(write_file(r + "/var/lib/dpkg/status", kStatus).ok());
  ASSERT_TRUE(write_file(r + "/var/lib/dpkg/info/gcc-12:amd64.list", "/usr/bin/gcc-12\n").ok());
  ASSERT_TRUE(write_file(r + "/var/lib/dpkg/info/tzdata.list", "/etc/timezone\n").ok());
  ASSERT_TRUE(write_file(r + "/var/lib/dpkg/info/oldtool.list", "/usr/bin/old\n").ok());
  Result<HostTexts> texts = read_host_texts(r);
  ASSERT_TRUE(texts.ok()) << texts.error().message();
  EXPECT_EQ(texts->file_lists.size(), 2u);  // not the deinstalled package's
  EXPECT_EQ(document(*texts), document(fixture()));
}

TEST(HostToolchain, ReaderWithoutDpkgFallsBackToOsRelease) {
  TempDir root = testing::make_temp_dir();
  ASSERT_TRUE(make_dirs(root.path() + "/usr/lib").ok());
  ASSERT_TRUE(write_file(root.path() + "/usr/lib/os-release", "ID=alpine\nVERSION_ID=3.19\n").ok());
  Result<HostTexts> texts = read_host_texts(root.path());
  ASSERT_TRUE(texts.ok());
  EXPECT_FALSE(texts->dpkg_status.has_value());
  EXPECT_EQ(document(*texts)["os"].value("ID", ""), "alpine");
}

}  // namespace
}  // namespace strata::builder::cache
