#include "builder/check/repro_check.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <set>

#include "builder/base/fs.h"
#include "builder/check/inputs.h"
#include "builder/check/varied_copy.h"
#include "builder/pipeline.h"
#include "tests/support/spec_fixture.h"
#include "tests/support/test_util.h"

namespace strata::builder {
namespace {

specs::Spec spec_in(const std::string& dir) {
  specs::Spec spec;
  spec.file = "rel/strata.yaml";
  spec.dir = dir;
  spec.sources.push_back({.name = "a", .path = "vendor/a.tar.gz"});
  spec.sources.push_back({.name = "b", .url = "https://example.org/b.tgz"});
  spec.sources.push_back({.name = "c", .path = "/opt/abs/c.tar"});
  spec.sources.push_back({.name = "d", .path = "../shared/d/"});
  spec.environment.image = specs::ImageRef{.path = "./toolchain"};
  spec.image.base = specs::ImageRef{.path = "base.tar"};
  specs::LayerSpec layer;
  layer.files.push_back({.src = "site", .dest = "/srv"});
  layer.files.push_back({.src = "./files/../files/motd", .dest = "/etc/motd"});
  spec.image.layers.push_back(layer);
  return spec;
}

TEST(ReproCheckInputs, ListsEveryRelativeLocalInputNormalizedAndSorted) {
  EXPECT_EQ(local_inputs(spec_in("/w/proj/app")),
            (std::vector<std::string>{"/w/proj/app/base.tar", "/w/proj/app/files/motd",
                                      "/w/proj/app/site", "/w/proj/app/strata.yaml",
                                      "/w/proj/app/toolchain", "/w/proj/app/vendor/a.tar.gz",
                                      "/w/proj/shared/d"}));
}

TEST(ReproCheckInputs, CopyRootIsTheCommonParentOfTheInputs) {
  auto root = copy_root(local_inputs(spec_in("/w/proj/app")));
  ASSERT_TRUE(root.ok()) << root.error().to_string();
  EXPECT_EQ(*root, "/w/proj");

  root = copy_root({"/w/app/strata.yaml", "/w/app/site", "/w/app/files/motd"});
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(*root, "/w/app");
  root = copy_root({"/w/app/strata.yaml"});
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(*root, "/w/app");
}

TEST(ReproCheckInputs, InputsWithNoCommonDirectoryBelowRootAreAUsageError) {
  auto root = copy_root({"/etc/x", "/w/app/strata.yaml"});
  ASSERT_FALSE(root.ok());
  EXPECT_EQ(root.error().code(), ErrorCode::kUsage);
  EXPECT_EQ(root.error().message(),
            "--check: the spec's local inputs (/etc/x and /w/app/strata.yaml) have no common "
            "directory below /; --check copies that directory");
}

class ReproCheckCopy : public ::testing::Test {
 protected:
  void SetUp() override {
    src_ = tmp_.path() + "/src";
    for (const char* d : {"/app/site/css", "/app/out/demo", "/unrelated"}) {
      ASSERT_TRUE(make_dirs(src_ + d).ok());
    }
    ASSERT_TRUE(write_file(src_ + "/app/strata.yaml", "name: demo\n").ok());
    ASSERT_TRUE(write_file(src_ + "/app/site/index.html", "<p>hi</p>\n").ok());
    ASSERT_TRUE(write_file(src_ + "/app/site/css/a.css", "p{}\n").ok());
    ASSERT_TRUE(write_file(src_ + "/app/site/run.sh", "#!/bin/sh\n", 0755).ok());
    ASSERT_TRUE(write_file(src_ + "/app/out/demo/index.json", "{}").ok());
    ASSERT_TRUE(write_file(src_ + "/unrelated/big", "not an input").ok());
    ASSERT_EQ(::symlink("index.html", (src_ + "/app/site/latest").c_str()), 0);
  }

  static struct stat lstat_of(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
    return st;
  }

