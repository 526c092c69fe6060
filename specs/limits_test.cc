// Spec bombs (issue 11 part 9): every input is refused or parsed in time and memory linear in
// its size, with a located error, before any section is read.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>

#include "builder/base/fs.h"
#include "specs/parse.h"
#include "tests/support/spec_report.h"
#include "tests/support/test_util.h"

namespace strata::specs {
namespace {

using testing::kHead;
using testing::report;

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

std::string load_error(const std::string& path) {
  Result<Spec> spec = load_spec(path);
  return spec.ok() ? "ok" : spec.error().message();
}

TEST(SpecLimits, ADeviceOrAFifoIsRefusedWithoutReading) {
  EXPECT_EQ(load_error("/dev/zero"), "/dev/zero: error: cannot read spec: not a regular file");
  TempDir dir = testing::make_temp_dir("strata-limits-");
  std::string fifo = dir.path() + "/spec.yaml";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // Would block forever in a plain read: nobody writes to it.
  EXPECT_EQ(load_error(fifo), fifo + ": error: cannot read spec: not a regular file");
}

TEST(SpecLimits, ATooLargeFileIsRefusedBeforeParsing) {
  TempDir dir = testing::make_temp_dir("strata-limits-");
  std::string path = dir.path() + "/spec.yaml";
  ASSERT_TRUE(write_file(path, std::string(kHead) + "# " + std::string(kMaxSpecBytes, 'x')).ok());
  EXPECT_EQ(load_error(path),
            fmt::format("{}: error: cannot read spec: it is {} bytes; a spec may have at most "
                        "4 MiB",
                        path, kMaxSpecBytes + kHead.size() + 2));
  EXPECT_EQ(first_line(report(std::string(kMaxSpecBytes + 1, ' '))),
            "spec.yaml:1:1: error: the spec is 4194305 bytes; a spec may have at most 4 MiB");
}

TEST(SpecLimits, AHugeValueIsLocatedAndNotEchoed) {
  std::string yaml = std::string(kHead) + "version: \"" + std::string(kMaxScalarBytes + 1, 'v') +
                     "\"\nimage: {}\n";
  auto start = std::chrono::steady_clock::now();
  std::string message = report(yaml);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_EQ(first_line(message),
            "spec.yaml:3:10: error: a value of 1048577 bytes; a value may have at most 1 MiB");
  EXPECT_LT(message.size(), 1024u);
}

TEST(SpecLimits, LongLinesAndMessagesAreQuotedAsAWindow) {
  // A bad value in a long (but allowed) line: the message quotes it clipped, the source line
  // is shown around the caret.
  std::string yaml =
      std::string(kHead) +
      "sources: [{name: s, url: \"https://example.org/s.tgz\", sha256: " + std::string(5000, 'z') +
      "}]\nimage: {}\n";
  std::string message = report(yaml);
  EXPECT_LT(message.size(), 2000u) << message.size();
  EXPECT_NE(first_line(message).find("… (5040 bytes in all)"), std::string::npos)
      << first_line(message);
  EXPECT_NE(message.find("…\n"), std::string::npos);
  // Past the window on the left too.
  std::string wide = std::string(kHead) +
                     "sources: [{name: s, url: \"https://example.org/s.tgz\", " + "strip: 1, " +
                     std::string(500, ' ') + "sha256: " + std::string(500, 'z') + "}]\nimage: {}\n";
  EXPECT_NE(report(wide).find("\n…"), std::string::npos);
}

TEST(SpecLimits, InvalidUtf8IsLocatedAtTheByte) {
  EXPECT_EQ(report(std::string(kHead) + "version: \"1.\xff\"\nimage: {}\n"),
            "spec.yaml:3:13: error: invalid UTF-8 (byte \\xff): a spec is UTF-8 text\n"
            "version: \"1.\xff\"\n"
            "            ^");
  // A surrogate (CESU-8) and an overlong '/' are not UTF-8 either.
  EXPECT_EQ(first_line(report(std::string(kHead) + "# \xed\xa0\x80\n")),
            "spec.yaml:3:3: error: invalid UTF-8 (byte \\xed): a spec is UTF-8 text");
  EXPECT_EQ(first_line(report(std::string(kHead) + "name: \xc0\xaf\n")),
            "spec.yaml:3:7: error: invalid UTF-8 (byte \\xc0): a spec is UTF-8 text");
}

TEST(SpecLimits, AliasExpansionIsBounded) {
  // A billion laughs: ten levels of ten aliases each.
  std::string yaml = std::string(kHead) + "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 9; ++i) {
    yaml += fmt::format("a{}: &a{} [", i, i);
    for (int j = 0; j < 10; ++j) yaml += fmt::format("{}*a{}", j ? ", " : "", i - 1);
    yaml += "]\n";
  }
  auto start = std::chrono::steady_clock::now();
  std::string message = report(yaml);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_NE(first_line(message).find("the spec holds more than 100000 values (YAML aliases"),
            std::string::npos)
      << first_line(message);
}

TEST(SpecLimits, NestingDepthIsBounded) {
  std::string deep = std::string(kHead) + "image: {annotations: " + std::string(100, '[') +
                     std::string(100, ']') + "}\n";
  EXPECT_NE(first_line(report(deep)).find("nested more than 64 levels deep"), std::string::npos)
      << first_line(report(deep));
  // Far deeper than that: yaml-cpp's own depth guard answers, still no crash.
  std::string deeper = std::string(kHead) + "x: " + std::string(100000, '[') + "\n";
  EXPECT_NE(report(deeper), "ok");
}

TEST(SpecLimits, LayersAreBounded) {
  std::string yaml = std::string(kHead) + "image:\n  layers:\n";
  for (size_t i = 0; i < 5000; ++i) yaml += "    - files: [{src: f, dest: /f}]\n";
  auto start = std::chrono::steady_clock::now();
  Result<Spec> spec = parse_spec(yaml, "spec.yaml", "/nonexistent");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  ASSERT_FALSE(spec.ok());
  std::string message = spec.error().message();
  EXPECT_NE(message.find("spec.yaml:132:7: error: an image may have at most 127 layers"),
            std::string::npos)
      << message.substr(0, 2000);
}

}  // namespace
}  // namespace strata::specs
