// Shared by the sources tests: a FakeFetcher, a scratch directory, and directory listings.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "builder/base/fd.h"
#include "builder/base/fs.h"
#include "builder/sources/fetcher.h"

namespace strata::builder::testing {

// Serves bodies from memory; a URL in `errors` first writes `partial` bytes then fails, as a
// dropped connection would.
class FakeFetcher : public sources::Fetcher {
 public:
  Result<void> fetch(const std::string& url, int fd, const sources::FetchOptions&) override {
    ++calls;
    if (auto it = errors.find(url); it != errors.end()) {
      STRATA_TRY(write_all(fd, "partial", "fake"));
      return Error::io(it->second);
    }
    auto it = bodies.find(url);
    if (it == bodies.end()) return Error::io("HTTP 404 from " + url);
    return write_all(fd, it->second, "fake");
  }

  std::map<std::string, std::string> bodies;
  std::map<std::string, std::string> errors;
  int calls = 0;
};

// A fresh directory under the test temp dir, removed at the end of the test.
inline TempDir scratch_dir() {
  Result<TempDir> dir = TempDir::create(::testing::TempDir(), "strata-sources-");
  STRATA_CHECK(dir.ok());
  return std::move(dir).value();
}

// Every path below `dir`, relative and sorted ("a", "a/b"): what a failed step left behind.
inline std::vector<std::string> list_tree(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    out.push_back(it->path().lexically_relative(dir).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace strata::builder::testing