  TempDir tmp_ = testing::make_temp_dir("strata-repro-check-test-");
  std::string src_;
};

TEST_F(ReproCheckCopy, CopiesOnlyTheInputsInReverseOrderWithMaskedModes) {
  VariedCopyOptions o{.only = {"app/strata.yaml", "app/site"},
                      .skip = {src_ + "/app/site/css"},
                      .umask = 077,
                      .now_s = 1700000000,
                      .seed = 42};
  std::string to = tmp_.path() + "/copy";
  auto created = copy_tree_varied(src_, to, o);
  ASSERT_TRUE(created.ok()) << created.error().to_string();
  EXPECT_EQ(*created,
            (std::vector<std::string>{"app/strata.yaml", "app/site/run.sh", "app/site/latest",
                                      "app/site/index.html", "app/site", "app"}));
  EXPECT_EQ(*read_file(to + "/app/site/index.html"), "<p>hi</p>\n");
  EXPECT_EQ(lstat_of(to + "/app/site/index.html").st_mode & 07777, 0600u);
  EXPECT_EQ(lstat_of(to + "/app/site/run.sh").st_mode & 07777, 0700u);
  EXPECT_EQ(lstat_of(to + "/app/site").st_mode & 07777, 0700u);
  char target[64] = {};
  ASSERT_EQ(::readlink((to + "/app/site/latest").c_str(), target, sizeof target - 1), 10);
  EXPECT_STREQ(target, "index.html");
  for (const char* absent : {"/app/site/css", "/app/out", "/unrelated"}) {
    EXPECT_NE(::access((to + absent).c_str(), F_OK), 0) << absent;
  }
}

TEST_F(ReproCheckCopy, AnInputThatIsASymlinkIsCopiedAsItsTarget) {
  ASSERT_EQ(::symlink("../unrelated", (src_ + "/app/linked").c_str()), 0);
  ASSERT_EQ(::symlink("../unrelated/big", (src_ + "/app/linked-file").c_str()), 0);
  std::string to = tmp_.path() + "/copy";
  auto created = copy_tree_varied(src_, to, {.only = {"app/linked", "app/linked-file"}});
  ASSERT_TRUE(created.ok()) << created.error().to_string();
  EXPECT_TRUE(S_ISDIR(lstat_of(to + "/app/linked").st_mode));
  EXPECT_EQ(*read_file(to + "/app/linked/big"), "not an input");
  EXPECT_EQ(*read_file(to + "/app/linked-file"), "not an input");
  EXPECT_NE(::access((to + "/unrelated").c_str(), F_OK), 0);
}

TEST_F(ReproCheckCopy, EveryEntryGetsADifferentMtimeBeforeNow) {
  VariedCopyOptions o{.skip = {src_ + "/app/out"}, .now_s = 1700000000, .seed = 7};
  std::string to = tmp_.path() + "/copy";
  auto created = copy_tree_varied(src_, to, o);
  ASSERT_TRUE(created.ok()) << created.error().to_string();
  EXPECT_TRUE(std::is_sorted(created->rbegin(), created->rend()));
  EXPECT_EQ(std::count(created->begin(), created->end(), "unrelated/big"), 1);
  std::set<int64_t> mtimes;
  for (const std::string& rel : *created) {
    struct stat st = lstat_of(to + "/" + rel);
    EXPECT_LT(st.st_mtim.tv_sec, 1700000000) << rel;
    EXPECT_GT(st.st_mtim.tv_sec, 1700000000 - 3 * 366 * 86400) << rel;
    mtimes.insert(st.st_mtim.tv_sec);
  }
  EXPECT_EQ(mtimes.size(), created->size());
}

TEST_F(ReproCheckCopy, TheCopyMustNotExistYet) {
  ASSERT_TRUE(make_dirs(tmp_.path() + "/copy").ok());
  auto created = copy_tree_varied(src_, tmp_.path() + "/copy", {});
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.error().to_string(), "mkdir " + tmp_.path() + "/copy: File exists");
}

HostConditions host() {
  return HostConditions{
      .env = {{"PATH", "/usr/bin:/bin"}, {"LANG", "C.UTF-8"}, {"HOME", "/root"}, {"X", "1"}},
      .umask = 022,
      .jobs = 2,
      .spec_epoch = 1700000000,
      .locales = {"fr_FR.UTF-8", "C.UTF-8", "C"},
      .time_zones = {"Pacific/Chatham"}};
}

TEST(ReproCheckConditions, ChangesWhatBuild1UsedAndKeepsTheRest) {
  VariedConditions v = vary_conditions(host(), "/tmp/strata-check-x", 1);
  EXPECT_EQ(v.env.at("X"), "1");
  EXPECT_EQ(v.env.at("TZ"), "Pacific/Chatham");
  EXPECT_EQ(v.env.at("LANG"), "fr_FR.UTF-8");
  EXPECT_EQ(v.env.at("LC_ALL"), "fr_FR.UTF-8");
  EXPECT_EQ(v.env.at("HOME"), "/tmp/strata-check-x/home");
  EXPECT_EQ(v.env.at("TMPDIR"), "/tmp/strata-check-x/tmp");
  EXPECT_EQ(v.env.at("PATH"), "/usr/bin:/bin:/tmp/strata-check-x/no-such-bin");
  EXPECT_NE(v.env.at("SOURCE_DATE_EPOCH"), "1700000000");
  EXPECT_EQ(v.env.at("STRATA_CHECK_NOISE").size(), 16u);
  EXPECT_EQ(v.umask, 077u);
  EXPECT_EQ(v.jobs, 1);
  std::vector<std::string> names;
  for (const Variation& var : v.variations) names.push_back(var.name);
  EXPECT_EQ(names, (std::vector<std::string>{"TZ", "LANG", "LC_ALL", "HOME", "TMPDIR", "PATH",
                                             "SOURCE_DATE_EPOCH", "STRATA_CHECK_NOISE", "umask",
                                             "--jobs"}));
  EXPECT_EQ(v.variations[0].build1, "(unset)");
  EXPECT_EQ(v.variations.back().build1, "2");
}

TEST(ReproCheckConditions, PicksAnotherValueWhenBuild1AlreadyUsedTheFirstChoice) {
  HostConditions h = host();
  h.env["TZ"] = "Pacific/Chatham";
  h.env["LC_ALL"] = "fr_FR.UTF-8";
  h.umask = 077;
  h.jobs = 1;
  h.time_zones = {"Pacific/Chatham"};
  VariedConditions v = vary_conditions(h, "/w", 1);
  EXPECT_EQ(v.env.at("TZ"), "<+1245>-12:45");  // the POSIX form needs no zoneinfo
  EXPECT_EQ(v.env.at("LC_ALL"), "C.UTF-8");
  EXPECT_EQ(v.umask, 002u);
  EXPECT_EQ(v.jobs, 2);
  h.locales.clear();
  h.env["LC_ALL"] = "C";
  EXPECT_EQ(vary_conditions(h, "/w", 1).env.at("LC_ALL"), "C.UTF-8");
}

// A launcher that "builds" by writing a layout itself, so the orchestration is tested
// without a second strata process.
class FakeLauncher : public ProcessLauncher {
 public:
  explicit FakeLauncher(std::function<int(const ProcessSpec&)> fn) : fn_(std::move(fn)) {}
  Result<int> run(const ProcessSpec& spec) override {
    specs_.push_back(spec);
    return fn_(spec);
  }
  std::vector<ProcessSpec> specs_;

