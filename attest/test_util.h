// Shared fixtures for attest/ tests: a Plan that uses every input kind, and a schema check
// through tests/tools/validate_json_schema.py.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "builder/base/digest.h"
#include "builder/base/fs.h"
#include "builder/base/json.h"
#include "specs/plan.h"

namespace strata::attest::testing {

inline Digest digest_of(std::string_view s) { return sha256_of(s); }

// A spec with two sources (url and path), two packages (one depending on the other, one
// in the first layer), an environment image and a base image; names that sanitize alike.
inline specs::Plan full_plan() {
  specs::Plan plan;
  specs::Spec& s = plan.spec;
  s.name = "example.com/team/hello";
  s.version = "2.12";
  s.epoch = 1700000000;
  s.image.architecture = "amd64";
  s.sources.push_back({.name = "hello-src",
                       .url = "https://example.org/hello-2.12.tar.gz",
                       .sha256 = digest_of("hello-src")});
  s.sources.push_back({.name = "patches", .path = "patches/", .sha256 = digest_of("patches")});
  s.environment.rootfs = specs::RootfsKind::kImage;
  s.environment.image = specs::ImageRef{.path = "./toolchain", .digest = digest_of("toolchain")};
  s.image.base = specs::ImageRef{.path = "../base.tar", .digest = digest_of("base")};
  s.packages.push_back(
      {.name = "libgreet", .version = "1.0", .license = "MIT", .sources = {{.name = "patches"}}});
  s.packages.push_back({.name = "hello",
                        .version = "2.12",
                        .license = "GPL-3.0-or-later",
                        .sources = {{.name = "hello-src"}, {.name = "patches"}},
                        .depends = {{.name = "libgreet"}}});
  specs::LayerSpec layer;
  layer.packages.push_back({.name = "hello"});
  s.image.layers.push_back(layer);
  return plan;
}

// Validates `doc` against SCHEMA (a file in tests/schemas); skips the test with the
// validator's reason when the schemas are not there.
inline void expect_schema_valid(const Json& doc, const std::string& schema) {
  const char* source_dir = std::getenv("STRATA_SOURCE_DIR");
  if (!source_dir) GTEST_SKIP() << "STRATA_SOURCE_DIR is not set (run through ctest)";
  auto tmp = TempDir::create("/tmp", "strata-attest-schema-");
  ASSERT_TRUE(tmp.ok());
  std::string doc_path = tmp->path() + "/doc.json";
  ASSERT_TRUE(write_file(doc_path, *canonical_json(doc)).ok());
  std::string out_path = tmp->path() + "/out.txt";
  std::string cmd = std::string("python3 ") + source_dir + "/tests/tools/validate_json_schema.py " +
                    schema + " " + doc_path + " >" + out_path + " 2>&1";
  int rc = std::system(cmd.c_str());
  std::string out = read_file(out_path).ok() ? *read_file(out_path) : std::string();
  if (WIFEXITED(rc) && WEXITSTATUS(rc) == 77) GTEST_SKIP() << out;
  EXPECT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0) << out;
}

}  // namespace strata::attest::testing
