// Spec errors in the image section: each case compares the whole user-facing report, locations and
// caret lines included (docs/style.md §8).
#include <gtest/gtest.h>

#include "specs/parse.h"
#include "tests/support/spec_report.h"

namespace strata::specs {
namespace {

using testing::report;
using testing::SpecDir;

TEST(SpecErrors, DestMustBeAbsoluteNormalizedAndUniqueInALayer) {
  EXPECT_EQ(
      report(R"(apiVersion: strata/v1
name: t
image:
  layers:
    - files:
        - {src: files/motd, dest: etc/motd}
        - {src: files/motd, dest: /etc/../motd}
        - {src: files/motd, dest: /a//b}
        - {src: files/motd, dest: /etc/motd/}
        - {src: files/motd, dest: /etc/motd}
)"),
      R"(spec.yaml:6:17: error: src 'files/motd' does not exist (looked in /nonexistent/files/motd)
        - {src: files/motd, dest: etc/motd}
                ^
spec.yaml:6:35: error: dest 'etc/motd' must be an absolute path
        - {src: files/motd, dest: etc/motd}
                                  ^
spec.yaml:7:17: error: src 'files/motd' does not exist (looked in /nonexistent/files/motd)
        - {src: files/motd, dest: /etc/../motd}
                ^
spec.yaml:7:35: error: dest '/etc/../motd' must not contain '..'
        - {src: files/motd, dest: /etc/../motd}
                                  ^
spec.yaml:8:17: error: src 'files/motd' does not exist (looked in /nonexistent/files/motd)
        - {src: files/motd, dest: /a//b}
                ^
spec.yaml:8:35: error: dest '/a//b' has an empty component
        - {src: files/motd, dest: /a//b}
                                  ^
spec.yaml:9:17: error: src 'files/motd' does not exist (looked in /nonexistent/files/motd)
        - {src: files/motd, dest: /etc/motd/}
                ^
spec.yaml:10:17: error: src 'files/motd' does not exist (looked in /nonexistent/files/motd)
        - {src: files/motd, dest: /etc/motd}
                ^
spec.yaml:10:35: error: duplicate dest '/etc/motd' (first declared on line 9)
        - {src: files/motd, dest: /etc/motd}
                                  ^
9 errors in spec.yaml)");
}

TEST(SpecErrors, SrcMustStayInsideTheSpecDirectory) {
  EXPECT_EQ(report(R"(apiVersion: strata/v1
name: t
image:
  layers:
    - files: [{src: ../x, dest: /x}, {src: /etc/passwd, dest: /y}]
    - {}
)"),
            R"(spec.yaml:5:21: error: src '../x' must stay inside the spec's directory (no '..')
    - files: [{src: ../x, dest: /x}, {src: /etc/passwd, dest: /y}]
                    ^
spec.yaml:5:44: error: src '/etc/passwd' must be relative to the spec's directory
    - files: [{src: ../x, dest: /x}, {src: /etc/passwd, dest: /y}]
                                           ^
spec.yaml:6:7: error: a layer needs 'packages', 'debs', 'files' or 'run'
    - {}
      ^
3 errors in spec.yaml)");
}

TEST(SpecErrors, RunLayersHoldOnlyNonEmptyCommands) {
  EXPECT_EQ(report(R"(apiVersion: strata/v1
name: t
image:
  layers:
    - run: []
    - run: ["true", "  "]
    - {run: "true", packages: [a]}
    - run: {a: b}
)"),
            R"(spec.yaml:5:12: error: 'run' needs at least one command
    - run: []
           ^
spec.yaml:6:21: error: a 'run' command is empty
    - run: ["true", "  "]
                    ^
spec.yaml:7:8: error: a 'run' layer holds only its commands: put 'packages', 'debs' and 'files' in a layer of their own
    - {run: "true", packages: [a]}
       ^
spec.yaml:7:32: error: unknown package 'a'
    - {run: "true", packages: [a]}
                               ^
spec.yaml:8:12: error: expected a sequence, got a mapping
    - run: {a: b}
           ^
5 errors in spec.yaml)");
}

TEST(SpecErrors, ModeMustBeThreeOrFourOctalDigits) {
  EXPECT_EQ(report(R"(apiVersion: strata/v1
name: t
image:
  paths:
    - {path: /a, type: directory, mode: "999"}
    - {path: /b, type: directory, mode: "0x1"}
    - {path: /c, type: directory, mode: "17777"}
    - {path: /d, type: directory, mode: 0644}
)"),
            R"(spec.yaml:5:41: error: mode '999' is not an octal mode of 3 or 4 digits like "0644"
    - {path: /a, type: directory, mode: "999"}
                                        ^
spec.yaml:6:41: error: mode '0x1' is not an octal mode of 3 or 4 digits like "0644"
    - {path: /b, type: directory, mode: "0x1"}
                                        ^
spec.yaml:7:41: error: mode '17777' is not an octal mode of 3 or 4 digits like "0644"
    - {path: /c, type: directory, mode: "17777"}
                                        ^
3 errors in spec.yaml)");
}

TEST(SpecErrors, IdsMustBeDecimalAndInRange) {
  EXPECT_EQ(report(R"(apiVersion: strata/v1
name: t
image:
  paths:
    - {path: /a, type: directory, uid: 4294967295, gid: -1}
    - {path: /b, type: directory, uid: abc, gid: 0700}
)"),
            R"(spec.yaml:5:40: error: expected an integer from 0 to 4294967294, got 4294967295
    - {path: /a, type: directory, uid: 4294967295, gid: -1}
                                       ^
spec.yaml:5:57: error: expected an integer from 0 to 4294967294, got -1
    - {path: /a, type: directory, uid: 4294967295, gid: -1}
                                                        ^
spec.yaml:6:40: error: expected an integer, got 'abc'
    - {path: /b, type: directory, uid: abc, gid: 0700}
                                       ^
spec.yaml:6:50: error: expected an integer without leading zeros, got '0700'
    - {path: /b, type: directory, uid: abc, gid: 0700}
                                                 ^
4 errors in spec.yaml)");
}

TEST(SpecErrors, PathTypesCheckTheirOwnKeys) {
  EXPECT_EQ(report(R"(apiVersion: strata/v1
name: t
image:
  paths:
    - {path: /l, type: symlink}
    - {path: /h, type: hardlink, target: usr/bin/x}
    - {path: /d, type: directory, content: x}
    - {path: /f, type: symlnk}
    - {path: /l, type: file}
    - {path: /s, type: symlink, target: x, mode: "0777"}
)"),
            R"(spec.yaml:5:7: error: missing required key 'target' (needed by a link)
    - {path: /l, type: symlink}
      ^
spec.yaml:6:42: error: target 'usr/bin/x' must be an absolute path
    - {path: /h, type: hardlink, target: usr/bin/x}
                                         ^
spec.yaml:7:35: error: 'content' is only allowed with 'type: file'
    - {path: /d, type: directory, content: x}
                                  ^
spec.yaml:8:24: error: 'symlnk' is not a valid path type (expected directory, file, symlink or hardlink); did you mean 'symlink'?
    - {path: /f, type: symlnk}
                       ^
spec.yaml:9:14: error: duplicate path '/l' (first declared on line 5)
    - {path: /l, type: file}
             ^
spec.yaml:10:44: error: a link has no mode of its own; remove 'mode'
    - {path: /s, type: symlink, target: x, mode: "0777"}
                                           ^
6 errors in spec.yaml)");
}

TEST(SpecErrors, AccountsRejectDuplicatesAndUnknownGroups) {
  EXPECT_EQ(report(R"(apiVersion: strata/v1
name: t
image:
  accounts:
    groups: [{name: app, gid: 100}, {name: app, gid: 100}]
    users:
      - {name: web, uid: 1, gid: ap}
      - {name: web, uid: 1, gecos: "a:b"}
      - {name: Bad, uid: 2, home: home}
)"),
            R"(spec.yaml:5:44: error: duplicate group 'app' (first declared on line 5)
    groups: [{name: app, gid: 100}, {name: app, gid: 100}]
                                           ^
spec.yaml:5:54: error: duplicate gid '100' (first declared on line 5)
    groups: [{name: app, gid: 100}, {name: app, gid: 100}]
                                                     ^
spec.yaml:7:34: error: unknown group 'ap' (a gid is a number or a group declared in accounts.groups)
      - {name: web, uid: 1, gid: ap}
                                 ^
spec.yaml:8:16: error: duplicate user 'web' (first declared on line 7)
      - {name: web, uid: 1, gecos: "a:b"}
               ^
spec.yaml:8:26: error: duplicate uid '1' (first declared on line 7)
      - {name: web, uid: 1, gecos: "a:b"}
                         ^
spec.yaml:8:36: error: gecos must not contain ':' or a newline (they would break /etc/passwd)
      - {name: web, uid: 1, gecos: "a:b"}
                                   ^
spec.yaml:9:16: error: 'Bad' is not a valid user or group name (lowercase letters, digits, '_' and '-', starting with a letter or '_', at most 32)
      - {name: Bad, uid: 2, home: home}
               ^
spec.yaml:9:35: error: home 'home' must be an absolute path
      - {name: Bad, uid: 2, home: home}
                                  ^
8 errors in spec.yaml)");
}

TEST(SpecErrors, ConfigChecksEveryField) {
  EXPECT_EQ(
      report(R"(apiVersion: strata/v1
name: t
image:
  config:
    entrypoint: /bin/app
    env: {"A=B": x}
    workdir: app
    user: "app"
    ports: [80, 0, 70000/tcp, 53/sctp, 80/tcp]
    volumes: [data]
    stop_signal: SIGTREM
    labels: {"": x}
)"),
      R"(spec.yaml:5:17: error: expected a sequence, got a string (write a list of arguments, like [/usr/bin/app, --flag])
    entrypoint: /bin/app
                ^
spec.yaml:6:11: error: 'A=B' is not a valid environment variable name (non-empty, without '=')
    env: {"A=B": x}
          ^
spec.yaml:7:14: error: workdir 'app' must be an absolute path
    workdir: app
             ^
spec.yaml:8:11: error: user 'app' is not declared in image.accounts.users and the base is scratch
    user: "app"
          ^
spec.yaml:9:17: error: port '0' is not a port like "8080", "8080/tcp" or "53/udp"
    ports: [80, 0, 70000/tcp, 53/sctp, 80/tcp]
                ^
spec.yaml:9:20: error: port '70000/tcp' is not a port like "8080", "8080/tcp" or "53/udp"
    ports: [80, 0, 70000/tcp, 53/sctp, 80/tcp]
                   ^
spec.yaml:9:31: error: port '53/sctp' is not a port like "8080", "8080/tcp" or "53/udp"
    ports: [80, 0, 70000/tcp, 53/sctp, 80/tcp]
                              ^
spec.yaml:9:40: error: duplicate port '80/tcp' (first declared on line 9)
    ports: [80, 0, 70000/tcp, 53/sctp, 80/tcp]
                                       ^
spec.yaml:10:15: error: volume 'data' must be an absolute path
    volumes: [data]
              ^
spec.yaml:11:18: error: stop_signal 'SIGTREM' is not a signal name like "SIGTERM" or a number 1..64; did you mean 'SIGTERM'?
    stop_signal: SIGTREM
                 ^
spec.yaml:12:14: error: keys must not be empty
    labels: {"": x}
             ^
11 errors in spec.yaml)");
}

TEST(SpecErrors, ArchitectureSuggestsTheGoarchName) {
  EXPECT_EQ(
      report(R"(apiVersion: strata/v1
name: t
image: {architecture: x86_64, os: windows}
)"),
      R"(spec.yaml:3:23: error: 'x86_64' is not a GOARCH architecture name; did you mean 'amd64'?
image: {architecture: x86_64, os: windows}
                      ^
spec.yaml:3:35: error: 'windows' is not a valid os (expected linux)
image: {architecture: x86_64, os: windows}
                                  ^
2 errors in spec.yaml)");
}

TEST(SpecErrors, LayerPackagesMustBeDeclaredOnce) {
  EXPECT_EQ(report(R"(apiVersion: strata/v1
name: t
packages:
  - {name: p, steps: [make]}
image:
  layers:
    - packages: [p, p]
    - {packages: [q], comment: [x]}
)"),
            R"(spec.yaml:7:21: error: package 'p' is listed twice
    - packages: [p, p]
                    ^
spec.yaml:8:19: error: unknown package 'q'
    - {packages: [q], comment: [x]}
                  ^
spec.yaml:8:32: error: expected a string, got a sequence
    - {packages: [q], comment: [x]}
                               ^
3 errors in spec.yaml)");
}

TEST(SpecErrors, ConfigUserGroupMustBeDeclaredOnScratch) {
  EXPECT_EQ(
      report(R"(apiVersion: strata/v1
name: t
image:
  accounts:
    groups: [{name: g, gid: 5}]
    users: [{name: u, uid: 5}]
  config: {user: "u:h"}
)"),
      R"(spec.yaml:7:18: error: group 'h' is not declared in image.accounts.groups and the base is scratch
  config: {user: "u:h"}
                 ^)");
}

TEST(SpecErrors, ConfigUserFormat) {
  EXPECT_EQ(report(R"(apiVersion: strata/v1
name: t
image:
  config: {user: "1:2:3"}
)"),
            R"(spec.yaml:4:18: error: user '1:2:3' is not USER, UID, USER:GROUP or UID:GID
  config: {user: "1:2:3"}
                 ^)");
}

TEST(SpecErrors, BaseMustBePinnedOrScratch) {
  EXPECT_EQ(
      report(R"(apiVersion: strata/v1
name: t
image:
  base: ubuntu:22.04
)"),
      R"(spec.yaml:4:9: error: base 'ubuntu:22.04' is not an image pinned by digest like "./layout@sha256:<64 hex>" or scratch
  base: ubuntu:22.04
        ^)");
}

TEST(SpecErrors, FilesSrcMustExist) {
  SpecDir dir;
  std::string line = "    - files: [{src: files/nope, dest: /etc/nope}]";
  std::string yaml = std::string(testing::kHead) + "image:\n  layers:\n" + line + "\n";
  EXPECT_EQ(report(yaml, dir.path()),
            "spec.yaml:5:21: error: src 'files/nope' does not exist "
            "(looked in " +
                dir.path() + "/files/nope)\n" + line + "\n" + std::string(20, ' ') + "^");
}

TEST(SpecErrors, FilesSrcKindMustFitDestAndDirMode) {
  SpecDir dir;
  std::string yaml = std::string(testing::kHead) + R"(image:
  layers:
    - files:
      - {src: files/motd, dest: /, dir_mode: "0755"}
      - {src: files/etc, dest: /etc, dir_mode: "0755", mode: "0600"}
)";
  EXPECT_EQ(report(yaml, dir.path()), R"(spec.yaml:6:33: error: dest '/' needs a directory as src
      - {src: files/motd, dest: /, dir_mode: "0755"}
                                ^
spec.yaml:6:36: error: dir_mode only applies when src is a directory
      - {src: files/motd, dest: /, dir_mode: "0755"}
                                   ^
2 errors in spec.yaml)");
}

}  // namespace
}  // namespace strata::specs