 private:
  std::function<int(const ProcessSpec&)> fn_;
};

class ReproCheckRun : public SpecFixture {
 protected:
  void SetUp() override {
    SpecFixture::SetUp();
    plan_.spec.file = plan_.spec.dir + "/strata.yaml";
    ASSERT_TRUE(write_file(plan_.spec.file, "name: demo\n").ok());
    auto first = build_image(plan_, {.output_root = tmp_.path() + "/out1"});
    ASSERT_TRUE(first.ok()) << first.error().to_string();
    ASSERT_TRUE(make_dirs(tmp_.path() + "/tmp").ok());
    options_ = {.temp_parent = tmp_.path() + "/tmp",
                .cache_dir = tmp_.path() + "/cache",
                .layout_dir = first->layout_dir,
                .build1_outputs = {tmp_.path() + "/out1"},
                .host = host(),
                .now_s = 1700000000,
                .seed = 3};
    ASSERT_TRUE(make_dirs(options_.cache_dir + "/sources").ok());
  }
  // Builds `plan` as build 2 would, into the output directory its argv names.
  static int build_as(const specs::Plan& plan, const ProcessSpec& p) {
    auto r = build_image(plan, {.output_root = p.cwd + "/../out"});
    return r.ok() ? 0 : 1;
  }
  bool temp_parent_is_empty() const {
    std::error_code ec;
    return std::filesystem::is_empty(options_.temp_parent, ec);
  }

