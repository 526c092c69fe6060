#include "builder/debian/apt_sources.h"

#include <gtest/gtest.h>

#include "builder/base/base64.h"
#include "builder/base/fs.h"
#include "tests/support/test_util.h"

namespace strata::builder::debian {
namespace {

// An ASCII-armored block around `packets`, with a header line and a checksum line; each
// line prefixed with `indent` (a deb822 field's continuation lines).
std::string armor(const std::string& packets, const std::string& indent = "") {
  std::string b64 = base64_encode(packets);
  std::string out = indent + "-----BEGIN PGP PUBLIC KEY BLOCK-----\n" + indent + "Comment: test\n" +
                    indent + (indent.empty() ? "" : ".") + "\n";
  for (size_t i = 0; i < b64.size(); i += 64) out += indent + b64.substr(i, 64) + "\n";
  return out + indent + "=abcd\n" + indent + "-----END PGP PUBLIC KEY BLOCK-----\n";
}

TEST(AptSources, OneLineFormatWithOptions) {
  auto s = parse_sources_list(
      "# the mirror\n"
      "deb http://deb.debian.org/debian/ bookworm main contrib\n"
      "deb-src http://deb.debian.org/debian bookworm main\n"
      "deb [ arch=amd64 signed-by=/usr/share/keyrings/a.gpg,/k/b.gpg ] file:/srv/repo stable "
      "main # local\n"
      "\n"
      "deb cdrom:[Debian 12]/ bookworm main\n"
      "deb [trusted=yes] http://insecure.example bookworm main\n"
      "deb http://flat.example/ ./\n",
      "sources.list");
  ASSERT_TRUE(s.ok()) << s.error().message();
  ASSERT_EQ(s->sources.size(), 2u);
  EXPECT_EQ(s->sources[0].url, "http://deb.debian.org/debian");
  EXPECT_EQ(s->sources[0].suite, "bookworm");
  EXPECT_EQ(s->sources[0].components, (std::vector<std::string>{"main", "contrib"}));
  EXPECT_TRUE(s->sources[0].signed_by.empty());
  EXPECT_EQ(s->sources[0].origin, "sources.list:2");
  EXPECT_EQ(s->sources[1].url, "file:///srv/repo");
  EXPECT_EQ(s->sources[1].signed_by,
            (std::vector<std::string>{"/usr/share/keyrings/a.gpg", "/k/b.gpg"}));
  ASSERT_EQ(s->warnings.size(), 3u);
  EXPECT_NE(s->warnings[0].find("sources.list:6: cdrom:"), std::string::npos) << s->warnings[0];
  EXPECT_NE(s->warnings[1].find("trusted=yes"), std::string::npos);
  EXPECT_NE(s->warnings[2].find("flat repository"), std::string::npos);
}

TEST(AptSources, OneLineErrorsNameTheLine) {
  auto bad = parse_sources_list("deb http://x bookworm main\nrpm http://x y\n", "a.list");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message(), "a.list:2: expected 'deb' or 'deb-src', got 'rpm'");
  auto open = parse_sources_list("deb [signed-by=/k http://x y main\n", "b.list");
  ASSERT_FALSE(open.ok());
  EXPECT_EQ(open.error().message(), "b.list:1: an unclosed '['");
  auto short_line = parse_sources_list("deb http://x\n", "c.list");
  EXPECT_FALSE(short_line.ok());
}

TEST(AptSources, Deb822FormatAndInlineKey) {
  std::string key = armor("\x99\x01\x0dKEY", " ");
  auto s = parse_sources_deb822(
      "Types: deb deb-src\n"
      "URIs: http://deb.debian.org/debian https://mirror.example/debian/\n"
      "Suites: bookworm bookworm-updates\n"
      "Components: main\n"
      "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
      "\n"
      "Types: deb-src\n"
      "URIs: http://src.example\n"
      "Suites: bookworm\n"
      "Components: main\n"
      "\n"
      "Types: deb\n"
      "URIs: http://off.example\n"
      "Suites: bookworm\n"
      "Components: main\n"
      "Enabled: no\n"
      "\n"
      "Types: deb\n"
      "URIs: file:///srv/local\n"
      "Suites: stable\n"
      "Components: main\n"
      "Signed-By:\n" +
          key,
      "debian.sources");
  ASSERT_TRUE(s.ok()) << s.error().message();
  ASSERT_EQ(s->sources.size(), 5u);
  EXPECT_EQ(s->sources[0].url, "http://deb.debian.org/debian");
  EXPECT_EQ(s->sources[1].suite, "bookworm-updates");
  EXPECT_EQ(s->sources[2].url, "https://mirror.example/debian");
  EXPECT_EQ(s->sources[0].signed_by,
            (std::vector<std::string>{"/usr/share/keyrings/debian-archive-keyring.gpg"}));
  EXPECT_EQ(s->sources[0].origin, "debian.sources: paragraph 1");
  const HostSource& local = s->sources[4];
  EXPECT_EQ(local.url, "file:///srv/local");
  EXPECT_TRUE(local.signed_by.empty());
  ASSERT_FALSE(local.inline_key.empty());
  auto keyring = host_keyring(local, "/nonexistent");
  ASSERT_TRUE(keyring.ok()) << keyring.error().message();
  EXPECT_EQ(*keyring, "\x99\x01\x0dKEY");

  auto missing = parse_sources_deb822("Types: deb\nSuites: bookworm\n", "x.sources");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message(), "x.sources: paragraph 1: a deb entry needs URIs and Suites");
}

