// The value grammars, diagnostics formatting and suggestions, tested directly.
#include "specs/values.h"

#include <gtest/gtest.h>

#include "specs/diagnostics.h"
#include "specs/suggest.h"

namespace strata::specs {
namespace {

TEST(SpecValues, ImageNamesFollowTheOciRepositoryGrammar) {
  for (const char* ok : {"hello", "a/b/c", "my-app", "my--app", "a.b", "a_b", "a__b", "x9"}) {
    EXPECT_TRUE(is_image_name(ok)) << ok;
  }
  for (const char* bad : {"", "Hello", "-a", "a-", "a..b", "a___b", "a/", "/a", "a//b", "a._b"}) {
    EXPECT_FALSE(is_image_name(bad)) << bad;
  }
  EXPECT_FALSE(is_image_name(std::string(256, 'a')));
}

TEST(SpecValues, TagsAreAtMost128Characters) {
  EXPECT_TRUE(is_tag("2.12"));
  EXPECT_TRUE(is_tag("_x-Y.1"));
  EXPECT_TRUE(is_tag(std::string(128, 'a')));
  EXPECT_FALSE(is_tag(std::string(129, 'a')));
  EXPECT_FALSE(is_tag(".x"));
  EXPECT_FALSE(is_tag("a:b"));
}

TEST(SpecValues, ModesAreThreeOrFourOctalDigits) {
  EXPECT_EQ(*parse_mode("644"), 0644u);
  EXPECT_EQ(*parse_mode("0644"), 0644u);
  EXPECT_EQ(*parse_mode("1777"), 01777u);
  EXPECT_EQ(*parse_mode("7777"), 07777u);
  for (const char* bad : {"999", "0x1", "17777", "64", "", "-644", "0o644", "420 "}) {
    EXPECT_FALSE(parse_mode(bad).ok()) << bad;
  }
  EXPECT_EQ(parse_mode("999").error().message(),
            "'999' is not an octal mode of 3 or 4 digits like \"0644\"");
}

TEST(SpecValues, DurationsAcceptUnitsInOrderOrPlainSeconds) {
  EXPECT_EQ(*parse_duration_s("30m"), 1800);
  EXPECT_EQ(*parse_duration_s("90s"), 90);
  EXPECT_EQ(*parse_duration_s("2h"), 7200);
  EXPECT_EQ(*parse_duration_s("1h30m"), 5400);
  EXPECT_EQ(*parse_duration_s("1h2m3s"), 3723);
  EXPECT_EQ(*parse_duration_s("600"), 600);
  for (const char* bad :
       {"", "0", "0s", "m", "30x", "1m1h", "1h1h", "1.5h", "-5", "169h", "05m", "99999999999"}) {
    EXPECT_FALSE(parse_duration_s(bad).ok()) << bad;
  }
  EXPECT_EQ(parse_duration_s("1m1h").error().message(),
            "'1m1h' is not a duration like \"90s\", \"30m\", \"1h30m\" or 600");
}

TEST(SpecValues, AbsolutePathsAreNormalized) {
  EXPECT_EQ(*normalize_abs_path("/"), "/");
  EXPECT_EQ(*normalize_abs_path("/etc/"), "/etc");
  EXPECT_EQ(*normalize_abs_path("/etc/motd"), "/etc/motd");
  EXPECT_EQ(normalize_abs_path("etc").error().message(), "'etc' must be an absolute path");
  EXPECT_EQ(normalize_abs_path("/a/../b").error().message(), "'/a/../b' must not contain '..'");
  EXPECT_EQ(normalize_abs_path("/a/./b").error().message(), "'/a/./b' must not contain '.'");
  EXPECT_EQ(normalize_abs_path("//a").error().message(), "'//a' has an empty component");
  EXPECT_EQ(normalize_abs_path("/a//").error().message(), "'/a//' has an empty component");
  EXPECT_EQ(normalize_abs_path("").error().message(), "is empty");
}

TEST(SpecValues, RelativePathsStayInsideTheSpecDirectory) {
  EXPECT_EQ(*normalize_rel_path("./files//motd/"), "files/motd");
  EXPECT_EQ(*normalize_rel_path("."), ".");
  EXPECT_EQ(normalize_rel_path("../x").error().message(),
            "'../x' must stay inside the spec's directory (no '..')");
  EXPECT_EQ(normalize_rel_path("a/../../x").error().message(),
            "'a/../../x' must stay inside the spec's directory (no '..')");
  EXPECT_EQ(normalize_rel_path("/etc/passwd").error().message(),
            "'/etc/passwd' must be relative to the spec's directory");
}

TEST(SpecValues, PortsNormalizeToTheOciKeyForm) {
  EXPECT_EQ(*normalize_port("80"), "80/tcp");
  EXPECT_EQ(*normalize_port("53/udp"), "53/udp");
  EXPECT_EQ(*normalize_port("65535/tcp"), "65535/tcp");
  for (const char* bad : {"0", "65536", "080", "80/sctp", "80/", "/tcp", "http", "-1"}) {
    EXPECT_FALSE(normalize_port(bad).ok()) << bad;
  }
  EXPECT_EQ(normalize_port("80/sctp").error().message(),
            "'80/sctp' is not a port like \"8080\", \"8080/tcp\" or \"53/udp\"");
}

TEST(SpecValues, SignalsAreNamesOrNumbers) {
  for (const char* ok : {"SIGTERM", "SIGKILL", "SIGRTMIN", "SIGRTMIN+3", "SIGRTMAX-2", "9", "64"}) {
    EXPECT_TRUE(check_signal(ok).ok()) << ok;
  }
  for (const char* bad : {"TERM", "SIGFOO", "0", "65", "SIGRTMIN+0", "sigterm"}) {
    EXPECT_FALSE(check_signal(bad).ok()) << bad;
  }
  EXPECT_EQ(check_signal("TERM").error().message(),
            "'TERM' is not a signal name like \"SIGTERM\" or a number 1..64; did you mean "
            "'SIGTERM'?");
}

TEST(SpecValues, PinnedImagesSplitAtTheLastAt) {
  std::string hex(64, 'b');
  auto pinned = parse_pinned_image("./a@b/layout@sha256:" + hex);
  ASSERT_TRUE(pinned.ok());
  EXPECT_EQ(pinned->first, "./a@b/layout");
  EXPECT_EQ(pinned->second.hex, hex);
  auto not_pinned = [](const std::string& text) {
    return "'" + text + "' is not an image pinned by digest like \"./layout@sha256:<64 hex>\"";
  };
  EXPECT_EQ(parse_pinned_image("@sha256:" + hex).error().message(), not_pinned("@sha256:" + hex));
  std::string upper = "x@sha256:" + std::string(64, 'B');
  EXPECT_EQ(parse_pinned_image(upper).error().message(), not_pinned(upper));
  EXPECT_EQ(parse_pinned_image("x:latest").error().message(), not_pinned("x:latest"));
}

TEST(SpecValues, MachineNamesMapToGoarch) {
  EXPECT_EQ(*goarch_for_machine("x86_64"), "amd64");
  EXPECT_EQ(*goarch_for_machine("aarch64"), "arm64");
  EXPECT_EQ(goarch_for_machine("vax").error().code(), ErrorCode::kUnsupported);
}

TEST(SpecValues, NamesOfAccountsAndEnvironment) {
  EXPECT_TRUE(is_account_name("app"));
  EXPECT_TRUE(is_account_name("_apt"));
  EXPECT_TRUE(is_account_name("machine$"));
  EXPECT_FALSE(is_account_name("App"));
  EXPECT_FALSE(is_account_name("a:b"));
  EXPECT_TRUE(is_shell_name("CFLAGS"));
  EXPECT_FALSE(is_shell_name("1A"));
  EXPECT_FALSE(is_shell_name("A-B"));
  EXPECT_TRUE(is_config_env_name("A-B.c"));
  EXPECT_FALSE(is_config_env_name("A=B"));
  EXPECT_TRUE(is_entry_name("gcc-c++"));
  EXPECT_FALSE(is_entry_name("a/b"));
}

TEST(Suggest, EditDistanceCountsTranspositionsAsOne) {
  EXPECT_EQ(edit_distance("nmae", "name"), 1u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

TEST(Suggest, OnlyCloseCandidatesAreSuggested) {
  std::vector<std::string> keys = {"name", "version", "image", "packages"};
  EXPECT_EQ(closest_match("nmae", keys), "name");
  EXPECT_EQ(closest_match("VERSION", keys), "version");
  EXPECT_EQ(closest_match("pacakges", keys), "packages");
  EXPECT_EQ(closest_match("zzz", keys), std::nullopt);
  EXPECT_EQ(closest_match("nm", keys), std::nullopt);  // too short to guess
  EXPECT_EQ(did_you_mean("imgae", keys), "; did you mean 'image'?");
  EXPECT_EQ(did_you_mean("colour", keys), "");
}

TEST(Diagnostics, CaretSitsUnderTheColumn) {
  EXPECT_EQ(format_diagnostic({{"f.yaml", 2, 5}, "bad"}, "a: 1\nbb: xyz\n"),
            "f.yaml:2:5: error: bad\nbb: xyz\n    ^");
}

TEST(Diagnostics, LineOutsideTheSourceHasNoCaret) {
  EXPECT_EQ(format_diagnostic({{"f.yaml", 9, 1}, "bad"}, "a: 1\n"), "f.yaml:9:1: error: bad");
}

TEST(Diagnostics, ReportSortsByPositionAndCounts) {
  std::string source = "a: 1\nb: 2\n";
  EXPECT_EQ(format_report({{{"f", 2, 1}, "second"}, {{"f", 1, 4}, "first"}}, source),
            "f:1:4: error: first\na: 1\n   ^\nf:2:1: error: second\nb: 2\n^\n2 errors in f");
  Error e = report_error({{{"f", 1, 1}, "only"}}, source);
  EXPECT_EQ(e.code(), ErrorCode::kSpec);
  EXPECT_FALSE(e.loc().has_value());
  EXPECT_EQ(e.to_string(), "f:1:1: error: only\na: 1\n^");
}

}  // namespace
}  // namespace strata::specs
