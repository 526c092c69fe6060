// Spec errors outside image:: each case compares the whole user-facing report, locations and
// caret lines included (docs/style.md §8).
#include <gtest/gtest.h>

#include "specs/parse.h"
#include "tests/support/spec_report.h"

namespace strata::specs {
namespace {

using testing::report;
using testing::SpecDir;

TEST(SpecErrors, UnknownKeySuggestsTheClosestKey) {
  EXPECT_EQ(report(R"(apiVersion: strata/v1
name: t
image: {}
verison: "1"
)"),
            R"(spec.yaml:4:1: error: unknown key 'verison'; did you mean 'version'?
verison: "1"
^)");
}

TEST(SpecErrors, MissingKeyIsLocatedAtItsParentMapping) {
  EXPECT_EQ(report(R"(apiVersion: strata/v1
name: t
imgae: {}
)"),
            R"(spec.yaml:1:1: error: missing required key 'image'
apiVersion: strata/v1
^
spec.yaml:3:1: error: unknown key 'imgae'; did you mean 'image'?
imgae: {}
^
2 errors in spec.yaml)");
}

TEST(SpecErrors, WrongTypeNamesExpectedAndActualKinds) {
  EXPECT_EQ(report(R"(apiVersion: strata/v1
name: [a]
image: {}
)"),
            R"(spec.yaml:2:7: error: expected a string, got a sequence
name: [a]
      ^)");
}

TEST(SpecErrors, MalformedYamlAtEndOfInputPointsAtTheLastLine) {
  EXPECT_EQ(report(R"(apiVersion: strata/v1
name: t
image: [a, b
)"),
            R"(spec.yaml:3:13: error: end of sequence flow not found
image: [a, b
            ^)");
}

TEST(SpecErrors, MalformedYamlIsLocated) {
  EXPECT_EQ(report(R"(apiVersion: strata/v1
name: t
image: b: c
)"),
            R"(spec.yaml:3:9: error: illegal map value
image: b: c
        ^)");
}

// yaml-cpp says only "end of map not found" or "illegal map value" for these; the report
// names the cause and what was expected.
TEST(SpecErrors, TabIndentationIsNamed) {
  EXPECT_EQ(report("apiVersion: strata/v1\nname: t\nimage:\n\tos: linux\n"),
            "spec.yaml:4:1: error: tabs are not allowed for indentation in YAML; use spaces\n"
            "\tos: linux\n"
            "^");
  EXPECT_EQ(report("apiVersion: strata/v1\nname: t\nimage:\n  os: linux\n\tarchitecture: amd64\n"),
            "spec.yaml:5:1: error: tabs are not allowed for indentation in YAML; use spaces\n"
            "\tarchitecture: amd64\n"
            "^");
}

TEST(SpecErrors, MisindentedKeySaysWhatWasExpected) {
  EXPECT_EQ(
      report(R"(apiVersion: strata/v1
name: t
image:
    os: linux
  architecture: amd64
)"),
      R"(spec.yaml:5:3: error: bad indentation: this line is indented 2 spaces, which lines up with no key above: expected 4 (like 'os' on line 4) or 0 (like 'image' on line 3) (YAML nests by indentation)
  architecture: amd64
  ^)");
  EXPECT_EQ(
      report(R"(apiVersion: strata/v1
name: t
image:
  os: linux
   architecture: amd64
)"),
      R"(spec.yaml:5:4: error: bad indentation: this line is indented 3 spaces, which lines up with no key above: expected 2 (like 'os' on line 4) or 0 (like 'image' on line 3) (YAML nests by indentation)
   architecture: amd64
   ^)");
}

TEST(SpecErrors, ImageKeyAtTheTopLevelSuggestsIndentingIt) {
  EXPECT_EQ(
      report(R"(apiVersion: strata/v1
name: t
image:
  os: linux
config:
  user: "1000"
base: scratch
)"),
      R"(spec.yaml:5:1: error: unknown key 'config'; did you mean image.config? (indent it under image:)
config:
^
spec.yaml:7:1: error: unknown key 'base'; did you mean image.base? (indent it under image:)
base: scratch
^
2 errors in spec.yaml)");
}

TEST(SpecErrors, MissingKeyInFlowMappingPointsAtTheBrace) {
  EXPECT_EQ(report(R"(apiVersion: strata/v1
name: t
sources:
  - {name: s, url: "https://x.org/s.tgz"}
image: {}
)"),
            R"(spec.yaml:4:5: error: missing required key 'sha256'
  - {name: s, url: "https://x.org/s.tgz"}
    ^)");
}

TEST(SpecErrors, UnknownReferencesCyclesAndDuplicatesAreAllReported) {
  EXPECT_EQ(report(R"(apiVersion: strata/v1
name: t
sources:
  - {name: src, url: "https://x.org/a.tgz", sha256: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}
packages:
  - {name: a, sources: [srx, src, src], depends: [b], steps: [make]}
  - {name: b, depends: [c], steps: [make]}
  - {name: c, depends: [a, d], steps: [make]}
  - {name: a, steps: [make]}
image:
  layers:
    - packages: [a, zz]
    - packages: [a]
)"),
            R"(spec.yaml:6:25: error: unknown source 'srx'; did you mean 'src'?
  - {name: a, sources: [srx, src, src], depends: [b], steps: [make]}
                        ^
spec.yaml:6:35: error: source 'src' is listed twice
  - {name: a, sources: [srx, src, src], depends: [b], steps: [make]}
                                  ^
spec.yaml:8:25: error: dependency cycle: a -> b -> c -> a
  - {name: c, depends: [a, d], steps: [make]}
                        ^
spec.yaml:8:28: error: unknown package 'd'
  - {name: c, depends: [a, d], steps: [make]}
                           ^
spec.yaml:9:12: error: duplicate package 'a' (first declared on line 6)
  - {name: a, steps: [make]}
           ^
spec.yaml:12:21: error: unknown package 'zz'
    - packages: [a, zz]
                    ^
spec.yaml:13:18: error: package 'a' is already in an earlier layer (line 12)
    - packages: [a]
                 ^
7 errors in spec.yaml)");
}

TEST(SpecErrors, SelfDependencyIsACycle) {
  EXPECT_EQ(report(R"(apiVersion: strata/v1
name: t
packages:
  - name: a
    depends: [a]
    steps: [make]
image: {}
)"),
            R"(spec.yaml:5:15: error: dependency cycle: a -> a
    depends: [a]
              ^)");
}

TEST(SpecErrors, TopLevelValuesAreChecked) {
  EXPECT_EQ(report(R"(apiVersion: strata/v2
name: Hello
version: .bad
epoch: -1
image: {}
)"),
            R"(spec.yaml:1:13: error: unsupported apiVersion 'strata/v2' (expected strata/v1)
apiVersion: strata/v2
            ^
spec.yaml:2:7: error: 'Hello' is not a valid image name (lowercase letters and digits, separated by '.', '_', '__' or '-', components joined by '/')
name: Hello
      ^
spec.yaml:3:10: error: '.bad' is not a valid image tag (letters, digits, '_', '.' and '-', not starting with '.' or '-', at most 128)
version: .bad
         ^
spec.yaml:4:8: error: expected an integer from 0 to 253402300799, got -1
epoch: -1
       ^
4 errors in spec.yaml)");
}

TEST(SpecErrors, BuildEnvironmentAndPackagesAreChecked) {
  EXPECT_EQ(report(R"(apiVersion: strata/v1
name: t
environment:
  rootfs: image
  env: {DESTDIR: /x, 1A: b, OK: [1]}
packages:
  - {name: p, steps: [], timeout: 5x}
  - {name: q, steps: ["  "], timeout: 2m30}
image: {}
)"),
            R"(spec.yaml:4:3: error: missing required key 'image' (needed by 'rootfs: image')
  rootfs: image
  ^
spec.yaml:5:9: error: 'DESTDIR' is set by strata in the build sandbox and cannot be overridden
  env: {DESTDIR: /x, 1A: b, OK: [1]}
        ^
spec.yaml:5:22: error: '1A' is not a valid environment variable name (letters, digits and '_', not starting with a digit)
  env: {DESTDIR: /x, 1A: b, OK: [1]}
                     ^
spec.yaml:5:33: error: expected a string, got a sequence
  env: {DESTDIR: /x, 1A: b, OK: [1]}
                                ^
spec.yaml:7:22: error: a package needs at least one step
  - {name: p, steps: [], timeout: 5x}
                     ^
spec.yaml:7:35: error: timeout '5x' is not a duration like "90s", "30m", "1h30m" or 600
  - {name: p, steps: [], timeout: 5x}
                                  ^
spec.yaml:8:23: error: a step must not be empty
  - {name: q, steps: ["  "], timeout: 2m30}
                      ^
spec.yaml:8:39: error: timeout '2m30' is not a duration like "90s", "30m", "1h30m" or 600
  - {name: q, steps: ["  "], timeout: 2m30}
                                      ^
8 errors in spec.yaml)");
}

// tmpfs_size: bytes or K/M/G/T (binary), from 1M to 1T; each value is the size in bytes.
TEST(SpecErrors, TmpfsSizeIsBytesOrASizeWithAUnit) {
  std::string yaml = std::string(testing::kHead) +
                     "packages:\n"
                     "  - {name: a, steps: [x], tmpfs_size: 1048576}\n"
                     "  - {name: b, steps: [x], tmpfs_size: 512M}\n"
                     "  - {name: c, steps: [x], tmpfs_size: 2G}\n"
                     "  - {name: d, steps: [x], tmpfs_size: 1T}\n"
                     "  - {name: e, steps: [x]}\n"
                     "image: {}\n";
  ParseResult result = parse_spec_diagnostics(yaml, "spec.yaml", "/");
  EXPECT_TRUE(result.diagnostics.empty());
  ASSERT_EQ(result.spec.packages.size(), 5u);
  EXPECT_EQ(result.spec.packages[0].tmpfs_size_bytes, int64_t{1} << 20);
  EXPECT_EQ(result.spec.packages[1].tmpfs_size_bytes, int64_t{512} << 20);
  EXPECT_EQ(result.spec.packages[2].tmpfs_size_bytes, int64_t{2} << 30);
  EXPECT_EQ(result.spec.packages[3].tmpfs_size_bytes, int64_t{1} << 40);
  EXPECT_EQ(result.spec.packages[4].tmpfs_size_bytes, 0) << "0: the sandbox's default";

  EXPECT_EQ(
      report(std::string(testing::kHead) +
             "packages:\n"
             "  - {name: a, steps: [x], tmpfs_size: 1023K}\n"
             "  - {name: b, steps: [x], tmpfs_size: 2P}\n"
             "  - {name: c, steps: [x], tmpfs_size: 1025G1}\n"
             "  - {name: d, steps: [x], tmpfs_size: 99999999999999999999}\n"
             "image: {}\n"),
      R"(spec.yaml:4:39: error: tmpfs_size '1023K' is not a size like "512M", "2G" or a number of bytes, from 1M to 1T
  - {name: a, steps: [x], tmpfs_size: 1023K}
                                      ^
spec.yaml:5:39: error: tmpfs_size '2P' is not a size like "512M", "2G" or a number of bytes, from 1M to 1T
  - {name: b, steps: [x], tmpfs_size: 2P}
                                      ^
spec.yaml:6:39: error: tmpfs_size '1025G1' is not a size like "512M", "2G" or a number of bytes, from 1M to 1T
  - {name: c, steps: [x], tmpfs_size: 1025G1}
                                      ^
spec.yaml:7:39: error: tmpfs_size '99999999999999999999' is not a size like "512M", "2G" or a number of bytes, from 1M to 1T
  - {name: d, steps: [x], tmpfs_size: 99999999999999999999}
                                      ^
4 errors in spec.yaml)");
}

TEST(SpecErrors, BadRootfsDoesNotAlsoComplainAboutImage) {
  EXPECT_EQ(
      report(R"(apiVersion: strata/v1
name: t
environment:
  rootfs: hots
  image: x@sha256:abc
image: {}
)"),
      R"(spec.yaml:4:11: error: 'hots' is not a valid rootfs (expected host, image or debs); did you mean 'host'?
  rootfs: hots
          ^
spec.yaml:5:10: error: image 'x@sha256:abc' is not an image pinned by digest like "./layout@sha256:<64 hex>"
  image: x@sha256:abc
         ^
2 errors in spec.yaml)");
}

TEST(SpecErrors, ImageNeedsRootfsImage) {
  EXPECT_EQ(report(R"(apiVersion: strata/v1
name: t
environment: {image: "./t@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}
image: {}
)"),
            R"(spec.yaml:3:15: error: 'image' is only used with 'rootfs: image'
environment: {image: "./t@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}
              ^)");
}

TEST(SpecErrors, DebsEnvironmentIsChecked) {
  EXPECT_EQ(report(R"(apiVersion: strata/v1
name: t
environment: {debs: [make]}
image: {}
)"),
            R"(spec.yaml:3:15: error: 'debs' is only used with 'rootfs: debs'
environment: {debs: [make]}
              ^)");
  EXPECT_EQ(
      report(R"(apiVersion: strata/v1
name: t
debian: {repositories: [host]}
environment:
  rootfs: debs
  debs: []
  image: "./t@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
image: {}
)"),
      R"(spec.yaml:6:9: error: debs is empty: 'rootfs: debs' needs the packages of the toolchain
  debs: []
        ^
spec.yaml:7:3: error: 'image' is only used with 'rootfs: image', not with 'rootfs: debs'
  image: "./t@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
  ^
2 errors in spec.yaml)");
  EXPECT_EQ(
      report(R"(apiVersion: strata/v1
name: t
environment:
  rootfs: debs
  debs: [make, Make, make]
image: {}
)"),
      R"(spec.yaml:5:10: error: 'rootfs: debs' needs a 'debian:' section naming the repositories to take them from
  debs: [make, Make, make]
         ^
spec.yaml:5:16: error: 'Make' is not a Debian package name (lowercase letters, digits, '+', '-' and '.')
  debs: [make, Make, make]
               ^
spec.yaml:5:22: error: deb 'make' is already listed (line 5)
  debs: [make, Make, make]
                     ^
3 errors in spec.yaml)");
  EXPECT_EQ(report(R"(apiVersion: strata/v1
name: t
environment: {rootfs: debs}
image: {}
)"),
            R"(spec.yaml:3:14: error: missing required key 'debs' (needed by 'rootfs: debs')
environment: {rootfs: debs}
             ^)");
}

TEST(SpecErrors, EmptySpecIsAnError) {
  EXPECT_EQ(
      report(R"()"),
      R"(spec.yaml:1:1: error: the spec is empty (it needs at least apiVersion, name and image))");
}

TEST(SpecErrors, SecondYamlDocumentIsAnError) {
  EXPECT_EQ(report(R"(apiVersion: strata/v1
name: t
image: {}
---
name: x
)"),
            R"(spec.yaml:4:1: error: a spec is one YAML document; found a second one here
---
^)");
}

TEST(SpecErrors, TopLevelMustBeAMapping) {
  EXPECT_EQ(report(R"(- a
- b
)"),
            R"(spec.yaml:1:1: error: expected a mapping at the top of the spec, got a sequence
- a
^)");
}

TEST(SpecErrors, DuplicateKeyIsAnError) {
  EXPECT_EQ(report(R"(apiVersion: strata/v1
name: t
name: u
image: {}
)"),
            R"(spec.yaml:3:1: error: duplicate key 'name'
name: u
^)");
}

TEST(SpecErrors, CaretKeepsTabsAligned) {
  EXPECT_EQ(report(R"(apiVersion: strata/v1
name: t
image:
  config: {workdir: "	rel"}
)"),
            R"(spec.yaml:4:21: error: workdir '	rel' must be an absolute path
  config: {workdir: "	rel"}
                    ^)");
}

TEST(SpecErrors, CaretCountsUtf8SequencesAsOneColumn) {
  EXPECT_EQ(report(R"(apiVersion: strata/v1
name: t
image:
  annotations: {"é": x}
  config: {workdir: "ééé"}
)"),
            R"(spec.yaml:5:21: error: workdir 'ééé' must be an absolute path
  config: {workdir: "ééé"}
                    ^)");
}

// yaml-cpp 0.7's LoadAll never returns on this input (found by fuzz_parse.cc).
TEST(SpecErrors, StrayCommaIsReportedNotLoopedOn) {
  EXPECT_EQ(report("[a],\n"),
            "spec.yaml:1:4: error: unexpected ',' outside a [...] or {...} collection\n[a],\n   ^");
}

TEST(SpecErrors, SourcePathMustExist) {
  SpecDir dir;
  std::string yaml = std::string(testing::kHead) +
                     "sources: [{name: s, path: nope.tgz, sha256: " + std::string(64, 'a') +
                     "}]\nimage: {}\n";
  EXPECT_EQ(report(yaml, dir.path()),
            "spec.yaml:3:27: error: path 'nope.tgz' does not exist (looked in " + dir.path() +
                "/nope.tgz)\n" +
                yaml.substr(yaml.find("sources"), yaml.find("\nimage") - yaml.find("sources")) +
                "\n" + std::string(26, ' ') + "^");
}

// A path beside the spec may omit sha256 (pinned by its contents when built); a URL or an
// absolute path may not.
TEST(SpecErrors, OnlyAPathBesideTheSpecMayOmitSha256) {
  SpecDir dir;
  ParseResult beside = parse_spec_diagnostics(
      std::string(testing::kHead) + "sources: [{name: s, path: files}]\nimage: {}\n", "spec.yaml",
      dir.path());
  EXPECT_TRUE(beside.diagnostics.empty());
  ASSERT_EQ(beside.spec.sources.size(), 1u);
  EXPECT_TRUE(beside.spec.sources[0].sha256.hex.empty());
  EXPECT_EQ(report(std::string(testing::kHead) + "sources: [{name: s, path: /bin/sh}]\nimage: {}\n",
                   dir.path()),
            "spec.yaml:3:27: error: path '/bin/sh' is absolute: a host file must be pinned with "
            "sha256 (only a path beside the spec may omit it)\n"
            "sources: [{name: s, path: /bin/sh}]\n"
            "                          ^");
  EXPECT_EQ(report(std::string(testing::kHead) +
                   "sources: [{name: s, url: \"https://example.org/s.tgz\"}]\nimage: {}\n"),
            "spec.yaml:3:11: error: missing required key 'sha256'\n"
            "sources: [{name: s, url: \"https://example.org/s.tgz\"}]\n"
            "          ^");
}

// A `path:` source is a file or a directory (its digest is that of its strata-det/1 tar).
TEST(SpecErrors, SourcePathMayBeAFileOrADirectory) {
  SpecDir dir;
  std::string yaml = std::string(testing::kHead) +
                     "sources: [{name: s, path: files, sha256: " + std::string(64, 'a') +
                     "}]\nimage: {}\n";
  ParseResult result = parse_spec_diagnostics(yaml, "spec.yaml", dir.path());
  EXPECT_TRUE(result.diagnostics.empty());
}

TEST(SpecErrors, EveryErrorIsReturnedByTheLowLevelApi) {
  ParseResult result = parse_spec_diagnostics("apiVersion: strata/v2\nnmae: x\n", "s.yaml", "/");
  EXPECT_EQ(result.diagnostics,
            (std::vector<Diagnostic>{
                {{"s.yaml", 2, 1}, "unknown key 'nmae'; did you mean 'name'?"},
                {{"s.yaml", 1, 13}, "unsupported apiVersion 'strata/v2' (expected strata/v1)"},
                {{"s.yaml", 1, 1}, "missing required key 'name'"},
                {{"s.yaml", 1, 1}, "missing required key 'image'"},
            }));
}

}  // namespace
}  // namespace strata::specs
