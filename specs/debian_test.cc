// The `debian:` section and `debs:` layers (docs/debian-packages.md).
#include <gtest/gtest.h>

#include "specs/parse.h"
#include "tests/support/spec_report.h"

namespace strata::specs {
namespace {

using testing::report;

TEST(DebianSpec, RepositoriesAndDebsLayers) {
  auto spec = parse_spec(R"(apiVersion: strata/v1
name: t
debian:
  architecture: arm64
  repositories:
    - url: http://deb.debian.org/debian/
      suite: bookworm
      keyring: /usr/share/keyrings/debian-archive-keyring.gpg
    - {url: "https://x.example/d", suite: s, components: [main, contrib], keyring: k.gpg}
image:
  layers:
    - debs: [ca-certificates, libc6]
    - {debs: [tzdata], files: []}
)",
                         "spec.yaml", "/tmp", {.check_files = false});
  ASSERT_TRUE(spec.ok()) << spec.error().message();
  ASSERT_EQ(spec->debian.repositories.size(), 2u);
  EXPECT_EQ(spec->debian.repositories[0].url, "http://deb.debian.org/debian");
  EXPECT_EQ(spec->debian.repositories[0].components, std::vector<std::string>{"main"});
  EXPECT_EQ(spec->debian.repositories[1].components, (std::vector<std::string>{"main", "contrib"}));
  EXPECT_EQ(spec->debian.architecture, "arm64");
  ASSERT_EQ(spec->image.layers.size(), 2u);
  ASSERT_EQ(spec->image.layers[0].debs.size(), 2u);
  EXPECT_EQ(spec->image.layers[0].debs[1].name, "libc6");
  EXPECT_EQ(spec->image.layers[1].debs[0].loc.line, 13);
}

TEST(DebianSpec, ErrorsAreLocated) {
  EXPECT_EQ(
      report(R"(apiVersion: strata/v1
name: t
debian:
  repositories:
    - {url: "ftp://x", suite: "../x", keyring: k}
image:
  layers:
    - debs: [Foo, ok-name]
    - debs: [ok-name]
)"),
      R"(spec.yaml:5:13: error: url 'ftp://x' must be http://, https:// or file:///PATH without a query or fragment
    - {url: "ftp://x", suite: "../x", keyring: k}
            ^
spec.yaml:5:31: error: suite '../x' is not a distribution name (like 'bookworm' or 'stable')
    - {url: "ftp://x", suite: "../x", keyring: k}
                              ^
spec.yaml:8:14: error: 'Foo' is not a Debian package name (lowercase letters, digits, '+', '-' and '.')
    - debs: [Foo, ok-name]
             ^
spec.yaml:9:14: error: deb 'ok-name' is already listed (line 8)
    - debs: [ok-name]
             ^
4 errors in spec.yaml)");
  EXPECT_EQ(
      report(R"(apiVersion: strata/v1
name: t
image:
  layers:
    - debs: [libc6]
)"),
      R"(spec.yaml:5:14: error: 'debs' needs a 'debian:' section naming the repositories to take them from
    - debs: [libc6]
             ^)");
}

}  // namespace
}  // namespace strata::specs
