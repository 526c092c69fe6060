#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>

#include "builder/base/beneath.h"
#include "builder/base/fd.h"
#include "builder/base/fs.h"
#include "builder/base/process.h"
#include "builder/build/package_build.h"
#include "builder/build/scheduler.h"
#include "builder/cache/entry_lock.h"
#include "sandbox/sandbox.h"
#include "tests/support/host_probe.h"
#include "tests/support/test_util.h"

namespace strata::builder::build {
namespace {

// Runs a step on the host with /bin/sh, with /build/src and /build/out replaced by the bind
// sources: enough to test caching and scheduling without namespaces.
class HostRunner : public sandbox::Runner {
 public:
  Result<sandbox::RunResult> run(const sandbox::Config& c) override {
    ++runs;
    std::string src, out;
    for (const auto& b : c.binds) (b.target == "/build/src" ? src : out) = b.source;
    STRATA_TRY_ASSIGN(UniqueFd log, open_fd(c.log_path, O_WRONLY | O_CREAT | O_TRUNC));
    STRATA_TRY_ASSIGN(ChildProcess child, spawn({.argv = {"/bin/sh", "-e", "-c", c.argv[3]},
                                                 .env = {"DESTDIR=" + out},
                                                 .cwd = src,
                                                 .stdout_fd = log.get(),
                                                 .stderr_fd = log.get()}));
    STRATA_TRY_ASSIGN(ExitStatus status, child.wait());
    sandbox::RunResult r;
    r.exit_code = status.code;
    return r;
  }
  std::atomic<int> runs = 0;
};

specs::Package package(std::string name, std::vector<std::string> steps,
                       std::vector<std::string> depends = {}) {
  specs::Package p{.name = std::move(name), .version = "1", .steps = std::move(steps)};
  for (auto& d : depends) p.depends.push_back({.name = d});
  return p;
}

class BuildTest : public ::testing::Test {
 protected:
  void SetUp() override {
    plan_.spec.packages = {
        package("lib", {"mkdir -p $DESTDIR/usr/lib", "echo lib1 > $DESTDIR/usr/lib/libx"}),
        package("app", {"mkdir -p $DESTDIR/usr/bin", "echo app > $DESTDIR/usr/bin/app"}, {"lib"})};
    plan_.package_order = {0, 1};
    ctx_.environment = sha256_of("test env");
    ctx_.log_root = tmp_.path() + "/logs";
    ctx_.jobs = 2;
  }

  Result<std::map<std::string, PackageOutput>> build() {
    STRATA_TRY_ASSIGN(OutputStore store, OutputStore::open(tmp_.path() + "/cache"));
    BuildObserver observer{
        .explained = [this](const CacheExplanation& e) { explained_.push_back(e); },
        .cached = [this](const std::string& p, const Digest&) { cached_.push_back(p); }};
    return build_packages(plan_, ctx_, store, runner_, observer);
  }

  // The explanation of the last build for `package`.
  CacheExplanation explained(const std::string& package) const {
    for (auto it = explained_.rbegin(); it != explained_.rend(); ++it) {
      if (it->package == package) return *it;
    }
    ADD_FAILURE() << "no explanation for " << package;
    return {};
  }

