// `strata build --check`: builds the spec a second time in a separate strata process under
// varied conditions (a copy of the inputs, working directory, umask, TZ, locale, environment,
// --jobs, no cached packages) and compares the two images. See docs/reproducibility-check.md.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "builder/base/digest.h"
#include "builder/base/json.h"
#include "builder/base/result.h"
#include "specs/spec.h"

namespace strata::builder {

// The local files and directories the spec reads, absolute and lexically normal, sorted: the
// spec file, `path:` sources, `files:` sources, the environment and base image layouts.
// Inputs written as absolute paths (and URL sources) are left out: a copied spec still names
// the same absolute path, so the second build reads them where they are.
std::vector<std::string> local_inputs(const specs::Spec& spec);

// The smallest directory that contains every input: the longest common prefix of their
// parent directories. kSpec when that is "/" (the inputs are too scattered to copy).
Result<std::string> copy_root(const std::vector<std::string>& inputs);

struct VariedCopyOptions {
  // Paths relative to the source to copy, each a file or a whole tree, with the directories
  // leading to them; empty copies the whole source.
  std::vector<std::string> only;
  std::vector<std::string> skip;  // absolute paths never copied (build 1's outputs, say)
  uint32_t umask = 077;           // masks the copies' permission bits; the owner's are kept
  int64_t now_s = 0;              // every mtime is set to a different time before this
  uint64_t seed = 0;              // picks those times
};

// Copies the tree at `from` (absolute) into a new directory `to`. Entries are created in
// reverse byte order of their relative paths (the reverse of what a checkout or `cp -r`
// does), contents and symlink targets are kept, permission bits are masked by
// `options.umask`, and every entry's mtime is set to now_s minus between one second and
// about three years, a different time per entry. Sockets, fifos and devices are skipped.
// Returns the relative paths copied, in the order they were created. Errors name the call
// and path.
Result<std::vector<std::string>> copy_tree_varied(const std::string& from, const std::string& to,
                                                  const VariedCopyOptions& options);

// The conditions build 1 ran under, read by the CLI (STYLE.md: stages never read them).
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

// Runs a program to completion. The fork+exec implementation is the real one; tests may
// pass a fake.
struct ProcessSpec {
  std::vector<std::string> argv;  // argv[0] is the program's path
  std::map<std::string, std::string> env;
  std::string cwd;
  uint32_t umask = 022;
  std::string stdout_path;  // created (truncated), mode 0600
  std::string stderr_path;
};
class ProcessLauncher {
 public:
  virtual ~ProcessLauncher() = default;
  // The exit status, or 128 + the signal that killed it. Errors: the program could not be
  // started (fork, exec, chdir, opening the output files).
  virtual Result<int> run(const ProcessSpec& spec) = 0;
};
class ForkExecLauncher : public ProcessLauncher {
 public:
  Result<int> run(const ProcessSpec& spec) override;
};

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
// under options.temp_parent, removed before returning. A failed build 2 is kIo with the
// tail of its stderr. Not being reproducible is a result, not an error.
Result<CheckResult> check_reproducible(const specs::Spec& spec, const CheckOptions& options);

// The `check` object of `strata build --check --json`.
Json check_to_json(const CheckResult& result);

}  // namespace strata::builder
