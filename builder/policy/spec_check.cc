#include "builder/policy/spec_check.h"

#include <fmt/format.h>

#include "builder/policy/license_expression.h"
#include "builder/policy/source_rules.h"
#include "specs/diagnostics.h"

namespace strata::builder::policy {
namespace {

// A spec node without a recorded position (an omitted section) is pointed at the file.
Loc or_file_start(const Loc& loc, const specs::Spec& spec) {
  return loc.line > 0 ? loc : Loc{spec.file, 1, 1};
}

void check_sources(const SourcesRule& rule, const specs::Spec& spec,
                   std::vector<SpecViolation>& out) {
  for (const specs::Source& s : spec.sources) {
    SourceVerdict v = judge_source(rule, s.url, s.url.empty());
    if (v.allowed) continue;
    out.push_back({"sources", or_file_start(s.loc, spec), rule.loc,
                   fmt::format("source '{}' ({}): {}", s.name,
                               s.url.empty() ? "path " + s.path : s.url, v.reason)});
  }
  for (const std::optional<specs::ImageRef>* image : {&spec.environment.image, &spec.image.base}) {
    if (!*image || !(*image)->registry) continue;
    std::string uri = std::string(specs::kDockerTransport) + (*image)->registry->str();
    SourceVerdict v = judge_source(rule, uri, false);
    if (v.allowed) continue;
    out.push_back({"sources", or_file_start((*image)->loc, spec), rule.loc,
                   fmt::format("image {}: {}", uri, v.reason)});
  }
}

}  // namespace

std::vector<SpecViolation> check_spec(const Policy& policy, const specs::Spec& spec) {
  std::vector<SpecViolation> out;
  if (policy.pinned_environment && spec.environment.rootfs == specs::RootfsKind::kHost) {
    out.push_back({"pinnedEnvironment", or_file_start(spec.environment.loc, spec),
                   *policy.pinned_environment,
                   "the build environment is the host's root filesystem (rootfs: host, the "
                   "default): pin an image with environment: {rootfs: image, image: …}, or "
                   "build in locked Debian packages with {rootfs: debs, debs: […]}"});
  }
  if (policy.sources) check_sources(*policy.sources, spec, out);
  if (policy.licenses) {
    const LicensesRule& rule = *policy.licenses;
    for (const specs::Package& p : spec.packages) {
      if (p.license.empty()) {
        if (rule.allow_unknown || rule.allow.empty()) continue;
        out.push_back({"licenses", or_file_start(p.loc, spec), rule.loc,
                       fmt::format("package '{}' declares no license (set allowUnknown: true to "
                                   "accept that)",
                                   p.name)});
        continue;
      }
      auto verdict = judge_license(p.license, rule.allow, rule.deny);
      if (verdict.ok() && verdict->allowed) continue;
      out.push_back({"licenses", or_file_start(p.loc, spec), rule.loc,
                     fmt::format("package '{}' ({}): {}", p.name, p.license,
                                 verdict.ok() ? verdict->reason : verdict.error().message())});
    }
  }
  return out;
}

Error spec_violations_error(const std::vector<SpecViolation>& violations,
                            std::string_view spec_text) {
  std::vector<specs::Diagnostic> diagnostics;
  for (const SpecViolation& v : violations) {
    diagnostics.push_back(
        {v.spec_loc, fmt::format("policy rule {} ({}:{}): {}", v.rule, v.policy_loc.file,
                                 v.policy_loc.line, v.message)});
  }
  return specs::report_error(std::move(diagnostics), spec_text);
}

}  // namespace strata::builder::policy
