// Local inputs resolve beneath the spec's context (issue 11 part 1): a symlink beside the
// spec that leads out of its directory is a located error at validate time, never a host
// file in the image.
#include "specs/inputs.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "builder/base/fs.h"
#include "specs/parse.h"
#include "tests/support/test_util.h"

namespace strata::specs {
namespace {

class LocalInputs : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(make_dirs(spec_dir() + "/files").ok());
    ASSERT_TRUE(make_dirs(outside()).ok());
    ASSERT_TRUE(write_file(spec_dir() + "/files/motd", "hello\n").ok());
    ASSERT_TRUE(write_file(outside() + "/shadow", "root:secret\n").ok());
  }
  std::string top() const { return std::filesystem::path(tmp_.path()).lexically_normal(); }
  std::string spec_dir() const { return top() + "/repo"; }
  std::string outside() const { return top() + "/etc"; }
  void link(const std::string& target, const std::string& name) const {
    ASSERT_EQ(::symlink(target.c_str(), (spec_dir() + "/" + name).c_str()), 0) << name;
  }
  std::string real(const std::string& path) const {
    return std::filesystem::canonical(path).string();
  }
  // The report for a spec with one layer of `files`, or "ok".
  std::string validate(const std::string& files, const std::string& context = "",
                       const std::string& sources = "") const {
    std::string yaml = "apiVersion: strata/v1\nname: t\n" + sources +
                       "image:\n  layers:\n    - files: [" + files + "]\n";
    EXPECT_TRUE(write_file(spec_dir() + "/strata.yaml", yaml).ok());
    Result<Spec> spec = load_spec(spec_dir() + "/strata.yaml", {.context = context});
    if (spec.ok()) return "ok";
    std::string message = spec.error().message();
    // Only the first line: the quoted source line and caret are the parser's, tested elsewhere.
    return message.substr(0, message.find('\n'));
  }
  std::string leads_out(const std::string& link, const std::string& target) const {
    return fmt::format(
        "'{}' is a symlink to '{}', which leads out of {} (local inputs stay "
        "inside the spec's directory; --context DIR widens it)",
        link, target, real(spec_dir()));
  }

  TempDir tmp_ = testing::make_temp_dir("strata-inputs-");
};

TEST_F(LocalInputs, AFileBehindADirectorySymlinkToOutsideIsRefused) {
  link(outside(), "etcdir");
  EXPECT_EQ(validate("{src: etcdir/shadow, dest: /x}"),
            spec_dir() +
                "/strata.yaml:5:21: error: src 'etcdir/shadow': " + leads_out("etcdir", outside()));
}

TEST_F(LocalInputs, ADirectorySymlinkToOutsideIsRefused) {
  link(outside(), "home");
  link("../etc", "up");
  EXPECT_EQ(validate("{src: home, dest: /root}"),
            spec_dir() + "/strata.yaml:5:21: error: src 'home': " + leads_out("home", outside()));
  EXPECT_EQ(validate("{src: up, dest: /root}"),
            spec_dir() + "/strata.yaml:5:21: error: src 'up': " + leads_out("up", "../etc"));
}

TEST_F(LocalInputs, AFileSymlinkToOutsideIsRefusedAbsoluteOrRelative) {
  link(outside() + "/shadow", "abs");
  link("../../etc/shadow", "files/rel");
  EXPECT_EQ(validate("{src: abs, dest: /x}"), spec_dir() + "/strata.yaml:5:21: error: src 'abs': " +
                                                  leads_out("abs", outside() + "/shadow"));
  EXPECT_EQ(validate("{src: files/rel, dest: /x}"),
            spec_dir() + "/strata.yaml:5:21: error: src 'files/rel': " +
                leads_out("files/rel", "../../etc/shadow"));
}

TEST_F(LocalInputs, APathSourceBehindASymlinkToOutsideIsRefused) {
  link(outside(), "vendor");
  std::string sources =
      "sources: [{name: s, path: vendor/shadow, sha256: " + std::string(64, 'a') + "}]\n";
  EXPECT_EQ(validate("{src: files, dest: /x}", "", sources),
            spec_dir() + "/strata.yaml:3:27: error: path 'vendor/shadow': " +
                leads_out("vendor", outside()));
}

TEST_F(LocalInputs, SymlinksThatStayInsideAreFollowed) {
  link("files", "www");
  link("motd", "files/greeting");
  EXPECT_EQ(validate("{src: www/greeting, dest: /etc/motd}, {src: www, dest: /srv}"), "ok");
  Result<std::string> host = resolve_local_input(spec_dir(), spec_dir(), "www/greeting");
  ASSERT_TRUE(host.ok()) << host.error().message();
  EXPECT_EQ(*host, spec_dir() + "/files/motd");
}

TEST_F(LocalInputs, ContextWidensTheRootExplicitly) {
  link(real(outside()), "etcdir");
  EXPECT_EQ(validate("{src: etcdir/shadow, dest: /x}, {src: ../etc/shadow, dest: /y}", top()),
            "ok");
  Result<std::string> host = resolve_local_input(top(), spec_dir(), "../etc/shadow");
  ASSERT_TRUE(host.ok()) << host.error().message();
  EXPECT_EQ(*host, outside() + "/shadow");
  // Still nothing above the context, whichever way it is written.
  link("../..", "above");
  std::string escape = validate("{src: above, dest: /x}", top());
  EXPECT_NE(escape.find("src 'above': 'repo/above' is a symlink to '../..', which leads out of " +
                        real(top()) + " (local inputs stay inside --context " + top() + ")"),
            std::string::npos)
      << escape;
}

TEST_F(LocalInputs, AContextThatDoesNotHoldTheSpecIsAUsageError) {
  Result<Spec> spec = load_spec(spec_dir() + "/strata.yaml", {.context = outside()});
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.error().code(), ErrorCode::kUsage);
  EXPECT_EQ(spec.error().message(),
            "--context " + outside() + " does not contain the spec's directory " + spec_dir());
}

}  // namespace
}  // namespace strata::specs
