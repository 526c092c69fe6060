// A sources::Fetcher for the sources tests: serves bodies from memory, no network.
#pragma once

#include <map>
#include <string>

#include "builder/base/fd.h"
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

}  // namespace strata::builder::testing
