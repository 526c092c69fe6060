#include "tests/support/test_util.h"

#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

namespace strata::testing {

std::string temp_root() {
  const char* env = std::getenv("TMPDIR");
  std::string root = env && *env ? env : "/tmp";
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return root;
}

TempDir make_temp_dir(std::string_view prefix, const std::string& parent) {
  std::string where = parent.empty() ? temp_root() : parent;
  Result<TempDir> dir = TempDir::create(where, prefix);
  if (!dir.ok()) {
    // Not ASSERT: a helper that returns a value cannot; no test can run without scratch space.
    std::fprintf(stderr, "make_temp_dir: %s/%.*s: %s\n", where.c_str(),
                 static_cast<int>(prefix.size()), prefix.data(), dir.error().message().c_str());
    std::abort();
  }
  return std::move(dir).value();
}

std::vector<std::string> list_paths(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    out.push_back(it->path().lexically_relative(dir).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string source_dir() {
  const char* dir = std::getenv("STRATA_SOURCE_DIR");
  return dir ? dir : "";
}

void expect_schema_valid(const Json& doc, const std::string& schema) {
  std::string src = source_dir();
  if (src.empty()) GTEST_SKIP() << "STRATA_SOURCE_DIR is not set (run through ctest)";
  TempDir tmp = make_temp_dir("strata-schema-");
  std::string doc_path = tmp.path() + "/doc.json";
  ASSERT_TRUE(write_file(doc_path, *canonical_json(doc)).ok());
  std::string out_path = tmp.path() + "/out.txt";
  std::string cmd = "python3 " + src + "/tests/tools/validate_json_schema.py " + schema + " " +
                    doc_path + " >" + out_path + " 2>&1";
  int rc = std::system(cmd.c_str());
  Result<std::string> out = read_file(out_path);
  EXPECT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0) << (out.ok() ? *out : std::string());
}

}  // namespace strata::testing