  TempDir tmp_ = testing::make_temp_dir("strata-build-test-");
  specs::Plan plan_;
  BuildContext ctx_;
  HostRunner runner_;
  std::vector<std::string> cached_;
  std::vector<CacheExplanation> explained_;
};

std::string entry_of(const PackageOutput& output) { return dirname_of(output.dir); }

TEST_F(BuildTest, ExplanationsSayNoPreviousKeyThenHitThenWhatChanged) {
  plan_.spec.name = "demo";
  ctx_.environment_detail = {{"host", {{"dpkg", {{"gcc:amd64", "12"}}}}}};
  ASSERT_TRUE(build().ok());
  EXPECT_FALSE(explained("lib").previous.has_value());
  EXPECT_FALSE(explained("lib").hit);
  ASSERT_TRUE(build().ok());
  CacheExplanation hit = explained("lib");
  EXPECT_TRUE(hit.hit);
  ASSERT_TRUE(hit.previous.has_value());
  EXPECT_EQ(hit.previous->key, hit.key);
  // A changed step: a miss whose previous preimage holds the old step.
  plan_.spec.packages[0].steps[1] = "echo lib2 > $DESTDIR/usr/lib/libx";
  ctx_.environment_detail["host"]["dpkg"]["gcc:amd64"] = "13";
  ASSERT_TRUE(build().ok());
  CacheExplanation miss = explained("lib");
  EXPECT_FALSE(miss.hit);
  ASSERT_TRUE(miss.previous.has_value());
  EXPECT_NE(miss.previous->key, miss.key);
  EXPECT_EQ(miss.previous->preimage["key"]["package"]["steps"][1],
            "echo lib1 > $DESTDIR/usr/lib/libx");
  EXPECT_EQ(miss.preimage["key"]["package"]["steps"][1], "echo lib2 > $DESTDIR/usr/lib/libx");
  EXPECT_EQ(miss.previous->preimage["environment"]["host"]["dpkg"]["gcc:amd64"], "12");
  // Another spec with the same package names has its own record.
  plan_.spec.name = "other";
  ASSERT_TRUE(build().ok());
  EXPECT_FALSE(explained("lib").previous.has_value());
}

TEST_F(BuildTest, StoredEntryKeepsItsKeyPreimage) {
  auto outputs = build();
  ASSERT_TRUE(outputs.ok());
  Result<std::string> text = read_file(entry_of(outputs->at("lib")) + "/key.json");
  ASSERT_TRUE(text.ok());
  CacheExplanation e = explained("lib");
  EXPECT_EQ(*text, *canonical_json(e.preimage));
  EXPECT_EQ(sha256_of(*canonical_json(e.preimage["key"])), e.key);
}

TEST_F(BuildTest, CacheHitStampsTheEntryAsUsed) {
  auto first = build();
  ASSERT_TRUE(first.ok());
  std::string record = entry_of(first->at("lib")) + "/output.json";
  const struct timespec old[2] = {{1000, 0}, {1000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, record.c_str(), old, 0), 0);
  first->clear();
  ASSERT_TRUE(build().ok());
  struct stat st;
  ASSERT_EQ(::stat(record.c_str(), &st), 0);
  EXPECT_GT(st.st_mtim.tv_sec, 1000);
}

TEST_F(BuildTest, OutputsHoldTheirEntriesAgainstPrune) {
  auto outputs = build();
  ASSERT_TRUE(outputs.ok());
  std::string entry = entry_of(outputs->at("lib"));
  EXPECT_FALSE(cache::try_claim_entry(entry)->has_value());
  outputs->clear();
  EXPECT_TRUE(cache::try_claim_entry(entry)->has_value());
}

TEST_F(BuildTest, BuildsInOrderAndStoresOutputs) {
  auto outputs = build();
  ASSERT_TRUE(outputs.ok()) << outputs.error().to_string();
  EXPECT_EQ(runner_.runs, 4);
  EXPECT_EQ(*read_file(outputs->at("lib").dir + "/usr/lib/libx"), "lib1\n");
  EXPECT_EQ(*read_file(outputs->at("app").dir + "/usr/bin/app"), "app\n");
  EXPECT_EQ(outputs->at("app").digest, *tree_digest(outputs->at("app").dir));
}

TEST_F(BuildTest, SecondBuildRunsNoStep) {
  auto first = build();
  ASSERT_TRUE(first.ok());
  runner_.runs = 0;
  auto second = build();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(runner_.runs, 0);
  EXPECT_EQ(cached_, (std::vector<std::string>{"lib", "app"}));
  EXPECT_EQ(first->at("app").digest, second->at("app").digest);
}

TEST_F(BuildTest, ChangingALibraryRebuildsItAndItsDependents) {
  ASSERT_TRUE(build().ok());
  plan_.spec.packages[0].steps[1] = "echo lib2 > $DESTDIR/usr/lib/libx";
  runner_.runs = 0;
  ASSERT_TRUE(build().ok());
  EXPECT_EQ(runner_.runs, 4);
}

TEST_F(BuildTest, ChangingAnAppRebuildsOnlyIt) {
  ASSERT_TRUE(build().ok());
  plan_.spec.packages[1].steps[1] = "echo app2 > $DESTDIR/usr/bin/app";
  runner_.runs = 0;
  cached_.clear();
  ASSERT_TRUE(build().ok());
  EXPECT_EQ(runner_.runs, 2);
  EXPECT_EQ(cached_, (std::vector<std::string>{"lib"}));
}

TEST_F(BuildTest, CorruptCacheEntryIsRebuiltNotUsed) {
  auto first = build();
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(write_file(first->at("lib").dir + "/usr/lib/libx", "tampered\n").ok());
  runner_.runs = 0;
  auto second = build();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(runner_.runs, 2);  // lib rebuilt; app's key is unchanged, so it stays cached
  EXPECT_EQ(*read_file(second->at("lib").dir + "/usr/lib/libx"), "lib1\n");
}

TEST_F(BuildTest, FailingStepNamesPackageStepStatusLogAndTail) {
  plan_.spec.packages[0].steps[1] = "echo compiling; echo 'error: boom' >&2; exit 3";
  auto outputs = build();
  ASSERT_FALSE(outputs.ok());
  std::string log = tmp_.path() + "/logs/lib/step-2.log";
  EXPECT_EQ(outputs.error().code(), ErrorCode::kBuild);
  EXPECT_EQ(outputs.error().message(),
            "package 'lib' failed at step 2/2: echo compiling; echo 'error: boom' >&2; exit 3\n"
            "  exited with status 3\n"
            "  log: " +
                log +
                "\n"
                "  last lines of the log:\n"
                "    | compiling\n"
                "    | error: boom");
  EXPECT_EQ(runner_.runs, 2);  // app never started
  // Nothing was stored and no work directory is left behind.
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(tmp_.path() + "/cache/packages")) {
    entries += e.path().filename() != "tmp" && e.path().filename() != "last";
  }
  EXPECT_EQ(entries, 0);
  EXPECT_TRUE(std::filesystem::is_empty(tmp_.path() + "/cache/packages/tmp"));
}

TEST_F(BuildTest, SourcesShareOneTreeAndCollisionsAreErrors) {
  auto file_source = [](std::string name, std::string file) {
    return PreparedSource{.name = name, .unpack = [file](const std::string& dest) -> Result<void> {
                            STRATA_TRY(make_dirs(dest));
                            return write_file(dest + "/" + file, file + "\n");
                          }};
  };
  ctx_.sources = {{"a", file_source("a", "one")}, {"b", file_source("b", "two")}};
  specs::Source a{.name = "a"}, b{.name = "b"};
  ctx_.source_specs = {{"a", &a}, {"b", &b}};
  plan_.spec.packages = {package("p", {"cat one two > $DESTDIR/both"})};
  plan_.spec.packages[0].sources = {{.name = "a"}, {.name = "b"}};
  plan_.package_order = {0};
  auto outputs = build();
  ASSERT_TRUE(outputs.ok()) << outputs.error().to_string();
  EXPECT_EQ(*read_file(outputs->at("p").dir + "/both"), "one\ntwo\n");

  ctx_.sources["b"] = file_source("b", "one");
  plan_.spec.packages[0].steps = {"true"};
  auto clash = build();
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.error().message(),
            "package 'p': unpacking source 'b': 'one' is also in another source");
}

