// The `sources` rule's test of one URL (docs/policy.md "sources"), shared by the image check
// (the provenance's resolvedDependencies) and the spec check before a build (spec_check.h).
#pragma once

#include <string>
#include <string_view>

#include "builder/policy/policy.h"

namespace strata::builder::policy {

struct SourceVerdict {
  bool allowed = false;
  std::string reason;  // "host evil.example is not allowed", "allowed by prefix https://…"
};

// The host of "scheme://[user@]host[:port]/…" lowercased ("" when there is none); a
// docker:// reference's registry host.
std::string url_host(std::string_view url);

// `url` passes when it starts with an allowed prefix or its host is an allowed host
// ("*.example.com" matches any host below example.com, not example.com itself). A local
// `path:` source (`is_path`) passes only with allowPaths.
SourceVerdict judge_source(const SourcesRule& rule, std::string_view url, bool is_path);

}  // namespace strata::builder::policy
