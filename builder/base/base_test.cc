#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "builder/base/digest.h"
#include "builder/base/fs.h"
#include "builder/base/json.h"
#include "builder/base/time.h"

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

int context_evaluations = 0;

std::string count_context(std::string text) {
  ++context_evaluations;
  return text;
}

Result<int> eighth(int x) {
  STRATA_TRY_ASSIGN_CONTEXT(int q, quarter(x), count_context(fmt::format("quartering {}", x)));
  STRATA_TRY_CONTEXT(half(q), count_context("halving"));
  return q / 2;
}

TEST(Result, TryContextPrefixesTheErrorOnlyOnFailure) {
  context_evaluations = 0;
  EXPECT_EQ(*eighth(16), 2);
  EXPECT_EQ(context_evaluations, 0);
  Result<int> odd_quarter = eighth(6);
  ASSERT_FALSE(odd_quarter.ok());
  EXPECT_EQ(odd_quarter.error().message(), "quartering 6: odd");
  Result<int> odd_eighth = eighth(12);
  ASSERT_FALSE(odd_eighth.ok());
  EXPECT_EQ(odd_eighth.error().message(), "halving: odd");
  EXPECT_EQ(odd_eighth.error().code(), ErrorCode::kSpec);
  EXPECT_EQ(context_evaluations, 2);
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

TEST(PackedDigest, RoundTripsEveryByteAndKeepsNoDigestEmpty) {
  for (std::string_view text : {"", "a", "hello\n"}) {
    Digest d = sha256_of(text);
    PackedDigest packed = PackedDigest::of(d);
    EXPECT_FALSE(packed.empty());
    EXPECT_EQ(packed.unpack(), d);
    EXPECT_EQ(PackedDigest::of(packed.unpack()), packed);
  }
  auto all =
      Digest::parse("sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(PackedDigest::of(*all).bytes[1], 0x11);
  EXPECT_EQ(PackedDigest::of(*all).bytes[15], 0xff);
  EXPECT_EQ(PackedDigest::of(*all).unpack(), *all);
  EXPECT_TRUE(PackedDigest{}.empty());
  EXPECT_TRUE(PackedDigest::of(Digest{}).empty());
  EXPECT_EQ(PackedDigest{}.unpack(), Digest{});
}

TEST(Digest, ParseRejectsUppercaseAndShortHex) {
  EXPECT_TRUE(Digest::parse("sha256:" + std::string(64, 'a')).ok());
  auto message = [](const std::string& text) {
    Result<Digest> d = Digest::parse(text);
    return d.ok() ? std::string("(parsed)") : d.error().message();
  };
  EXPECT_EQ(
      message("sha256:" + std::string(64, 'A')),
      "invalid digest 'sha256:" + std::string(64, 'A') + "': expected 64 lowercase hex digits");
  EXPECT_EQ(message("sha256:abc"), "invalid digest 'sha256:abc': expected 64 lowercase hex digits");
  EXPECT_EQ(message(std::string(64, 'a')), "invalid digest '" + std::string(64, 'a') +
                                               "': expected sha256:<64 lowercase hex digits>");
  EXPECT_TRUE(Digest::parse(std::string(64, 'a'), /*allow_bare=*/true).ok());
}

TEST(Json, CanonicalSortsKeysAndIsCompact) {
  Json j = {{"b", 1}, {"a", {{"z", "é/"}, {"y", Json::array({1, 2})}}}};
  EXPECT_EQ(*canonical_json(j), R"({"a":{"y":[1,2],"z":"é/"},"b":1})");
}

TEST(Json, CanonicalRejectsFloats) {
  Result<std::string> text = canonical_json(Json{{"x", 1.5}});
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error().code(), ErrorCode::kInvalidInput);
  EXPECT_EQ(text.error().message(), "canonical JSON allows integers only");
}

// Members a serializer could write differently: quotes, backslashes, control characters,
// DEL, non-ASCII (kept as UTF-8), empty containers, nested arrays, and keys whose byte order
// differs from other orders ("Z" < "a" < "a\x01" < "ab" < "z" < "é").
Json tricky_object() {
  return {{"quote\"back\\slash", "tab\tnl\ncr\r\x01\x1f\x7f \"\\/"},
          {"\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x9a\x80 \xe2\x80\xa8"},
          {"Z", Json::array()},
          {"a", Json::object()},
          {"a\x01", true},
          {"ab", {{"", nullptr}, {"k", false}}},
          {"z", Json::array({Json::array({1, -2, Json::array()}), Json::object(), "s", 0})},
          {"n", int64_t{-9007199254740993}},
          {"", ""}};
}

std::string text_of(const std::function<void(CanonicalWriter&)>& write) {
  Result<std::string> text = canonical_text(write);
  EXPECT_TRUE(text.ok()) << text.error().message();
  return text.ok() ? *text : std::string();
}

// Writes the members of `tree` (an object): every other one through a writer, so small
// members and written ones interleave; "z" (an array) element by element.
void write_split(CanonicalWriter& out, const Json& tree) {
  Json members = Json::object();
  std::map<std::string, CanonicalWriter::ValueWriter> writers;
  bool as_writer = false;
  for (auto it = tree.begin(); it != tree.end(); ++it) {
    const Json& value = it.value();
    if (it.key() == "z") {
      writers[it.key()] = [&value](CanonicalWriter& w) {
        CanonicalArray array(w);
        for (const Json& element : value) array.push_back(element);
        array.close();
      };
    } else if (as_writer) {
      writers[it.key()] = [&value](CanonicalWriter& w) { w.value(value); };
    } else {
      members[it.key()] = value;
    }
    as_writer = !as_writer;
  }
  out.object(members, writers);
}

TEST(Json, WritersGiveTheCanonicalTextOfTheEquivalentTree) {
  const Json tricky = tricky_object();
  EXPECT_EQ(text_of([&](CanonicalWriter& out) { write_split(out, tricky); }),
            *canonical_json(tricky));
  EXPECT_EQ(text_of([&](CanonicalWriter& out) {
              CanonicalArray array(out);
              array.push_back(tricky);
              write_split(array.next(), tricky);
              array.push_back(Json::array());
              array.push_back("\x7f\xe2\x82\xac");
              array.close();
            }),
            *canonical_json(Json::array({tricky, tricky, Json::array(), "\x7f\xe2\x82\xac"})));
}

// A sink that records each piece it is handed, and fails from the `fail_at`th write on.
class PieceSink final : public TextSink {
 public:
  explicit PieceSink(int fail_at = -1) : fail_at_(fail_at) {}
  Result<void> write(std::string_view text) override {
    if (fail_at_ >= 0 && std::ssize(pieces) >= fail_at_) {
      return Error(ErrorCode::kIo, "write staged file: No space left on device");
    }
    pieces.emplace_back(text);
    return Ok{};
  }
  std::vector<std::string> pieces;

 private:
  int fail_at_;
};

// A document far past the 64 KiB buffer reaches the sink in bounded pieces, and those pieces
// join to the canonical text of the tree.
TEST(Json, LargeDocumentsStreamInBoundedPiecesToTheCanonicalText) {
  Json files = Json::array();
  for (int i = 0; i < 4000; ++i) {
    files.push_back({{"name", "/usr/share/doc/file-" + std::to_string(i) + "-\xc3\xa9\"\\"},
                     {"size", i},
                     {"tags", Json::array()}});
  }
  Json tree = {{"a", 1}, {"files", files}, {"z", Json::object()}};
  PieceSink sink;
  CanonicalWriter out(sink);
  out.object({{"a", 1}, {"z", Json::object()}}, {{"files", [&](CanonicalWriter& w) {
                                                    CanonicalArray array(w);
                                                    for (const Json& f : files) array.push_back(f);
                                                    array.close();
                                                  }}});
  ASSERT_TRUE(out.finish().ok());
  std::string joined;
  for (const std::string& piece : sink.pieces) {
    EXPECT_LT(piece.size(), 2 * 64 * 1024u);
    joined += piece;
  }
  EXPECT_GT(sink.pieces.size(), 3u);
  EXPECT_EQ(joined, *canonical_json(tree));
}

TEST(Json, WritersOfNothingGiveEmptyContainers) {
  EXPECT_EQ(text_of([](CanonicalWriter& out) { CanonicalArray(out).close(); }), "[]");
  EXPECT_EQ(text_of([](CanonicalWriter& out) { out.object(Json::object(), {}); }), "{}");
  EXPECT_EQ(
      text_of([](CanonicalWriter& out) {
        out.object(Json::object(), {{"a", [](CanonicalWriter& w) { CanonicalArray(w).close(); }}});
      }),
      R"({"a":[]})");
}

TEST(Json, WritersFailAsCanonicalJsonDoes) {
  Result<std::string> text = canonical_text([](CanonicalWriter& out) {
    CanonicalArray array(out);
    array.push_back(1);
    array.push_back(Json{{"x", 1.5}});
    array.push_back("bad\xff");  // ignored: the first error is kept
    array.close();
  });
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error().message(), "canonical JSON allows integers only");

  Result<std::string> object = canonical_text([](CanonicalWriter& out) {
    out.object(Json::object(), {{"key\xff", [](CanonicalWriter& w) { w.raw("1"); }}});
  });
  ASSERT_FALSE(object.ok());
  EXPECT_EQ(
      object.error().message(),
      "serializing JSON: [json.exception.type_error.316] invalid UTF-8 byte at index 3: 0xFF");
}