TEST(AptSources, HostDirectoryAndTrustedKeyrings) {
  TempDir dir = testing::make_temp_dir();
  std::string etc = dir.path();
  ASSERT_TRUE(make_dirs(etc + "/sources.list.d").ok());
  ASSERT_TRUE(make_dirs(etc + "/trusted.gpg.d").ok());
  ASSERT_TRUE(
      write_file(etc + "/sources.list", "deb http://a.example/debian bookworm main\n").ok());
  ASSERT_TRUE(write_file(etc + "/sources.list.d/b.sources",
                         "Types: deb\nURIs: http://b.example\nSuites: stable\nComponents: main\n"
                         "Signed-By: " +
                             etc + "/b.gpg\n")
                  .ok());
  // The same repository twice: the first entry counts.
  ASSERT_TRUE(
      write_file(etc + "/sources.list.d/c.list", "deb http://a.example/debian bookworm x\n").ok());
  ASSERT_TRUE(write_file(etc + "/sources.list.d/ignored.save", "deb http://z y main\n").ok());
  ASSERT_TRUE(write_file(etc + "/b.gpg", "BKEY").ok());
  ASSERT_TRUE(write_file(etc + "/trusted.gpg.d/1.gpg", "ONE").ok());
  ASSERT_TRUE(write_file(etc + "/trusted.gpg.d/2.asc", armor("TWO")).ok());
  ASSERT_TRUE(write_file(etc + "/trusted.gpg.d/README", "not a key").ok());

  auto host = read_host_sources(etc);
  ASSERT_TRUE(host.ok()) << host.error().message();
  ASSERT_EQ(host->sources.size(), 2u);
  EXPECT_EQ(host->sources[0].url, "http://a.example/debian");
  EXPECT_EQ(host->sources[0].components, std::vector<std::string>{"main"});
  EXPECT_EQ(host->sources[1].url, "http://b.example");

  auto trusted = host_keyring(host->sources[0], etc);
  ASSERT_TRUE(trusted.ok()) << trusted.error().message();
  EXPECT_EQ(*trusted, "ONETWO");
  auto signed_by = host_keyring(host->sources[1], etc);
  ASSERT_TRUE(signed_by.ok()) << signed_by.error().message();
  EXPECT_EQ(*signed_by, "BKEY");

  HostSource gone = host->sources[1];
  gone.signed_by = {etc + "/missing.gpg"};
  auto missing = host_keyring(gone, etc);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("missing.gpg"), std::string::npos);
}

TEST(AptSources, NothingReadableIsAnError) {
  TempDir dir = testing::make_temp_dir();
  ASSERT_TRUE(write_file(dir.path() + "/sources.list", "# nothing\n").ok());
  auto host = read_host_sources(dir.path());
  ASSERT_FALSE(host.ok());
  EXPECT_NE(host.error().message().find("lists no deb source"), std::string::npos);
  HostSource bare{.url = "http://x", .suite = "y", .components = {"main"}, .origin = "o"};
  auto keyring = host_keyring(bare, dir.path());
  ASSERT_FALSE(keyring.ok());
  EXPECT_NE(keyring.error().message().find("nothing to verify"), std::string::npos);
}

TEST(AptSources, DearmorRefusesWhatIsNotAKeyBlock) {
  EXPECT_FALSE(dearmor("just text", "k").ok());
  EXPECT_FALSE(dearmor("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n!!!!\n-----END", "k").ok());
  auto ok = dearmor(armor("packets"), "k");
  ASSERT_TRUE(ok.ok()) << ok.error().message();
  EXPECT_EQ(*ok, "packets");
}

}  // namespace
}  // namespace strata::builder::debian
