// The specs/ tests' helpers: a spec directory on disk for the file checks, and parsing an
// inline spec to its whole error report.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <ostream>
#include <string>
#include <string_view>

#include "builder/base/fs.h"
#include "specs/parse.h"
#include "tests/support/test_util.h"

namespace strata::specs::testing {

// A temporary spec directory holding files/motd, files/etc/ (a directory) and
// hello-2.12.tar.gz, removed when the test ends.
class SpecDir {
 public:
  SpecDir()
      : dir_(make_temp_dir("strata-specs-")),
        path_(std::filesystem::path(dir_.path()).lexically_normal().string()) {
    EXPECT_TRUE(make_dirs(dir_.path() + "/files/etc").ok());
    EXPECT_TRUE(write_file(dir_.path() + "/files/motd", "hello\n").ok());
    EXPECT_TRUE(write_file(dir_.path() + "/files/etc/hosts", "").ok());
    EXPECT_TRUE(write_file(dir_.path() + "/hello-2.12.tar.gz", "tar").ok());
  }
  // Normalized, as Spec::dir is ($TMPDIR may hold "//" or "..").
  const std::string& path() const { return path_; }

 private:
  TempDir dir_;
  std::string path_;
};

}  // namespace strata::specs::testing

namespace strata::specs {
// Readable gtest failure output for diagnostics.
inline void PrintTo(const Diagnostic& d, std::ostream* os) {
  *os << d.loc.file << ":" << d.loc.line << ":" << d.loc.column << ": " << d.message;
}
}  // namespace strata::specs

namespace strata::specs::testing {

// "ok", or the whole report parse_spec returns for `yaml` named "spec.yaml".
inline std::string report(std::string_view yaml, const std::string& dir = "/nonexistent") {
  Result<Spec> spec = parse_spec(yaml, "spec.yaml", dir);
  if (spec.ok()) return "ok";
  EXPECT_EQ(spec.error().code(), ErrorCode::kSpec);
  EXPECT_FALSE(spec.error().loc().has_value());
  return spec.error().message();
}

// The first two lines of every inline spec below; errors in tests start on line 3.
inline constexpr std::string_view kHead = "apiVersion: strata/v1\nname: t\n";

}  // namespace strata::specs::testing
