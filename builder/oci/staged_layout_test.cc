#include "builder/oci/staged_layout.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "builder/base/beneath.h"
#include "builder/base/owner.h"
#include "tests/support/test_util.h"

namespace strata::builder::oci {
namespace {

using strata::testing::make_temp_dir;
using Strings = std::vector<std::string>;

Digest digest_of(std::string_view text) { return sha256_of(text); }

std::string index_for(const Digest& d) {
  return fmt::format(R"({{"manifests":[{{"digest":"{}"}}],"schemaVersion":2}})", d.str());
}

std::string gone_tag() {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  std::optional<uint64_t> start = process_start_ticks(pid);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return owner_tag({.pid = pid, .start_ticks = start.value_or(1)});
}

class StagedLayoutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    out_ = tmp_.path() + "/out";
    ASSERT_TRUE(make_dirs(out_ + "/demo").ok());
    ASSERT_TRUE(write_file(out_ + "/demo/index.json", index_for(old_)).ok());
    for (const char* f : {"demo.tar", "demo.provenance.json", "demo.cdx.json"}) {
      ASSERT_TRUE(write_file(out_ + "/" + f, "old").ok());
    }
  }
  StageOptions options() const {
    return {.companions = {"demo.tar", "demo.provenance.json", "demo.spdx.json", "demo.cdx.json"}};
  }
  Strings listing() const { return *list_dir(out_); }
  std::string read(const std::string& name) const {
    auto text = read_file(out_ + "/" + name);
    return text.ok() ? *text : "<missing>";
  }
  // A staging directory a killed build left with its journal written.
  std::string killed_staging(const Digest& layout_digest) {
    std::string staging = out_ + "/.demo.tmp-" + gone_tag() + "-abcdef";
    EXPECT_TRUE(make_dirs(staging + "/layout").ok());
    EXPECT_TRUE(write_file(staging + "/layout/index.json", index_for(layout_digest)).ok());
    EXPECT_TRUE(write_file(staging + "/demo.provenance.json", "new").ok());
    std::string journal = fmt::format(
        R"({{"files":["demo.provenance.json"],"manifest":"{}","name":"demo","remove":["demo.tar","demo.spdx.json","demo.cdx.json"]}})",
        new_.str());
    EXPECT_TRUE(write_file(staging + "/publish.json", journal).ok());
    return staging;
  }

  TempDir tmp_ = make_temp_dir("strata-staged-");
  std::string out_;
  Digest old_ = digest_of("old image"), new_ = digest_of("new image");
};

TEST_F(StagedLayoutTest, PublishesTheWholeSetAndRemovesCompanionsItDidNotStage) {
  {
    auto staged = StagedLayout::create(out_ + "/demo", options());
    ASSERT_TRUE(staged.ok()) << staged.error().to_string();
    EXPECT_EQ(staged->staging_dir().rfind(out_ + "/.demo.tmp-" + self_owner_tag() + "-", 0), 0u);
    ASSERT_TRUE(write_file(staged->dir() + "/index.json", index_for(new_)).ok());
    ASSERT_TRUE(write_file(staged->staged_path(out_ + "/demo.provenance.json"), "new").ok());
    EXPECT_EQ(read(".demo.lock"), "");  // held while staged
    ASSERT_TRUE(staged->publish(new_).ok());
  }
  EXPECT_EQ(listing(), (Strings{"demo", "demo.provenance.json"}));
  EXPECT_EQ(read("demo/index.json"), index_for(new_));
  EXPECT_EQ(read("demo.provenance.json"), "new");
}

TEST_F(StagedLayoutTest, AnUnpublishedStagingLeavesTheOldSetAndNothingElse) {
  {
    auto staged = StagedLayout::create(out_ + "/demo", options());
    ASSERT_TRUE(staged.ok());
    ASSERT_TRUE(write_file(staged->staged_path(out_ + "/demo.tar"), "new").ok());
  }
  EXPECT_EQ(listing(), (Strings{"demo", "demo.cdx.json", "demo.provenance.json", "demo.tar"}));
  EXPECT_EQ(read("demo.tar"), "old");
}

TEST_F(StagedLayoutTest, TheNextBuildFinishesAJournaledPublishAKilledBuildLeft) {
  killed_staging(new_);
  {
    auto staged = StagedLayout::create(out_ + "/demo", options());
    ASSERT_TRUE(staged.ok()) << staged.error().to_string();
    // Recovered before staging: the killed build's set, whole, and its directory gone.
    EXPECT_EQ(read("demo/index.json"), index_for(new_));
    EXPECT_EQ(read("demo.provenance.json"), "new");
    EXPECT_EQ(read("demo.tar"), "<missing>");
  }
  EXPECT_EQ(listing(), (Strings{"demo", "demo.provenance.json"}));
}

TEST_F(StagedLayoutTest, APublishCutAfterTheLayoutSwapIsNotUndone) {
  // Killed between the exchange and moving the old tree aside: out/demo is already the new
  // layout and the staging directory's layout/ holds the old one.
  ASSERT_TRUE(write_file(out_ + "/demo/index.json", index_for(new_)).ok());
  ASSERT_TRUE(::unlink((out_ + "/demo.provenance.json").c_str()) == 0);
  killed_staging(old_);
  {
    auto staged = StagedLayout::create(out_ + "/demo", options());
    ASSERT_TRUE(staged.ok()) << staged.error().to_string();
  }
  EXPECT_EQ(read("demo/index.json"), index_for(new_));
  EXPECT_EQ(read("demo.provenance.json"), "new");
  EXPECT_EQ(listing(), (Strings{"demo", "demo.provenance.json"}));
}

TEST_F(StagedLayoutTest, ALiveBuildsStagingIsLeftAlone) {
  std::string live = out_ + "/.demo.tmp-" + self_owner_tag() + "-zzzzzz";
  ASSERT_TRUE(make_dirs(live).ok());
  std::string gone = out_ + "/.demo.tmp-" + gone_tag() + "-yyyyyy";
  ASSERT_TRUE(make_dirs(gone + "/layout").ok());
  {
    auto staged = StagedLayout::create(out_ + "/demo", options());
    ASSERT_TRUE(staged.ok());
  }
  Strings names = listing();
  EXPECT_NE(std::find(names.begin(), names.end(), basename_of(live)), names.end());
  EXPECT_EQ(std::find(names.begin(), names.end(), basename_of(gone)), names.end());
}

}  // namespace
}  // namespace strata::builder::oci