// What the tree walker refuses in $DESTDIR is named by its path there, with the package: the
// work directory it was found in is gone by the time the user reads the message.
TEST_F(BuildTest, OutputThatNoLayerCanHoldNamesThePackageAndThePath) {
  plan_.spec.packages = {package("p", {"mkdir -p $DESTDIR/run && mkfifo $DESTDIR/run/fifo"})};
  plan_.package_order = {0};
  auto fifo = build();
  ASSERT_FALSE(fifo.ok());
  EXPECT_EQ(fifo.error().code(), ErrorCode::kInvalidInput);
  EXPECT_EQ(fifo.error().message(),
            "package 'p': storing its output ($DESTDIR): /run/fifo is a fifo: layers may hold "
            "only files, directories and links");
  plan_.spec.packages = {package("q", {"touch \"$DESTDIR/$(printf 'x\\377')\""})};
  auto name = build();
  ASSERT_FALSE(name.ok());
  EXPECT_EQ(name.error().message(),
            "package 'q': storing its output ($DESTDIR): /x\\xff: the name is not valid UTF-8 (bad "
            "bytes shown as \\xHH)");
  EXPECT_EQ(*list_dir(tmp_.path() + "/cache/packages/tmp"), std::vector<std::string>{});
}

// A runner that prints like a step, then fails the way the sandbox does when the log's disk
// is full.
class FullDiskRunner : public sandbox::Runner {
 public:
  Result<sandbox::RunResult> run(const sandbox::Config& c) override {
    STRATA_TRY(write_file(c.log_path, "configuring\ncompiling\n"));
    return Error::sys("write sandbox log", ENOSPC);
  }
};