// A failed sink write stops the document: the error is returned, nothing more reaches the
// sink, and the writer says so, so long loops can stop early.
TEST(Json, AFailedSinkWriteIsKeptAndStopsTheDocument) {
  PieceSink sink(/*fail_at=*/2);
  CanonicalWriter out(sink);
  CanonicalArray array(out);
  for (int i = 0; i < 100000 && out.ok(); ++i) array.push_back(std::string(100, 'x'));
  EXPECT_FALSE(out.ok());
  array.close();
  Result<void> done = out.finish();
  ASSERT_FALSE(done.ok());
  EXPECT_EQ(done.error().message(), "write staged file: No space left on device");
  EXPECT_EQ(sink.pieces.size(), 2u);
}

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

TEST(Fs, CopyAndHashWritesWhatItHashes) {
  auto tmp = TempDir::create("/tmp", "strata-base-test-");
  ASSERT_TRUE(tmp.ok());
  // Larger than the copy buffer, and not a multiple of it.
  std::string content((3 << 20) + 17, 'x');
  for (size_t i = 0; i < content.size(); i += 4093) content[i] = static_cast<char>(i % 251);
  ASSERT_TRUE(write_file(tmp->path() + "/in", content).ok());
  auto in = open_fd(tmp->path() + "/in", O_RDONLY);
  auto out = open_fd(tmp->path() + "/out", O_WRONLY | O_CREAT | O_EXCL, 0644);
  ASSERT_TRUE(in.ok() && out.ok());
  auto copied = copy_and_hash(in->get(), "in", out->get(), "out");
  ASSERT_TRUE(copied.ok()) << copied.error().message();
  EXPECT_EQ(copied->size, static_cast<int64_t>(content.size()));
  EXPECT_EQ(copied->digest, sha256_of(content));
  EXPECT_EQ(*read_file(tmp->path() + "/out"), content);

  // A read error names the source.
  auto dir = open_fd(tmp->path(), O_RDONLY | O_DIRECTORY);
  ASSERT_TRUE(dir.ok());
  auto bad = copy_and_hash(dir->get(), "the-source", out->get(), "out");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("the-source"), std::string::npos) << bad.error().message();
}