  CheckOptions options_;
};

TEST_F(ReproCheckRun, SameImageIsReproducibleAndBuild2RunsVaried) {
  FakeLauncher launcher([&](const ProcessSpec& p) {
    // The copy of the inputs exists while build 2 runs; the cache shares sources/.
    EXPECT_EQ(*read_file(p.cwd + "/../in/spec/files/motd"), "hello\n");
    EXPECT_EQ(*read_file(p.cwd + "/" + p.argv[2]), "name: demo\n");
    struct stat st;
    EXPECT_EQ(::lstat((p.argv[6] + "/sources").c_str(), &st), 0);
    EXPECT_TRUE(S_ISLNK(st.st_mode));
    return build_as(plan_, p);
  });
  options_.launcher = &launcher;
  options_.output_args = {"--compression", "zstd"};
  auto r = check_reproducible(plan_.spec, options_);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_TRUE(r->reproducible);
  EXPECT_EQ(r->digest1, r->digest2);
  EXPECT_TRUE(r->diff_text.empty());
  ASSERT_EQ(launcher.specs_.size(), 1u);
  const ProcessSpec& p = launcher.specs_[0];
  EXPECT_EQ(p.argv, (std::vector<std::string>{"/proc/self/exe", "build", "../in/spec/strata.yaml",
                                              "-o", "../out", "--cache", p.argv[6], "--offline",
                                              "--jobs", "1", "--compression", "zstd"}));
  EXPECT_EQ(p.umask, 077u);
  EXPECT_EQ(p.env.at("TZ"), "Pacific/Chatham");
  Json j = check_to_json(*r);
  EXPECT_EQ(j["reproducible"], true);
  EXPECT_FALSE(j.contains("diff"));
  EXPECT_TRUE(temp_parent_is_empty());
}

TEST_F(ReproCheckRun, ADifferentFileIsReportedByName) {
  FakeLauncher launcher([&](const ProcessSpec& p) {
    EXPECT_TRUE(write_file(p.cwd + "/../in/spec/files/motd", "changed\n").ok());
    specs::Plan plan2 = plan_;
    plan2.spec.dir = p.cwd + "/../in/spec";
    return build_as(plan2, p);
  });
  options_.launcher = &launcher;
  auto r = check_reproducible(plan_.spec, options_);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_FALSE(r->reproducible);
  EXPECT_NE(r->digest1, r->digest2);
  EXPECT_NE(r->diff_text.find("etc/motd"), std::string::npos) << r->diff_text;
  EXPECT_FALSE(check_to_json(*r)["diff"].is_null());
  EXPECT_TRUE(temp_parent_is_empty());
}

TEST_F(ReproCheckRun, AFailedBuild2ShowsTheTailOfItsLog) {
  FakeLauncher launcher([](const ProcessSpec& p) {
    EXPECT_TRUE(write_file(p.stderr_path,
                           "line 1\nstrata: error: package 'lib' failed at step 2/3: make\n"
                           "  exit status 2\n")
                    .ok());
    // The package logs build 2 wrote into its own cache.
    EXPECT_TRUE(make_dirs(p.cwd + "/../cache/logs/demo").ok());
    EXPECT_TRUE(
        write_file(p.cwd + "/../cache/logs/demo/lib.log", "make: *** [all] Error 2\n").ok());
    return 1;
  });
  options_.launcher = &launcher;
  auto r = check_reproducible(plan_.spec, options_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kBuild);
  const std::string& m = r.error().message();
  EXPECT_TRUE(
      m.starts_with("--check: build 2 (the same spec under varied conditions) failed "
                    "with exit status 1: package 'lib' failed at step 2/3: make; build 1 "
                    "succeeded, so the build depends on one of the conditions --check "
                    "varied:\n  working directory: "))
      << m;
  for (const char* name : {"\n  umask: ", "\n  --jobs: ", "\n  TZ: ", "\n  spec path: "}) {
    EXPECT_NE(m.find(name), std::string::npos) << name << " in " << m;
  }
  std::string kept = options_.cache_dir + "/logs/demo.check-build2";
  EXPECT_NE(m.find("\nBuild 2's logs are kept in " + kept + " (build2.log, packages/)\n"),
            std::string::npos)
      << m;
  EXPECT_TRUE(
      m.ends_with("Build 2's log ends:\nline 1\nstrata: error: package 'lib' failed at "
                  "step 2/3: make\n  exit status 2"))
      << m;
  EXPECT_EQ(*read_file(kept + "/packages/demo/lib.log"), "make: *** [all] Error 2\n");
  EXPECT_NE(read_file(kept + "/build2.log")->find("exit status 2"), std::string::npos);
  EXPECT_TRUE(temp_parent_is_empty());
}

TEST(ReproCheckLauncher, RunsWithTheGivenEnvironmentDirectoryAndUmask) {
  TempDir t = testing::make_temp_dir("strata-launcher-test-");
  ForkExecLauncher launcher;
  ProcessSpec p{.argv = {"/bin/sh", "-c", "echo \"$A $(pwd) $(umask)\"; echo err >&2; exit 3"},
                .env = {{"A", "x"}},
                .cwd = t.path(),
                .umask = 027,
                .stdout_path = t.path() + "/out",
                .stderr_path = t.path() + "/err"};
  auto status = launcher.run(p);
  ASSERT_TRUE(status.ok()) << status.error().to_string();
  EXPECT_EQ(*status, 3);
  EXPECT_EQ(*read_file(t.path() + "/out"), "x " + t.path() + " 0027\n");
  EXPECT_EQ(*read_file(t.path() + "/err"), "err\n");
  p.argv = {"/no/such/program"};
  status = launcher.run(p);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().to_string(), "execve /no/such/program: No such file or directory");
}

}  // namespace
}  // namespace strata::builder
