#include "specs/pins.h"

#include <gtest/gtest.h>

#include <string>

namespace strata::specs {
namespace {

const std::string kA(64, 'a');
const std::string kB(64, 'b');
const std::string kC(64, 'c');

std::vector<PinSite> sites_of(std::string_view yaml) {
  Result<std::vector<PinSite>> sites = find_pin_sites(yaml, "s.yaml");
  EXPECT_TRUE(sites.ok()) << sites.error().to_string();
  return sites.ok() ? *sites : std::vector<PinSite>{};
}

// Every site of `yaml` set to `digest`.
std::string pin_all(std::string_view yaml, const std::vector<PinSite>& sites, const Digest& d) {
  std::vector<PinEdit> edits;
  for (const PinSite& s : sites) edits.push_back({&s, d});
  return apply_pin_edits(yaml, edits);
}

TEST(PinSites, ReplacesOnlyTheHexOfEveryWrittenForm) {
  std::string yaml =
      "sources:\n"
      "  - name: plain   # keep me\n"
      "    url: https://example.org/a.tar.gz\n"
      "    sha256: " +
      kA +
      "  # and me\n"
      "  - {name: quoted, url: 'https://example.org/b', sha256: \"" +
      kA +
      "\"}\n"
      "  - name: prefixed\n"
      "    path: files/c\n"
      "    sha256: sha256:" +
      kA + "\n";
  std::vector<PinSite> sites = sites_of(yaml);
  ASSERT_EQ(sites.size(), 3u);
  EXPECT_EQ(sites[0].name, "plain");
  EXPECT_EQ(sites[0].pinned.hex, kA);
  EXPECT_EQ(sites[0].loc.line, 4);
  EXPECT_EQ(sites[0].loc.column, 13);
  EXPECT_EQ(sites[1].name, "quoted");
  EXPECT_EQ(sites[2].name, "prefixed");
  std::string expected = yaml;
  for (size_t at; (at = expected.find(kA)) != std::string::npos;) expected.replace(at, 64, kB);
  EXPECT_EQ(pin_all(yaml, sites, Digest{kB}), expected);
}

TEST(PinSites, InsertsAMissingSha256AfterTheUrlInBlockAndFlowStyle) {
  std::string yaml =
      "sources:\n"
      "  - name: block\n"
      "    url: https://example.org/a.tar.gz   # upstream\n"
      "    strip: 1\n"
      "  - {name: flow, url: \"https://example.org/b\", strip: 1}\n"
      "  -   name: wide\n"
      "      url: https://example.org/c\n";
  std::vector<PinSite> sites = sites_of(yaml);
  ASSERT_EQ(sites.size(), 3u);
  for (const PinSite& s : sites) EXPECT_TRUE(s.pinned.hex.empty()) << s.name;
  EXPECT_EQ(pin_all(yaml, sites, Digest{kC}),
            "sources:\n"
            "  - name: block\n"
            "    url: https://example.org/a.tar.gz   # upstream\n"
            "    sha256: " +
                kC +
                "\n"
                "    strip: 1\n"
                "  - {name: flow, url: \"https://example.org/b\", sha256: " +
                kC +
                ", strip: 1}\n"
                "  -   name: wide\n"
                "      url: https://example.org/c\n"
                "      sha256: " +
                kC + "\n");
}

TEST(PinSites, KeepsCrlfLineEndings) {
  std::string yaml = "sources:\r\n  - name: a\r\n    url: https://x.org/a\r\n";
  std::vector<PinSite> sites = sites_of(yaml);
  ASSERT_EQ(sites.size(), 1u);
  EXPECT_EQ(pin_all(yaml, sites, Digest{kA}),
            "sources:\r\n  - name: a\r\n    url: https://x.org/a\r\n    sha256: " + kA + "\r\n");
}

TEST(PinSites, LocalImagesWithAndWithoutADigest) {
  std::string yaml =
      "environment:\n"
      "  rootfs: image\n"
      "  image: \"../out/tools\"\n"
      "image:\n"
      "  base: ../out/busybox@sha256:" +
      kA + "\n";
  std::vector<PinSite> sites = sites_of(yaml);
  ASSERT_EQ(sites.size(), 2u);
  EXPECT_EQ(sites[0].name, "environment.image");
  EXPECT_TRUE(sites[0].pinned.hex.empty());
  EXPECT_EQ(sites[1].name, "image.base");
  EXPECT_EQ(sites[1].pinned.hex, kA);
  EXPECT_EQ(pin_all(yaml, sites, Digest{kB}),
            "environment:\n"
            "  rootfs: image\n"
            "  image: \"../out/tools@sha256:" +
                kB +
                "\"\n"
                "image:\n"
                "  base: ../out/busybox@sha256:" +
                kB + "\n");
}

TEST(PinSites, ScratchAndSpecsWithoutPinsHaveNoSites) {
  EXPECT_TRUE(sites_of("image:\n  base: scratch\n").empty());
  EXPECT_TRUE(sites_of("name: x\n").empty());
}

TEST(PinSites, RefusesWhatCannotBeEditedInPlace) {
  // An alias shares its anchor's text: rewriting it would change another pin too.
  std::string alias =
      "sources:\n"
      "  - {name: a, url: 'https://x.org/a', sha256: &pin " +
      kA +
      "}\n"
      "  - {name: b, url: 'https://x.org/b', sha256: *pin}\n";
  Result<std::vector<PinSite>> r = find_pin_sites(alias, "s.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("anchor or alias"), std::string::npos) << r.error().message();

  std::string escaped = "sources:\n  - name: a\n    url: \"https://x.org/\\x61\"\n";
  r = find_pin_sites(escaped, "s.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("in place"), std::string::npos) << r.error().message();
  ASSERT_TRUE(r.error().loc().has_value());
  EXPECT_EQ(r.error().loc()->line, 3);
}

TEST(PinSites, EditsLeaveEveryOtherByteAlone) {
  std::string yaml =
      "# header\nsources:\n  - name: a   # c1\n    url: https://x.org/a\n"
      "    sha256: " +
      kA + "\n\n# trailer\n";
  std::vector<PinSite> sites = sites_of(yaml);
  std::string once = pin_all(yaml, sites, Digest{kB});
  std::vector<PinSite> again = sites_of(once);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].pinned.hex, kB);
  EXPECT_EQ(pin_all(once, again, Digest{kA}), yaml);
}

}  // namespace
}  // namespace strata::specs