TEST_F(BuildTest, SandboxFailureNamesThePackageAndStepAndQuotesTheLog) {
  FullDiskRunner full;
  auto store = OutputStore::open(tmp_.path() + "/cache");
  ASSERT_TRUE(store.ok());
  auto failed = build_packages(plan_, ctx_, *store, full, {});
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code(), ErrorCode::kIo);
  std::string log = tmp_.path() + "/logs/lib/step-1.log";
  EXPECT_EQ(failed.error().message(),
            "package 'lib' failed at step 1/2: mkdir -p $DESTDIR/usr/lib\n"
            "  write sandbox log: No space left on device\n"
            "  log: " +
                log +
                "\n"
                "  last lines of the log:\n"
                "    | configuring\n"
                "    | compiling");
  // The failed build's space is released: no work directory is left.
  EXPECT_EQ(*list_dir(tmp_.path() + "/cache/packages/tmp"), std::vector<std::string>{});
}

TEST(LogTail, LastLinesOfAnyLog) {
  TempDir tmp = testing::make_temp_dir("strata-log-tail-");
  auto tail = [&](const std::string& text, size_t lines) {
    std::string path = tmp.path() + "/log";
    EXPECT_TRUE(write_file(path, text).ok());
    return log_tail(path, lines);
  };
  EXPECT_EQ(tail("", 3), "") << "an empty log (a step cancelled before writing)";
  EXPECT_EQ(tail("\n\n", 3), "");
  EXPECT_EQ(tail("one", 3), "one");
  EXPECT_EQ(tail("a\nb\nc\n", 2), "b\nc");
  EXPECT_EQ(tail("a\nb\nc", 5), "a\nb\nc");
  EXPECT_EQ(tail("\nx", 1), "x");
  EXPECT_EQ(log_tail(tmp.path() + "/missing", 3), "");
}

// The tail is read from the end of the file: a giant log costs at most a MiB, and a giant
// line is cut, so the failure message stays small (issue 11).
TEST(LogTail, GiantLinesAndLogsAreCut) {
  TempDir tmp = testing::make_temp_dir("strata-log-tail-");
  std::string path = tmp.path() + "/log";
  ASSERT_TRUE(write_file(path, "start\n" + std::string(600, 'x') + "\nend\n").ok());
  EXPECT_EQ(log_tail(path, 3), "start\n" + std::string(512, 'x') + "\u2026(88 bytes cut)\nend");
  // A line that starts before the last MiB: only its end is seen, and it says so.
  ASSERT_TRUE(write_file(path, std::string(3 << 20, 'y') + "\nlast\n").ok());
  EXPECT_EQ(log_tail(path, 3), "\u2026(earlier bytes cut)" + std::string(512, 'y') + "\u2026(" +
                                   std::to_string((1 << 20) - 6 - 512) + " bytes cut)\nlast");
  // The cut never splits a UTF-8 character ("é" is 2 bytes: 511 x's, then é at 511..512).
  ASSERT_TRUE(write_file(path, std::string(511, 'x') + "\u00e9" + std::string(100, 'z')).ok());
  EXPECT_EQ(log_tail(path, 1), std::string(511, 'x') + "\u2026(102 bytes cut)");
  // Many short lines: the last `lines` of them.
  std::string many;
  for (int i = 0; i < 100000; ++i) many += std::to_string(i) + "\n";
  ASSERT_TRUE(write_file(path, many).ok());
  EXPECT_EQ(log_tail(path, 2), "99998\n99999");
}

TEST_F(BuildTest, DependencyOutputTheSandboxCannotLayerIsRefusedNamingIt) {
  for (const char* path : {"build/x", "tmp/x", "proc"}) {
    plan_.spec.packages[0].steps = {fmt::format("mkdir -p $DESTDIR/{} $DESTDIR/usr/lib", path)};
    auto outputs = build();
    ASSERT_FALSE(outputs.ok()) << path;
    EXPECT_EQ(outputs.error().code(), ErrorCode::kBuild);
    std::string top = std::string(path).substr(0, std::string(path).find('/'));
    EXPECT_EQ(outputs.error().message(),
              "package 'lib' is a dependency, and its output has /" + top +
                  ", which the sandbox of the packages depending on it makes itself (/build, "
                  "/dev, /proc, /sys and /tmp cannot come from a dependency)");
  }
  plan_.spec.packages[0].steps = {"echo x > $DESTDIR/stray"};
  auto file = build();
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.error().message(),
            "package 'lib' is a dependency, and its output has /stray, which is not a directory: "
            "only directories can be layered over the root of the packages depending on it");
  // A package no one depends on may install anything (an image may well have /tmp).
  plan_.spec.packages = {package("solo", {"mkdir -p $DESTDIR/tmp $DESTDIR/build"})};
  plan_.package_order = {0};
  auto solo = build();
  EXPECT_TRUE(solo.ok()) << solo.error().message();
}

