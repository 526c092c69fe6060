// `strata build --check`: builds the spec a second time in a separate strata process under
// varied conditions (a copy of the inputs, working directory, umask, TZ, locale, environment,
// --jobs, no cached packages) and compares the two images. See docs/reproducibility-check.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "builder/base/digest.h"
#include "builder/base/json.h"
#include "builder/base/result.h"
#include "builder/check/conditions.h"
#include "builder/check/launcher.h"
#include "specs/spec.h"

namespace strata::builder {

struct CheckOptions {
  std::string self_exe = "/proc/self/exe";  // the strata binary build 2 runs
  std::string temp_parent = "/tmp";         // where the check's temporary directory goes
  std::string cache_dir;                    // build 1's cache (sources/ and rootfs/ shared)
  std::string layout_dir;                   // build 1's layout, compared with build 2's
  std::vector<std::string> build1_outputs;  // absolute; never copied with the inputs
  std::string sbom_path;                    // build 1's SBOM ("" = not compared)
  std::vector<std::string> output_args;     // build options that change bytes, passed on
  HostConditions host;
  int64_t now_s = 0;
  uint64_t seed = 0;
  ProcessLauncher* launcher = nullptr;
};

struct CheckResult {
  bool reproducible = false;
  Digest digest1;
  Digest digest2;
  bool sbom_same = true;
  std::vector<Variation> variations;
  std::string diff_text;  // the human-readable difference ("" when reproducible)
  Json diff_json;         // null when reproducible
};

// Builds `spec` again in a separate process under varied conditions and compares build 2's
// layout with options.layout_dir. Everything build 2 writes lives in one temporary directory
// under options.temp_parent, removed before returning. A failed build 2 is kBuild naming what
// failed (its "strata: error:" line), every condition that was varied, and where its logs
// are kept (CACHE/logs/NAME.check-build2/), then the tail of its stderr. Not being
// reproducible is a result, not an error.
Result<CheckResult> check_reproducible(const specs::Spec& spec, const CheckOptions& options);

// The `check` object of `strata build --check --json`.
Json check_to_json(const CheckResult& result);

}  // namespace strata::builder
