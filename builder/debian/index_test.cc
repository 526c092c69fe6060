#include "builder/debian/index.h"

#include <gtest/gtest.h>

#include "builder/debian/repository.h"

namespace strata::builder::debian {
namespace {

TEST(Relations, Parse) {
  auto r = parse_relations("libc6 (>= 2.34), a | b:any (<< 2) [amd64], c <!nocheck>", "t");
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0][0].str(), "libc6 (>= 2.34)");
  EXPECT_EQ(alternatives_str((*r)[1]), "a | b (<< 2)");
  EXPECT_EQ((*r)[2][0].str(), "c");
  EXPECT_FALSE(parse_relations("a (>= )", "t").ok());
  EXPECT_FALSE(parse_relations("a (~ 1)", "t").ok());
}

IndexPackage pkg(std::string name, std::string version, std::string depends = "",
                 std::string provides = "") {
  IndexPackage p{.name = std::move(name), .version = std::move(version)};
  if (!depends.empty()) p.depends = *parse_relations(depends, "t");
  if (!provides.empty()) {
    std::vector<Alternatives> groups = *parse_relations(provides, "t");
    for (auto& g : groups) p.provides.push_back(g[0]);
  }
  return p;
}

std::string names(const Resolution& r) {
  std::string out;
  for (const IndexPackage& p : r.packages) out += p.name + "=" + p.version + " ";
  return out;
}

TEST(Resolve, DependsAlternativesVirtualAndVersions) {
  std::vector<IndexPackage> index = {
      pkg("app", "1.0", "libfoo (>= 2), mail-transport-agent, missing | libbar"),
      pkg("libfoo", "1.0"),
      pkg("libfoo", "2.1", "libc6"),
      pkg("libfoo", "2.0", "libc6"),
      pkg("libc6", "2.36-9"),
      pkg("postfix", "3.7", "libc6", "mail-transport-agent"),
      pkg("exim4", "4.96", "", "mail-transport-agent"),
      pkg("libbar", "1"),
      pkg("bash", "5.2", "", ""),
  };
  index.back().essential = true;
  auto r = resolve(index, {"app"}, {});
  ASSERT_TRUE(r.ok()) << r.error().message();
  // The highest libfoo, the first provider by name (exim4), the second alternative; the
  // Essential bash is not pulled in.
  EXPECT_EQ(names(*r), "app=1.0 exim4=4.96 libbar=1 libc6=2.36-9 libfoo=2.1 ");
  EXPECT_EQ(r->depends["app"], (std::set<std::string>{"exim4", "libbar", "libfoo"}));
  // A preferred (locked) version is kept when it satisfies the relation.
  auto kept = resolve(index, {"app"}, {{"libfoo", "2.0"}});
  ASSERT_TRUE(kept.ok());
  EXPECT_NE(names(*kept).find("libfoo=2.0 "), std::string::npos);
  auto ignored = resolve(index, {"app"}, {{"libfoo", "1.0"}});
  ASSERT_TRUE(ignored.ok());
  EXPECT_NE(names(*ignored).find("libfoo=2.1 "), std::string::npos);
}

TEST(Resolve, AnAlternativeAlreadyChosenWins) {
  std::vector<IndexPackage> index = {pkg("a", "1", "x | y"), pkg("b", "1", "y"), pkg("x", "1"),
                                     pkg("y", "1")};
  auto r = resolve(index, {"b", "a"}, {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(names(*r), "a=1 b=1 y=1 ");
}

TEST(Resolve, UnsatisfiableNamesTheChain) {
  std::vector<IndexPackage> index = {pkg("app", "1", "mid"), pkg("mid", "2", "libz (>= 3)"),
                                     pkg("libz", "1.2")};
  auto r = resolve(index, {"app"}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(),
            "unsatisfiable dependency: app (1) -> mid (2) needs 'libz (>= 3)'; no package libz "
            "satisfies it (available: 1.2)");
  auto missing = resolve(index, {"nope"}, {});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message(), "no package 'nope' in the repositories");
}

TEST(Resolve, VersionedDependencyOnAVirtualNeedsAVersionedProvides) {
  std::vector<IndexPackage> index = {pkg("app", "1", "virt (>= 2)"), pkg("p1", "1", "", "virt"),
                                     pkg("p2", "1", "", "virt (= 2.5)")};
  auto r = resolve(index, {"app"}, {});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(names(*r), "app=1 p2=1 ");
}

TEST(IndexPackages, RefusesBadStanzas) {
  auto stanzas = parse_deb822(
      "Package: a\nVersion: 1.0\nArchitecture: amd64\nFilename: pool/a.deb\nSize: 10\n"
      "SHA256: " +
          std::string(64, 'a') + "\n",
      "P");
  ASSERT_TRUE(stanzas.ok());
  auto ok = index_packages(*stanzas, "http://h/debian", 0, "P");
  ASSERT_TRUE(ok.ok()) << ok.error().message();
  EXPECT_EQ((*ok)[0].url, "http://h/debian/pool/a.deb");
  auto escape = parse_deb822("Package: a\nVersion: 1\nFilename: ../../etc/x\nSize: 1\nSHA256: " +
                                 std::string(64, 'a') + "\n",
                             "P");
  auto bad = index_packages(*escape, "http://h", 0, "P");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("leaves the repository"), std::string::npos);
}

TEST(Release, FilesAndDistro) {
  auto stanzas = parse_deb822(
      "Origin: Debian\nSuite: stable\nCodename: bookworm\nVersion: 12.9\n"
      "SHA256:\n " +
          std::string(64, 'b') + "  2268 main/binary-amd64/Packages.xz\n",
      "Release");
  ASSERT_TRUE(stanzas.ok());
  auto files = release_files((*stanzas)[0], "Release");
  ASSERT_TRUE(files.ok()) << files.error().message();
  ASSERT_EQ(files->size(), 1u);
  EXPECT_EQ((*files)[0].path, "main/binary-amd64/Packages.xz");
  EXPECT_EQ((*files)[0].size, 2268);
  std::string vendor;
  EXPECT_EQ(release_distro((*stanzas)[0], &vendor), "debian-12");
  EXPECT_EQ(vendor, "debian");
  auto testing = parse_deb822("Origin: Debian\nCodename: trixie\nSHA256:\n x 1\n", "Release");
  ASSERT_TRUE(testing.ok());
  EXPECT_EQ(release_distro((*testing)[0], nullptr), "debian-trixie");
  EXPECT_FALSE(release_files((*testing)[0], "Release").ok());
  EXPECT_EQ(debian_architecture("386"), "i386");
  EXPECT_EQ(debian_architecture("ppc64le"), "ppc64el");
  EXPECT_EQ(debian_architecture("amd64"), "amd64");
}

}  // namespace
}  // namespace strata::builder::debian
