#include "builder/cli/policy_output.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "builder/cli/keys.h"
#include "builder/registry/referrers.h"

namespace strata::builder::cli {

Result<std::vector<policy::TrustedKey>> load_trusted_keys(const std::vector<std::string>& paths) {
  std::vector<policy::TrustedKey> keys;
  for (const std::string& path : paths) {
    STRATA_TRY_ASSIGN(attest::PublicKey key, load_public_key("--key", path));
    keys.push_back({path, std::move(key)});
  }
  return keys;
}

Result<void> add_referrers(registry::RegistryClient& client, const specs::RegistryRef& ref,
                           const Digest& manifest, policy::ImageEvidence& evidence) {
  auto warn = [](const std::string& line) { fmt::print(stderr, "warning: {}\n", line); };
  STRATA_TRY_ASSIGN(std::vector<registry::ArtifactBlob> artifacts,
                    registry::fetch_artifacts(client, ref, manifest, warn));
  for (registry::ArtifactBlob& a : artifacts) {
    std::string source = fmt::format("docker://{}: referrer {} ({})", ref.name(),
                                     a.manifest_descriptor.digest.str(), a.artifact_type);
    if (auto att = policy::artifact_attestation(a.artifact_type, std::move(a.bytes), source)) {
      policy::add_attestation(evidence, *std::move(att));
    }
  }
  return Ok{};
}

// Past this many, a rule's details are counted rather than listed.
constexpr size_t kMaxDetailLines = 20;

void print_policy_rules(std::FILE* out, const policy::PolicyReport& report) {
  for (const policy::RuleResult& r : report.results) {
    fmt::print(out, "{} {}: {}\n", r.passed ? "ok  " : "FAIL", r.rule, r.evidence);
    // A failure's evidence is its first detail; a pass's is a summary of them all.
    size_t first = r.passed ? 0 : 1;
    size_t shown = std::min(r.details.size(), first + kMaxDetailLines);
    for (size_t i = first; i < shown; ++i) fmt::print(out, "       {}\n", r.details[i]);
    if (shown < r.details.size()) {
      fmt::print(out, "       … {} more (--json lists them all)\n", r.details.size() - shown);
    }
  }
}

void print_policy_summary(const std::string& file, const policy::PolicyReport& report,
                          const Digest& manifest) {
  std::vector<std::string> failed;
  for (const policy::RuleResult& r : report.results) {
    if (!r.passed) failed.push_back(r.rule);
  }
  if (failed.empty()) {
    fmt::print("policy {} passed: {} rule{} for {}\n", file, report.results.size(),
               report.results.size() == 1 ? "" : "s", manifest.str());
  } else {
    fmt::print("policy {} failed: {}\n", file, fmt::join(failed, ", "));
  }
}

}  // namespace strata::builder::cli