TEST(Fs, IsWithinComparesWholeComponents) {
  EXPECT_TRUE(is_within("/a/b", "/a/b"));
  EXPECT_TRUE(is_within("/a/b/c", "/a/b"));
  EXPECT_FALSE(is_within("/a/bc", "/a/b"));
  EXPECT_FALSE(is_within("/a", "/a/b"));
  EXPECT_TRUE(is_within("/anything", "/"));
  EXPECT_FALSE(is_within("relative", "/"));
  EXPECT_FALSE(is_within("/a", ""));
  EXPECT_TRUE(is_within("/proc/self", "/proc"));
  EXPECT_FALSE(is_within("/process", "/proc"));
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
TEST(Time, Rfc3339RoundTripsAndRefusesWhatStrataDoesNotWrite) {
  EXPECT_EQ(parse_rfc3339_utc("2023-11-14T22:13:20Z"), 1700000000);
  EXPECT_EQ(parse_rfc3339_utc(rfc3339_utc(0)), 0);
  EXPECT_EQ(parse_rfc3339_utc("2023-11-14T22:13:20.123456Z"), 1700000000);
  EXPECT_EQ(parse_rfc3339_utc("2023-11-14T22:13:20+01:00"), std::nullopt);
  EXPECT_EQ(parse_rfc3339_utc("2023-02-30T00:00:00Z"), std::nullopt);
  EXPECT_EQ(parse_rfc3339_utc("2023-11-14 22:13:20Z"), std::nullopt);
  EXPECT_EQ(parse_rfc3339_utc(""), std::nullopt);
}

TEST(Time, Durations) {
  EXPECT_EQ(parse_duration_seconds("0s"), 0);
  EXPECT_EQ(parse_duration_seconds("90m"), 5400);
  EXPECT_EQ(parse_duration_seconds("30d"), 30 * 86400);
  EXPECT_EQ(parse_duration_seconds("2w"), 14 * 86400);
  EXPECT_EQ(parse_duration_seconds("d"), std::nullopt);
  EXPECT_EQ(parse_duration_seconds("-1d"), std::nullopt);
  EXPECT_EQ(parse_duration_seconds("1y"), std::nullopt);
}

}  // namespace strata
