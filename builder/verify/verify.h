// `strata verify` (docs/design.md "Commands"): given an image and its provenance, check the
// signature, the subject, the spec and every recorded input, rebuild from those inputs in a
// fresh directory and compare. The answer is "reproduced sha256:…" or the failed check and,
// for a rebuild that differs, the diff down to the file. See docs/verify.md.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "attest/openssl.h"
#include "attest/provenance_reader.h"
#include "builder/diff/image_diff.h"
#include "builder/pipeline.h"

namespace strata::builder {

// One step of the verification, as reported to the user.
struct VerifyCheck {
  std::string name;  // signature, provenance, subject, spec, input files, plan, builder, …
  bool passed = false;
  std::string detail;
};

// What the command line gathered: the files named, the key, this binary's identity, the
// cache and the outside world (fetcher, sandbox runner).
struct VerifyOptions {
  std::string image;
  std::string provenance_path;
  std::optional<attest::PublicKey> key;
  std::string spec_path;  // --spec; "" = the recorded spec.path (relative to the cwd)
  std::string context;    // --context; "" = the spec's directory (specs/inputs.h)
  std::string strata_version;
  Digest strata_sha256;
  std::string host_architecture;
  std::string scratch_dir;  // the fresh rebuild happens in a temporary directory under it
  PackageStageOptions packages;
  sources::Fetcher* fetcher = nullptr;
  sandbox::Runner* runner = nullptr;
  // Progress of the rebuild's package builds, made once the plan's package count is known.
  std::function<build::BuildObserver(size_t package_count)> make_observer;
  // Makes the spec's registry images local (cli::pull_spec_images) before it is planned;
  // unset: the spec may name none.
  std::function<Result<void>(specs::Spec&)> pull_images;
  // Called as each check finishes.
  std::function<void(const VerifyCheck&)> on_check;
};

struct VerifyReport {
  std::vector<VerifyCheck> checks;
  std::optional<attest::ImageProvenance> provenance;  // once read
  Digest provenance_sha256;                           // of the file's bytes
  std::optional<Digest> rebuilt;                      // the rebuild's manifest digest
  std::optional<diff::ImageDiff> diff;                // image vs rebuild (index excluded)
  // The running strata binary is not the recorded one: the first suspect when the rebuild
  // differs. Holds the "builder" check's detail.
  std::optional<std::string> different_builder;

  // Every check passed: the rebuild has the subject's digest and the image matches it.
  bool passed() const;
};

// Runs the checks in order and stops at the first that fails (the report says which). An
// Error means verification could not run (unreadable file, --key missing for a signed
// provenance, spec not found): exit 2 or 1 as main() maps it.
Result<VerifyReport> verify_image(const VerifyOptions& options);

}  // namespace strata::builder
