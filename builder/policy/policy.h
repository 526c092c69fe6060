// A supply-chain policy (docs/policy.md): the declarative YAML file `strata policy check`,
// `strata verify --policy` and `strata build --policy` apply, read into typed rules with a
// Loc on each. Every rule is optional; a rule left out is not applied.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "builder/base/digest.h"
#include "builder/base/error.h"
#include "builder/base/result.h"

namespace strata::builder::policy {

inline constexpr char kApiVersion[] = "strata.dev/policy/v1";
// The largest policy file read: policies are short.
inline constexpr int64_t kMaxPolicyBytes = 1 << 20;

// A public key file named in the policy, relative to the policy's directory.
struct KeyFile {
  std::string path;  // resolved: absolute, or relative to the current directory
  Loc loc;
};

enum class Require { kAll, kAny };

struct SignedByRule {
  std::vector<KeyFile> keys;  // empty: the --key keys
  Require require = Require::kAll;
  Loc loc;
};

struct BuilderRule {
  std::vector<std::string> ids;  // empty: any id
  std::string min_version;       // "" = any version
  Loc loc;
};

struct SourcesRule {
  std::vector<std::string> allowed_hosts;     // "example.com" or "*.example.com"
  std::vector<std::string> allowed_prefixes;  // URL prefixes
  bool allow_paths = false;                   // `path:` sources next to the spec
  Loc loc;
};

struct LicensesRule {
  std::vector<std::string> allow;  // SPDX license ids (empty: any that is not denied)
  std::vector<std::string> deny;
  bool allow_unknown = false;  // a package with no declared licence passes `allow`
  Loc loc;
};

struct MaxSizeRule {
  int64_t bytes = 0;
  std::string text;  // as written
  Loc loc;
};

struct KnownVulnerabilitiesRule {
  struct Id {
    std::string id;
    Loc loc;
  };
  std::vector<Id> ids;
  std::vector<KeyFile> keys;  // empty: the --key keys
  Loc loc;
};

struct Policy {
  std::string file;  // as given
  Digest sha256;     // of the file's bytes (recorded in a VSA)
  std::optional<SignedByRule> signed_by;
  std::optional<BuilderRule> builder;
  std::optional<Loc> reproduced;
  std::optional<Loc> pinned_environment;
  std::optional<SourcesRule> sources;
  std::optional<LicensesRule> licenses;
  std::optional<Loc> no_setuid_files;
  std::optional<Loc> non_root_user;
  std::optional<MaxSizeRule> max_image_size;
  std::optional<KnownVulnerabilitiesRule> known_vulnerabilities;

  // How many rules the policy applies.
  size_t rule_count() const;
};

// The rule names, in the order they are evaluated and reported.
inline constexpr std::string_view kRuleNames[] = {
    "signedBy", "builder",       "reproduced",  "pinnedEnvironment", "sources",
    "licenses", "noSetuidFiles", "nonRootUser", "maxImageSize",      "knownVulnerabilities"};

// Parses policy text named `file`; key paths resolve against `dir`. Every problem (unknown
// key or rule, wrong type, bad value, wrong apiVersion) is reported as "file:line:col: error:
// …" with the source line, all of them in one kSpec Error (exit 2).
Result<Policy> parse_policy(std::string_view text, const std::string& file, const std::string& dir);

// Reads the file at `path` (at most kMaxPolicyBytes) and parses it; keys resolve against the
// file's directory. An unreadable file is kSpec "FILE: error: cannot read policy: …".
Result<Policy> load_policy(const std::string& path);

// "64MiB", "1.5 GB", "1000000" -> bytes (KiB/MiB/GiB are powers of 1024, kB/MB/GB of 1000).
std::optional<int64_t> parse_size(std::string_view text);

}  // namespace strata::builder::policy
