// The `vex:` section (docs/vex.md): statements inline or in a file beside the spec, every
// OpenVEX rule a located error.
#include <gtest/gtest.h>

#include "specs/parse.h"
#include "specs/values.h"
#include "tests/support/spec_report.h"

namespace strata::specs {
namespace {

using testing::report;
using testing::SpecDir;

// A spec with one package, one deb and the given vex section (from line 13 on).
std::string spec_with(std::string_view vex) {
  return std::string(R"(apiVersion: strata/v1
name: t
packages:
  - {name: hello, version: "1.0", steps: [true]}
debian:
  repositories:
    - {url: "https://deb.example/d", suite: s, keyring: k.gpg}
image:
  layers:
    - packages: [hello]
    - debs: [libssl3]
vex:
)") + std::string(vex);
}

TEST(VexSpec, StatementsInline) {
  auto spec = parse_spec(spec_with(R"(  - vulnerability: CVE-2024-3094
    aliases: [GHSA-rxwq-x6h5-x525]
    packages: [hello]
    status: not_affected
    justification: vulnerable_code_not_present
    impact_statement: hello does not link liblzma
  - {vulnerability: GHSA-jfh8-c2jp-5v3q, debs: [libssl3], status: affected,
     action_statement: "upgrade to 3.0.14", status_notes: seen by the scanner}
  - {vulnerability: PYSEC-2024-1, status: under_investigation}
  - {vulnerability: CVE-2023-12345, packages: [hello], debs: [libssl3], status: fixed}
)"),
                         "spec.yaml", "/tmp", {.check_files = false});
  ASSERT_TRUE(spec.ok()) << spec.error().message();
  const std::vector<VexStatement>& s = spec->vex.statements;
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(spec->vex.file, "");
  EXPECT_EQ(s[0].vulnerability, "CVE-2024-3094");
  EXPECT_EQ(s[0].aliases, std::vector<std::string>{"GHSA-rxwq-x6h5-x525"});
  ASSERT_EQ(s[0].packages.size(), 1u);
  EXPECT_EQ(s[0].packages[0].name, "hello");
  EXPECT_EQ(s[0].status, "not_affected");
  EXPECT_EQ(s[0].justification, "vulnerable_code_not_present");
  EXPECT_EQ(s[0].impact_statement, "hello does not link liblzma");
  EXPECT_EQ(s[0].loc.line, 13);
  EXPECT_EQ(s[1].debs[0].name, "libssl3");
  EXPECT_EQ(s[1].action_statement, "upgrade to 3.0.14");
  EXPECT_EQ(s[1].status_notes, "seen by the scanner");
  EXPECT_TRUE(s[2].packages.empty() && s[2].debs.empty());
  EXPECT_EQ(s[3].status, "fixed");
}

TEST(VexSpec, EveryRuleIsALocatedError) {
  EXPECT_EQ(
      report(spec_with(R"(  - {vulnerability: CVE-24-1, status: fixed}
  - {vulnerability: CVE-2024-0001, packages: [helo], status: fixed}
  - {vulnerability: CVE-2024-0002, debs: [libssl], status: fixed}
  - {vulnerability: CVE-2024-0003, status: not_affected}
  - {vulnerability: CVE-2024-0004, status: affected}
  - {vulnerability: CVE-2024-0005, status: not_affected, justification: no_reason}
  - {vulnerability: CVE-2024-0006, status: fixd}
  - {vulnerability: CVE-2024-0007, status: fixed, justification: component_not_present}
  - {vulnerability: CVE-2024-0008, status: fixed, action_statement: x}
  - {vulnerability: CVE-2024-0009, status: fixed, severity: high}
  - {status: fixed}
  - {vulnerability: GHSA-abcd-efgh-ijkl, status: fixed}
)")),
      R"(spec.yaml:13:21: error: 'CVE-24-1' is not a vulnerability id (expected CVE-YYYY-NNNN, GHSA-xxxx-xxxx-xxxx or an OSV id such as PYSEC-2024-1)
  - {vulnerability: CVE-24-1, status: fixed}
                    ^
spec.yaml:14:47: error: unknown package 'helo'; did you mean 'hello'?
  - {vulnerability: CVE-2024-0001, packages: [helo], status: fixed}
                                              ^
spec.yaml:15:43: error: unknown deb 'libssl'; did you mean 'libssl3'?
  - {vulnerability: CVE-2024-0002, debs: [libssl], status: fixed}
                                          ^
spec.yaml:16:44: error: status 'not_affected' needs a justification or an impact_statement saying why (OpenVEX v0.2.0)
  - {vulnerability: CVE-2024-0003, status: not_affected}
                                           ^
spec.yaml:17:44: error: status 'affected' needs an action_statement saying what users should do (OpenVEX v0.2.0)
  - {vulnerability: CVE-2024-0004, status: affected}
                                           ^
spec.yaml:18:73: error: 'no_reason' is not a valid justification (expected component_not_present, vulnerable_code_not_present, vulnerable_code_not_in_execute_path, vulnerable_code_cannot_be_controlled_by_adversary or inline_mitigations_already_exist)
  - {vulnerability: CVE-2024-0005, status: not_affected, justification: no_reason}
                                                                        ^
spec.yaml:19:44: error: 'fixd' is not a valid status (expected not_affected, affected, fixed or under_investigation); did you mean 'fixed'?
  - {vulnerability: CVE-2024-0006, status: fixd}
                                           ^
spec.yaml:20:51: error: justification is only for status 'not_affected'
  - {vulnerability: CVE-2024-0007, status: fixed, justification: component_not_present}
                                                  ^
spec.yaml:21:51: error: action_statement is only for status 'affected'
  - {vulnerability: CVE-2024-0008, status: fixed, action_statement: x}
                                                  ^
spec.yaml:22:51: error: unknown key 'severity'
  - {vulnerability: CVE-2024-0009, status: fixed, severity: high}
                                                  ^
spec.yaml:23:5: error: missing required key 'vulnerability'
  - {status: fixed}
    ^
spec.yaml:24:21: error: 'GHSA-abcd-efgh-ijkl' is not a vulnerability id (expected CVE-YYYY-NNNN, GHSA-xxxx-xxxx-xxxx or an OSV id such as PYSEC-2024-1)
  - {vulnerability: GHSA-abcd-efgh-ijkl, status: fixed}
                    ^
12 errors in spec.yaml)");
}

TEST(VexSpec, AVulnerabilityIsStatedOncePerPackage) {
  EXPECT_EQ(report(spec_with(R"(  - {vulnerability: CVE-2024-0001, packages: [hello], status: fixed}
  - {vulnerability: CVE-2024-0001, packages: [hello], status: under_investigation}
  - {vulnerability: CVE-2024-0002, status: fixed}
  - {vulnerability: CVE-2024-0002, status: fixed}
  - {vulnerability: CVE-2024-0003, aliases: [CVE-2024-0003], status: fixed}
)")),
            R"(spec.yaml:14:47: error: CVE-2024-0001 is already stated for package 'hello' (line 13)
  - {vulnerability: CVE-2024-0001, packages: [hello], status: under_investigation}
                                              ^
spec.yaml:16:5: error: CVE-2024-0002 is already stated for the image (line 15)
  - {vulnerability: CVE-2024-0002, status: fixed}
    ^
spec.yaml:17:46: error: alias 'CVE-2024-0003' is listed twice
  - {vulnerability: CVE-2024-0003, aliases: [CVE-2024-0003], status: fixed}
                                             ^
3 errors in spec.yaml)");
}

TEST(VexSpec, EmptyOrWrongKind) {
  EXPECT_EQ(report(spec_with("  []\n")),
            "spec.yaml:13:3: error: vex is empty: list statements (- vulnerability: …) or "
            "remove it\n  []\n  ^");
  EXPECT_EQ(report(spec_with("  {a: b}\n")),
            "spec.yaml:13:3: error: vex must be a list of statements or the name of a YAML file "
            "holding them, got a mapping\n  {a: b}\n  ^");
}

TEST(VexSpec, StatementsFromAFileBesideTheSpec) {
  SpecDir dir;
  ASSERT_TRUE(write_file(dir.path() + "/vex.yaml",
                         "- vulnerability: CVE-2024-3094\n  packages: [hello]\n  status: fixed\n")
                  .ok());
  std::string spec_text = spec_with("  vex.yaml\n");
  auto spec = parse_spec(spec_text, dir.path() + "/spec.yaml", dir.path());
  ASSERT_TRUE(spec.ok()) << spec.error().message();
  EXPECT_EQ(spec->vex.file, "vex.yaml");
  ASSERT_EQ(spec->vex.statements.size(), 1u);
  EXPECT_EQ(spec->vex.statements[0].vulnerability, "CVE-2024-3094");
  EXPECT_EQ(spec->vex.statements[0].loc.file, dir.path() + "/vex.yaml");

  // The file's errors are reported with its own name, lines and carets.
  ASSERT_TRUE(write_file(dir.path() + "/vex.yaml",
                         "- vulnerability: CVE-2024-3094\n  packages: [nope]\n  status: fixed\n")
                  .ok());
  spec = parse_spec(spec_text, dir.path() + "/spec.yaml", dir.path());
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.error().message(), dir.path() +
                                        "/vex.yaml:2:14: error: unknown package 'nope'\n"
                                        "  packages: [nope]\n"
                                        "             ^");
  ASSERT_TRUE(write_file(dir.path() + "/vex.yaml", "vulnerability: CVE-2024-3094\n").ok());
  spec = parse_spec(spec_text, dir.path() + "/spec.yaml", dir.path());
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.error().message(),
            dir.path() +
                "/vex.yaml:1:1: error: a VEX file holds a list of statements (- vulnerability: "
                "…), got a mapping\nvulnerability: CVE-2024-3094\n^");
  ASSERT_TRUE(write_file(dir.path() + "/vex.yaml", "").ok());
  spec = parse_spec(spec_text, dir.path() + "/spec.yaml", dir.path());
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.error().message(), dir.path() +
                                        "/vex.yaml:1:1: error: the VEX file is empty (it holds a "
                                        "list of statements)");
}

TEST(VexSpec, TheFileMustExistBeneathTheContext) {
  SpecDir dir;
  EXPECT_EQ(report(spec_with("  missing.yaml\n"), dir.path()),
            "spec.yaml:13:3: error: vex 'missing.yaml' does not exist (looked in " + dir.path() +
                "/missing.yaml)\n  missing.yaml\n  ^");
  EXPECT_EQ(report(spec_with("  ../x.yaml\n"), dir.path()),
            "spec.yaml:13:3: error: vex '../x.yaml' must stay inside the spec's directory (no "
            "'..')\n  ../x.yaml\n  ^");
}

TEST(VexSpec, VulnerabilityIds) {
  for (const char* good :
       {"CVE-2024-3094", "CVE-1999-0001", "CVE-2024-1234567", "GHSA-rxwq-x6h5-x525",
        "PYSEC-2021-123", "RUSTSEC-2021-0001", "GO-2022-0001", "OSV-2020-111", "DSA-5000-1",
        "DEBIAN-CVE-2023-1234", "USN-6000-1"}) {
    EXPECT_TRUE(is_vulnerability_id(good)) << good;
  }
  for (const char* bad :
       {"", "CVE", "CVE-", "CVE-2024-123", "CVE-24-1234", "cve-2024-3094", "CVE-2024-3094 ",
        "GHSA-rxwq-x6h5-x52", "GHSA-RXWQ-X6H5-X525", "GHSA-abcd-efgh-ijkl", "-2024-1",
        "pysec-2021-1", "PYSEC-", "X-a b", "1CVE-2024-3094", "PYSEC--1"}) {
    EXPECT_FALSE(is_vulnerability_id(bad)) << bad;
  }
}

}  // namespace
}  // namespace strata::specs
