#include <gtest/gtest.h>
#include <sys/stat.h>

#include "builder/base/digest.h"
#include "builder/base/fs.h"
#include "builder/base/json.h"

namespace strata {
namespace {

Result<int> half(int x) {
  if (x % 2) return Error(ErrorCode::kSpec, "odd");
  return x / 2;
}

Result<int> quarter(int x) {
  STRATA_TRY_ASSIGN(int h, half(x));
  STRATA_TRY_ASSIGN(int q, half(h));
  return q;
}

TEST(Result, TryAssignPropagatesTheFirstError) {
  EXPECT_EQ(*quarter(8), 2);
  auto r = quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "odd");
}

TEST(Error, SpecErrorPrintsFileLineColumn) {
  Error e = Error::spec({"a.yaml", 3, 7}, "unknown key 'nmae'");
  EXPECT_EQ(e.to_string(), "a.yaml:3:7: error: unknown key 'nmae'");
  EXPECT_EQ(exit_code_for(e.code()), 2);
}

TEST(Error, LocatedErrorKeepsItsCode) {
  Error e = Error(ErrorCode::kDigestMismatch, "digest mismatch").at({"s.yaml", 4, 5});
  EXPECT_EQ(e.to_string(), "s.yaml:4:5: error: digest mismatch");
  EXPECT_EQ(e.code(), ErrorCode::kDigestMismatch);
  EXPECT_EQ(exit_code_for(e.code()), 1);
}

TEST(Error, ContextIsPrefixed) {
  Error e = Error::sys("open /x", ENOENT);
  e.with_context("reading spec");
  EXPECT_EQ(e.to_string(), "reading spec: open /x: No such file or directory");
}

TEST(Digest, KnownVector) {
  EXPECT_EQ(sha256_of("").hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_of("{}").str(),
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
}

TEST(Digest, ParseRejectsUppercaseAndShortHex) {
  EXPECT_TRUE(Digest::parse("sha256:" + std::string(64, 'a')).ok());
  EXPECT_FALSE(Digest::parse("sha256:" + std::string(64, 'A')).ok());
  EXPECT_FALSE(Digest::parse("sha256:abc").ok());
  EXPECT_FALSE(Digest::parse(std::string(64, 'a')).ok());
  EXPECT_TRUE(Digest::parse(std::string(64, 'a'), /*allow_bare=*/true).ok());
}

TEST(Json, CanonicalSortsKeysAndIsCompact) {
  Json j = {{"b", 1}, {"a", {{"z", "é/"}, {"y", Json::array({1, 2})}}}};
  EXPECT_EQ(*canonical_json(j), R"({"a":{"y":[1,2],"z":"é/"},"b":1})");
}

TEST(Json, CanonicalRejectsFloats) { EXPECT_FALSE(canonical_json(Json{{"x", 1.5}}).ok()); }

TEST(Json, MemberIsAReferenceOrNull) {
  Json doc = {{"a", {{"b", Json::array({1, 2})}}}};
  EXPECT_EQ(&member(doc, "a"), &doc["a"]) << "no copy";
  EXPECT_EQ(member(member(doc, "a"), "b").size(), 2u);
  EXPECT_TRUE(member(doc, "missing").is_null());
  EXPECT_TRUE(member(Json::array({1}), "a").is_null());
  EXPECT_TRUE(member(member(doc, "missing"), "deeper").is_null());
}

TEST(Fs, PublishDirReplacesAnExistingTree) {
  auto tmp = TempDir::create("/tmp", "strata-base-test-");
  ASSERT_TRUE(tmp.ok());
  std::string final_dir = tmp->path() + "/final";
  for (const char* content : {"one", "two"}) {
    std::string staged = tmp->path() + "/staged";
    ASSERT_TRUE(make_dirs(staged).ok());
    ASSERT_TRUE(write_file(staged + "/f", content).ok());
    ASSERT_TRUE(publish_dir(staged, final_dir).ok());
    EXPECT_EQ(*read_file(final_dir + "/f"), content);
    struct stat st;
    EXPECT_NE(::stat(staged.c_str(), &st), 0);
  }
}

TEST(Fs, TempDirIsRemovedOnDestruction) {
  std::string path;
  {
    auto tmp = TempDir::create("/tmp", "strata-base-test-");
    ASSERT_TRUE(tmp.ok());
    path = tmp->path();
    ASSERT_TRUE(write_file(path + "/x", "x").ok());
  }
  struct stat st;
  EXPECT_NE(::stat(path.c_str(), &st), 0);
}

}  // namespace
}  // namespace strata