TEST(CacheKey, CoversWhatChangesTheOutputOnly) {
  specs::Source src{.name = "s", .sha256 = sha256_of("a")};
  specs::Package p{.name = "p", .version = "1", .license = "MIT", .steps = {"make"}};
  CacheKeyInputs in{.environment = sha256_of("env"), .package = &p, .sources = {{"s", &src}}};
  Digest base = *cache_key(in);
  p.license = "GPL-2.0-only";
  p.timeout_s = 5;
  EXPECT_EQ(*cache_key(in), base);
  p.steps = {"make all"};
  EXPECT_NE(*cache_key(in), base);
  p.steps = {"make"};
  src.sha256 = sha256_of("b");
  EXPECT_NE(*cache_key(in), base);
  src.sha256 = sha256_of("a");
  in.dependencies["d"] = sha256_of("out");
  EXPECT_NE(*cache_key(in), base);
  in.dependencies.clear();
  in.env["CFLAGS"] = "-O2";
  EXPECT_NE(*cache_key(in), base);
}

TEST(StepEnvironment, IsExactlyTheContractPlusTheSpec) {
  specs::Package p{.name = "p"};
  PackageBuildRequest r{
      .package = &p, .env = {{"CFLAGS", "-O2"}, {"HOME", "/evil"}}, .epoch = 42, .jobs = 3};
  EXPECT_EQ(
      step_environment(r),
      (std::vector<std::string>{"CFLAGS=-O2", "DESTDIR=/build/out", "HOME=/build/home", "JOBS=3",
                                "LANG=C.UTF-8", "LC_ALL=C.UTF-8",
                                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                "SOURCE_DATE_EPOCH=42", "TMPDIR=/tmp", "TZ=UTC"}));
}

TEST(RealSandbox, BuildsAPackageInNamespaces) {
  if (std::string why = testing::sandbox_unavailable(); !why.empty()) GTEST_SKIP() << why;
  TempDir t = testing::make_temp_dir("strata-build-test-");
  auto store = OutputStore::open(t.path() + "/cache");
  ASSERT_TRUE(store.ok());
  specs::Package p = package(
      "hello",
      {"test \"$(hostname)\" = strata && test \"$PWD\" = /build/src && test \"$(id -u)\" = 0",
       "mkdir -p $DESTDIR/usr/bin && printf '#!/bin/sh\\necho hi\\n' > $DESTDIR/usr/bin/hi",
       "chmod 755 $DESTDIR/usr/bin/hi && umask > $DESTDIR/usr/umask"});
  PackageBuildRequest r{.package = &p, .epoch = 1, .log_dir = t.path() + "/logs"};
  sandbox::NamespaceRunner runner;
  auto work = build_package(r, *store, runner, {}, nullptr);
  ASSERT_TRUE(work.ok()) << work.error().to_string();
  EXPECT_EQ(*read_file(work->path() + "/out/usr/umask"), "0022\n");

  // A dependent sees the output at its installed path, over the host's /usr, read-only.
  PackageOutput dep{.name = "hello", .dir = work->path() + "/out"};
  specs::Package app =
      package("app", {"test \"$(/usr/bin/hi)\" = hi && test -x /bin/sh && test -f /usr/bin/env",
                      "if touch /usr/bin/new 2>/dev/null; then exit 1; fi",
                      "mkdir -p $DESTDIR/usr/bin && cp /usr/bin/hi $DESTDIR/usr/bin/hi2"});
  PackageBuildRequest r2{
      .package = &app, .epoch = 1, .dependencies = {dep}, .log_dir = t.path() + "/logs-app"};
  auto app_work = build_package(r2, *store, runner, {}, nullptr);
  ASSERT_TRUE(app_work.ok()) << app_work.error().to_string();
  EXPECT_EQ(*read_file(app_work->path() + "/out/usr/bin/hi2"), "#!/bin/sh\necho hi\n");
  struct stat st;
  ASSERT_EQ(::stat((work->path() + "/out/usr/bin/hi").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
}

}  // namespace
}  // namespace strata::builder::build
