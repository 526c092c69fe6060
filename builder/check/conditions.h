// The conditions of the check's second build: build 1's, with the environment, umask and
// --jobs changed where a reproducible build must not care.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "specs/spec.h"

namespace strata::builder {

// The conditions build 1 ran under, read by the CLI (docs/style.md: stages never read them).
struct HostConditions {
  std::map<std::string, std::string> env;  // the whole environment
  uint32_t umask = 022;
  int64_t jobs = 1;  // build 1's effective --jobs
  int64_t spec_epoch = specs::kDefaultEpoch;
  std::vector<std::string> locales;     // candidates that exist here, preferred first
  std::vector<std::string> time_zones;  // candidates that exist here, preferred first
  std::string working_dir;
  std::string spec_path;  // as given to build 1
};

// One condition that differs between the builds, for the report.
struct Variation {
  std::string name;  // "umask", "TZ", "--jobs", ...
  std::string build1;
  std::string build2;
};

struct VariedConditions {
  std::map<std::string, std::string> env;
  uint32_t umask = 077;
  int64_t jobs = 1;
  std::vector<Variation> variations;
};

// Build 2's conditions: build 1's environment with TZ, LANG/LC_ALL, HOME, TMPDIR and PATH
// changed, SOURCE_DATE_EPOCH set to a value that is not the spec's epoch (strata must ignore
// it), STRATA_CHECK_NOISE added; umask 077 (002 if build 1 used 077); --jobs 1 (2 if build 1
// used 1). `work_dir` is the check's temporary directory (HOME and TMPDIR go below it).
// Pure.
VariedConditions vary_conditions(const HostConditions& host, const std::string& work_dir,
                                 uint64_t seed);

}  // namespace strata::builder
