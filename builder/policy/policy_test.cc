#include "builder/policy/policy.h"

#include <gtest/gtest.h>

#include "builder/policy/license_expression.h"
#include "builder/policy/source_rules.h"
#include "builder/policy/spec_check.h"
#include "specs/parse.h"

namespace strata::builder::policy {
namespace {

Result<Policy> parse(std::string_view text) { return parse_policy(text, "p.yaml", "/keys"); }

// The first line of the report (the diagnostic, without its source line and caret).
std::string first_error(std::string_view text) {
  auto p = parse(text);
  if (p.ok()) return "(parsed)";
  EXPECT_EQ(p.error().code(), ErrorCode::kSpec);
  const std::string& m = p.error().message();
  return m.substr(0, m.find('\n'));
}

TEST(PolicyParse, ReadsEveryRule) {
  auto p = parse(R"(apiVersion: strata.dev/policy/v1
rules:
  signedBy: {keys: [release.pub, /etc/k.pub], require: any}
  builder: {id: https://strata.dev/builder/local/v1, minVersion: 0.1.0}
  reproduced: true
  pinnedEnvironment: true
  sources:
    allowedHosts: [ftp.gnu.org, "*.example.com"]
    allowedPrefixes: [https://github.com/acme/]
    allowPaths: true
  licenses: {allow: [MIT, Apache-2.0], deny: [GPL-3.0-only], allowUnknown: true}
  noSetuidFiles: true
  nonRootUser: true
  maxImageSize: 50MiB
  knownVulnerabilities: {ids: [CVE-2024-1234, GHSA-abcd-efgh-ijkl], keys: [vex.pub]}
)");
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  EXPECT_EQ(p->rule_count(), 10u);
  ASSERT_EQ(p->signed_by->keys.size(), 2u);
  EXPECT_EQ(p->signed_by->keys[0].path, "/keys/release.pub");
  EXPECT_EQ(p->signed_by->keys[1].path, "/etc/k.pub");
  EXPECT_EQ(p->signed_by->keys[0].loc.line, 3);
  EXPECT_EQ(p->signed_by->require, Require::kAny);
  EXPECT_EQ(p->builder->ids, std::vector<std::string>{"https://strata.dev/builder/local/v1"});
  EXPECT_EQ(p->builder->min_version, "0.1.0");
  EXPECT_EQ(p->reproduced->line, 5);
  EXPECT_EQ(p->sources->allowed_hosts.size(), 2u);
  EXPECT_TRUE(p->sources->allow_paths);
  EXPECT_EQ(p->licenses->deny, std::vector<std::string>{"GPL-3.0-only"});
  EXPECT_TRUE(p->licenses->allow_unknown);
  EXPECT_EQ(p->max_image_size->bytes, 50 << 20);
  ASSERT_EQ(p->known_vulnerabilities->ids.size(), 2u);
  EXPECT_EQ(p->known_vulnerabilities->ids[1].id, "GHSA-abcd-efgh-ijkl");
  EXPECT_EQ(p->known_vulnerabilities->keys[0].path, "/keys/vex.pub");
  EXPECT_EQ(p->sha256.hex.size(), 64u);
}

TEST(PolicyParse, ErrorsAreLocated) {
  const std::string head = "apiVersion: strata.dev/policy/v1\nrules:\n";
  EXPECT_EQ(first_error(head + "  nonRootUsr: true\n"),
            "p.yaml:3:3: error: unknown rule 'nonRootUsr'; did you mean 'nonRootUser'?");
  EXPECT_EQ(first_error(head + "  nonRootUser: yes\n"),
            "p.yaml:3:16: error: nonRootUser: expected true or false, got 'yes'");
  EXPECT_EQ(first_error(head + "  reproduced: false\n"),
            "p.yaml:3:15: error: reproduced: only true is meaningful (leave the rule out to not "
            "apply it)");
  EXPECT_EQ(first_error(head + "  maxImageSize: lots\n"),
            "p.yaml:3:17: error: maxImageSize: expected a size like 50MiB, 20 MB or 1048576, got "
            "'lots'");
  EXPECT_EQ(first_error(head + "  sources: [a]\n"),
            "p.yaml:3:12: error: sources key: expected a mapping, got a sequence");
  EXPECT_EQ(first_error(head + "  sources: {allowedHosts: [https://x/]}\n"),
            "p.yaml:3:28: error: allowedHosts: 'https://x/' is not a host name (use "
            "allowedPrefixes for URLs)");
  EXPECT_EQ(first_error(head + "  licenses: {allow: [MIT OR BSD]}\n"),
            "p.yaml:3:22: error: allow: 'MIT OR BSD' is not an SPDX license id (write "
            "expressions' single ids: MIT, Apache-2.0, LicenseRef-x)");
  EXPECT_EQ(first_error(head + "  knownVulnerabilities: {ids: [nope]}\n"),
            "p.yaml:3:32: error: ids: 'nope' is not a vulnerability id (CVE-2024-1234, "
            "GHSA-xxxx-xxxx-xxxx, …)");
  EXPECT_EQ(first_error(head + "  signedBy: {require: most}\n"),
            "p.yaml:3:23: error: require: expected all or any, got 'most'");
  EXPECT_EQ(first_error(head + "  builder: {minVersion: new}\n"),
            "p.yaml:3:25: error: minVersion: expected a version like 0.1.0, got 'new'");
  EXPECT_EQ(first_error("apiVersion: strata/v1\nrules: {nonRootUser: true}\n"),
            "p.yaml:1:13: error: apiVersion: expected strata.dev/policy/v1, got 'strata/v1'");
  EXPECT_EQ(first_error("rules: {nonRootUser: true}\n"),
            "p.yaml:1:1: error: missing required key 'apiVersion' (apiVersion: "
            "strata.dev/policy/v1)");
  EXPECT_EQ(first_error(head), "p.yaml:2:1: error: no rules");
  EXPECT_EQ(first_error(head + "  nonRootUser: true\n  nonRootUser: true\n"),
            "p.yaml:4:3: error: duplicate key 'nonRootUser'");
  EXPECT_EQ(first_error(""), "p.yaml:1:1: error: the policy is empty");
  EXPECT_EQ(first_error("a: [\n"), "p.yaml:1:5: error: end of sequence flow not found");
}

TEST(PolicyParse, ReportsEveryProblemWithTheSourceLine) {
  auto p = parse("apiVersion: strata.dev/policy/v1\nrules:\n  nonRootUser: 1\n  bogus: 2\n");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().message(),
            "p.yaml:3:16: error: nonRootUser: expected true or false, got '1'\n"
            "  nonRootUser: 1\n"
            "               ^\n"
            "p.yaml:4:3: error: unknown rule 'bogus'\n"
            "  bogus: 2\n"
            "  ^\n"
            "2 errors in p.yaml");
}

TEST(PolicyParse, Sizes) {
  EXPECT_EQ(parse_size("1048576"), 1048576);
  EXPECT_EQ(parse_size("1KiB"), 1024);
  EXPECT_EQ(parse_size("1.5 MiB"), 1572864);
  EXPECT_EQ(parse_size("20 MB"), 20000000);
  EXPECT_EQ(parse_size("2GiB"), int64_t{2} << 30);
  EXPECT_FALSE(parse_size("").has_value());
  EXPECT_FALSE(parse_size("MiB").has_value());
  EXPECT_FALSE(parse_size("1 TiB").has_value());
  EXPECT_FALSE(parse_size("0").has_value());
  EXPECT_FALSE(parse_size("-5").has_value());
  EXPECT_FALSE(parse_size("1.2.3MB").has_value());
}

LicenseVerdict judge(std::string_view e, std::vector<std::string> allow,
                     std::vector<std::string> deny = {}) {
  auto v = judge_license(e, allow, deny);
  EXPECT_TRUE(v.ok()) << e << ": " << v.error().message();
  return v.ok() ? *v : LicenseVerdict{};
}

TEST(LicenseExpression, OrNeedsOneBranchAndNeedsAll) {
  EXPECT_TRUE(judge("MIT", {"MIT"}).allowed);
  EXPECT_TRUE(judge("mit", {"MIT"}).allowed);  // ids compare case-insensitively
  EXPECT_EQ(judge("GPL-3.0-only", {"MIT"}).reason, "GPL-3.0-only is not allowed");
  EXPECT_TRUE(judge("GPL-3.0-only OR MIT", {"MIT"}).allowed);
  EXPECT_EQ(judge("GPL-3.0-only OR LGPL-2.1-only", {"MIT"}).reason,
            "no branch of the OR is allowed (GPL-3.0-only is not allowed; LGPL-2.1-only is not "
            "allowed)");
  EXPECT_FALSE(judge("MIT AND GPL-3.0-only", {"MIT"}).allowed);
  EXPECT_EQ(judge("MIT AND GPL-3.0-only", {"MIT"}).reason, "GPL-3.0-only is not allowed");
  EXPECT_TRUE(judge("MIT AND (Apache-2.0 OR GPL-3.0-only)", {"MIT", "Apache-2.0"}).allowed);
  // AND binds tighter than OR: (MIT AND GPL) OR Apache.
  EXPECT_TRUE(judge("MIT AND GPL-3.0-only OR Apache-2.0", {"MIT", "Apache-2.0"}).allowed);
  EXPECT_FALSE(judge("MIT AND (GPL-3.0-only OR BSD-2-Clause)", {"MIT"}).allowed);
}

TEST(LicenseExpression, WithAndDeny) {
  // X WITH E is judged as X, or as the whole text when the allow list names it.
  EXPECT_TRUE(judge("GPL-2.0-only WITH Classpath-exception-2.0", {"GPL-2.0-only"}).allowed);
  EXPECT_TRUE(judge("GPL-2.0-only WITH Classpath-exception-2.0",
                    {"GPL-2.0-only WITH Classpath-exception-2.0"})
                  .allowed);
  EXPECT_EQ(judge("GPL-2.0-only WITH Classpath-exception-2.0", {"MIT"}).reason,
            "GPL-2.0-only WITH Classpath-exception-2.0 is not allowed");
  EXPECT_EQ(judge("GPL-3.0-only", {}, {"GPL-3.0-only"}).reason, "GPL-3.0-only is denied");
  EXPECT_TRUE(judge("GPL-3.0-only OR MIT", {}, {"GPL-3.0-only"}).allowed);
  EXPECT_FALSE(judge("GPL-3.0-only AND MIT", {}, {"GPL-3.0-only"}).allowed);
  EXPECT_FALSE(judge("GPL-3.0-only", {"GPL-3.0-only"}, {"GPL-3.0-only"}).allowed);
  EXPECT_TRUE(judge("Zlib", {}).allowed);
}

TEST(LicenseExpression, MalformedIsAnError) {
  for (std::string_view bad : {"", "MIT AND", "(MIT", "MIT)", "AND MIT", "MIT WITH", "MIT MIT"}) {
    auto v = judge_license(bad, {"MIT"}, {});
    EXPECT_FALSE(v.ok()) << bad;
  }
  EXPECT_EQ(judge_license("(MIT", {}, {}).error().message(),
            "not an SPDX license expression: unbalanced '('");
}

TEST(SourceRules, HostsAndPrefixes) {
  SourcesRule rule{.allowed_hosts = {"ftp.gnu.org", "*.example.com"},
                   .allowed_prefixes = {"https://github.com/acme/"}};
  EXPECT_EQ(url_host("https://User@FTP.gnu.org:443/x"), "ftp.gnu.org");
  EXPECT_EQ(url_host("docker://registry.example.com/app@sha256:ab"), "registry.example.com");
  EXPECT_EQ(url_host("http://[::1]:8080/x"), "[::1]");
  EXPECT_EQ(url_host("file:///tmp/x"), "");
  EXPECT_TRUE(judge_source(rule, "https://ftp.gnu.org/gnu/hello.tar.gz", false).allowed);
  EXPECT_TRUE(judge_source(rule, "https://cdn.example.com/a", false).allowed);
  EXPECT_FALSE(judge_source(rule, "https://example.com/a", false).allowed);
  EXPECT_FALSE(judge_source(rule, "https://evil-example.com/a", false).allowed);
  EXPECT_TRUE(judge_source(rule, "https://github.com/acme/x.tar.gz", false).allowed);
  EXPECT_EQ(judge_source(rule, "https://github.com/other/x", false).reason,
            "host github.com is not allowed, and no allowed prefix matches");
  EXPECT_EQ(judge_source(rule, "", true).reason,
            "a local path source is not allowed (allowPaths is not set)");
  rule.allow_paths = true;
  EXPECT_TRUE(judge_source(rule, "", true).allowed);
}

TEST(SpecCheck, NamesTheRuleAndTheSpecLine) {
  const std::string spec_text = R"(apiVersion: strata/v1
name: t
sources:
  - name: ok
    url: https://ftp.gnu.org/a.tar.gz
    sha256: 0000000000000000000000000000000000000000000000000000000000000000
  - name: bad
    url: http://127.0.0.1:9/b.tar.gz
    sha256: 0000000000000000000000000000000000000000000000000000000000000000
packages:
  - name: p
    license: GPL-3.0-only OR MIT
    sources: [ok, bad]
    steps: [true]
  - name: q
    license: GPL-3.0-only
    sources: [ok]
    steps: [true]
image:
  layers:
    - packages: [p]
)";
  auto spec = specs::parse_spec(spec_text, "s.yaml", "/tmp", {.check_files = false});
  ASSERT_TRUE(spec.ok()) << spec.error().to_string();
  auto policy = parse(R"(apiVersion: strata.dev/policy/v1
rules:
  sources: {allowedHosts: [ftp.gnu.org]}
  pinnedEnvironment: true
  licenses: {allow: [MIT]}
  nonRootUser: true
)");
  ASSERT_TRUE(policy.ok()) << policy.error().to_string();
  std::vector<SpecViolation> v = check_spec(*policy, *spec);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].rule, "pinnedEnvironment");
  EXPECT_EQ(v[1].rule, "sources");
  EXPECT_EQ(v[1].spec_loc.line, 7);
  EXPECT_EQ(v[1].policy_loc.line, 3);
  EXPECT_EQ(v[2].rule, "licenses");
  EXPECT_EQ(v[2].spec_loc.line, 15);
  std::string report = spec_violations_error({v[1]}, spec_text).message();
  EXPECT_EQ(report,
            "s.yaml:7:5: error: policy rule sources (p.yaml:3): source 'bad' "
            "(http://127.0.0.1:9/b.tar.gz): host 127.0.0.1 is not allowed, and no allowed "
            "prefix matches\n"
            "  - name: bad\n"
            "    ^");
}

}  // namespace
}  // namespace strata::builder::policy
