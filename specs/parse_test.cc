// Parsing good specs: every key of docs/design.md's example lands in the typed Spec.
#include "specs/parse.h"

#include <gtest/gtest.h>

#include "tests/support/spec_report.h"

namespace strata::specs {
namespace {

using testing::kHead;
using testing::report;
using testing::SpecDir;

constexpr std::string_view kDesignSpec = R"(apiVersion: strata/v1
name: hello                      # image name; default output out/hello
version: "2.12"
epoch: 1700000000
sources:
  - name: hello-src
    url: https://example.org/hello-2.12.tar.gz
    sha256: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
    strip: 1
  - name: local
    path: hello-2.12.tar.gz
    sha256: sha256:1111111111111111111111111111111111111111111111111111111111111111
environment:
  rootfs: image
  image: ./toolchain@sha256:2222222222222222222222222222222222222222222222222222222222222222
  env: {CFLAGS: "-O2"}
packages:
  - name: hello
    version: "2.12"
    license: GPL-3.0-or-later
    sources: [hello-src, local]
    depends: [zlib]
    steps:
      - ./configure --prefix=/usr
      - make -j"$JOBS"
      - make install DESTDIR="$DESTDIR"
    env: {LDFLAGS: -s}
    timeout: 1h30m
  - name: zlib
    steps: [make]
    timeout: 90
image:
  base: scratch
  layers:
    - packages: [hello]
      comment: the program
    - files: [{src: files/motd, dest: /etc/motd/, mode: "0644", uid: 1, gid: 2},
              {src: ./files/etc, dest: /etc/extra, mode: 0600, dir_mode: "0750"}]
  accounts:
    groups: [{name: app, gid: 65532, members: [app]}]
    users: [{name: app, uid: 65532, gid: app, home: /home/app, shell: /sbin/nologin}]
  paths:
    - {path: /tmp, type: directory, mode: "1777"}
    - {path: /usr/bin/hi, type: symlink, target: hello}
    - {path: /etc/issue, type: file, content: "hi\n", uid: 0}
    - {path: /usr/bin/hey, type: hardlink, target: /usr/bin/hello}
  config:
    entrypoint: [/usr/bin/hello]
    cmd: []
    env: {PATH: /usr/bin:/bin}
    workdir: /
    user: "app:app"
    labels: {org.opencontainers.image.title: hello}
    ports: [8080/tcp, 53/udp, 80]
    volumes: [/data/]
    stop_signal: SIGTERM
  annotations: {a: b}
  architecture: arm64
)";

TEST(SpecParse, DesignSpecRoundTripsIntoTypedValues) {
  SpecDir dir;
  ParseResult result = parse_spec_diagnostics(kDesignSpec, "hello.yaml", dir.path());
  for (const Diagnostic& d : result.diagnostics) ADD_FAILURE() << format_diagnostic(d, kDesignSpec);
  const Spec& s = result.spec;
  EXPECT_EQ(s.file, "hello.yaml");
  EXPECT_EQ(s.dir, dir.path());
  EXPECT_EQ(s.name, "hello");
  EXPECT_EQ(s.version, "2.12");
  EXPECT_EQ(s.epoch, 1700000000);
  ASSERT_EQ(s.sources.size(), 2u);
  EXPECT_EQ(s.sources[0].url, "https://example.org/hello-2.12.tar.gz");
  EXPECT_EQ(s.sources[0].sha256.hex,
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
  EXPECT_EQ(s.sources[0].strip, 1);
  EXPECT_EQ(s.sources[0].loc.line, 6);
  EXPECT_EQ(s.sources[0].loc.column, 5);
  EXPECT_EQ(s.sources[1].path, "hello-2.12.tar.gz");
  EXPECT_EQ(s.sources[1].sha256.hex, std::string(64, '1'));
  EXPECT_EQ(s.environment.rootfs, RootfsKind::kImage);
  ASSERT_TRUE(s.environment.image.has_value());
  EXPECT_EQ(s.environment.image->path, "./toolchain");
  EXPECT_EQ(s.environment.image->digest.hex, std::string(64, '2'));
  EXPECT_EQ(s.environment.env, (std::map<std::string, std::string>{{"CFLAGS", "-O2"}}));
  ASSERT_EQ(s.packages.size(), 2u);
  const Package& hello = s.packages[0];
  EXPECT_EQ(hello.version, "2.12");
  EXPECT_EQ(hello.license, "GPL-3.0-or-later");
  ASSERT_EQ(hello.sources.size(), 2u);
  EXPECT_EQ(hello.sources[1].name, "local");
  EXPECT_EQ(hello.sources[1].loc.line, 21);
  EXPECT_EQ(hello.sources[1].loc.column, 26);
  ASSERT_EQ(hello.depends.size(), 1u);
  EXPECT_EQ(hello.depends[0].name, "zlib");
  EXPECT_EQ(hello.steps, (std::vector<std::string>{"./configure --prefix=/usr", "make -j\"$JOBS\"",
                                                   "make install DESTDIR=\"$DESTDIR\""}));
  EXPECT_EQ(hello.env.at("LDFLAGS"), "-s");
  EXPECT_EQ(hello.timeout_s, 5400);
  EXPECT_EQ(s.packages[1].timeout_s, 90);
  EXPECT_EQ(s.packages[1].version, "");
}

TEST(SpecParse, DesignSpecImageSection) {
  SpecDir dir;
  Result<Spec> spec = parse_spec(kDesignSpec, "hello.yaml", dir.path());
  ASSERT_TRUE(spec.ok()) << spec.error().message();
  const Image& image = spec->image;
  EXPECT_FALSE(image.base.has_value());
  ASSERT_EQ(image.layers.size(), 2u);
  EXPECT_EQ(image.layers[0].packages[0].name, "hello");
  EXPECT_EQ(image.layers[0].comment, "the program");
  ASSERT_EQ(image.layers[1].files.size(), 2u);
  const FileMapping& motd = image.layers[1].files[0];
  EXPECT_EQ(motd.src, "files/motd");
  EXPECT_EQ(motd.dest, "/etc/motd");
  EXPECT_EQ(motd.mode, 0644u);
  EXPECT_EQ(motd.uid, 1);
  EXPECT_EQ(motd.gid, 2);
  EXPECT_EQ(image.layers[1].files[1].mode, 0600u);  // unquoted 0600 is still octal
  EXPECT_EQ(image.layers[1].files[1].dir_mode, 0750u);
  EXPECT_EQ(image.accounts.groups[0].members, std::vector<std::string>{"app"});
  EXPECT_EQ(image.accounts.users[0].gid, 65532);  // resolved from the group name
  EXPECT_EQ(image.accounts.users[0].home, "/home/app");
  ASSERT_EQ(image.paths.size(), 4u);
  EXPECT_EQ(image.paths[0].mode, 01777u);
  EXPECT_EQ(image.paths[1].type, PathType::kSymlink);
  EXPECT_EQ(image.paths[1].target, "hello");
  EXPECT_EQ(image.paths[2].content, "hi\n");
  EXPECT_EQ(image.paths[3].type, PathType::kHardlink);
  EXPECT_EQ(image.config.entrypoint, std::vector<std::string>{"/usr/bin/hello"});
  ASSERT_TRUE(image.config.cmd.has_value());
  EXPECT_TRUE(image.config.cmd->empty());
  EXPECT_EQ(image.config.workdir, "/");
  EXPECT_EQ(image.config.user, "app:app");
  EXPECT_EQ(image.config.ports, (std::vector<std::string>{"8080/tcp", "53/udp", "80"}));
  EXPECT_EQ(image.config.volumes, std::vector<std::string>{"/data"});
  EXPECT_EQ(image.config.stop_signal, "SIGTERM");
  EXPECT_EQ(image.config.labels.at("org.opencontainers.image.title"), "hello");
  EXPECT_EQ(image.annotations.at("a"), "b");
  EXPECT_EQ(image.os, "linux");
  EXPECT_EQ(image.architecture, "arm64");
}

TEST(SpecParse, MinimalSpecGetsDefaults) {
  Result<Spec> spec = parse_spec(std::string(kHead) + "image: {}\n", "m.yaml", "/");
  ASSERT_TRUE(spec.ok()) << spec.error().message();
  EXPECT_EQ(spec->version, "latest");
  EXPECT_EQ(spec->epoch, kDefaultEpoch);
  EXPECT_EQ(spec->environment.rootfs, RootfsKind::kHost);
  EXPECT_FALSE(spec->image.base.has_value());
  EXPECT_EQ(spec->image.os, "linux");
  EXPECT_EQ(spec->image.architecture, "");
  EXPECT_FALSE(spec->image.config.cmd.has_value());
}

TEST(SpecParse, EmptyValuesAreEmptyListsAndMaps) {
  std::string yaml = std::string(kHead) + "sources:\npackages:\nimage:\n  layers:\n  config:\n";
  EXPECT_EQ(report(yaml), "ok");
}

TEST(SpecParse, BaseImageAndUserGidDefaultToPinnedAndUid) {
  std::string yaml = std::string(kHead) + R"(image:
  base: ../base.tar@sha256:3333333333333333333333333333333333333333333333333333333333333333
  accounts:
    users: [{name: web, uid: 1000}]
  config: {user: nobody}
)";
  Result<Spec> spec = parse_spec(yaml, "b.yaml", "/");
  ASSERT_TRUE(spec.ok()) << spec.error().message();
  ASSERT_TRUE(spec->image.base.has_value());
  EXPECT_EQ(spec->image.base->path, "../base.tar");
  EXPECT_EQ(spec->image.base->loc.line, 4);
  EXPECT_EQ(spec->image.accounts.users[0].gid, 1000);
  // "nobody" may come from the base image's /etc/passwd, so it need not be declared.
  EXPECT_EQ(spec->image.config.user, "nobody");
}

TEST(SpecParse, LoadSpecResolvesRelativePathsAgainstTheSpecDirectory) {
  SpecDir dir;
  std::string yaml =
      std::string(kHead) + "image:\n  layers:\n    - files: [{src: files/motd, dest: /m}]\n";
  ASSERT_TRUE(write_file(dir.path() + "/s.yaml", yaml).ok());
  Result<Spec> spec = load_spec(dir.path() + "/s.yaml");
  ASSERT_TRUE(spec.ok()) << spec.error().message();
  EXPECT_EQ(spec->file, dir.path() + "/s.yaml");
  EXPECT_EQ(spec->dir, dir.path());
}

TEST(SpecParse, LoadSpecReportsAnUnreadableFile) {
  Result<Spec> spec = load_spec("/nonexistent/spec.yaml");
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.error().code(), ErrorCode::kSpec);
  EXPECT_EQ(spec.error().to_string(),
            "/nonexistent/spec.yaml: error: cannot read spec: No such file or directory");
}

TEST(SpecParse, FileChecksCanBeTurnedOff) {
  std::string yaml =
      std::string(kHead) + "image:\n  layers:\n    - files: [{src: nope, dest: /m}]\n";
  ParseResult result =
      parse_spec_diagnostics(yaml, "s.yaml", "/nonexistent", {.check_files = false});
  EXPECT_TRUE(result.ok());
}

}  // namespace
}  // namespace strata::specs
