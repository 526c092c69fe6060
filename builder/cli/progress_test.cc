#include "builder/cli/progress.h"

#include <gtest/gtest.h>

namespace strata::builder::cli {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(DisplayCells, CountsCellsNotBytes) {
  EXPECT_EQ(display_cells("make -j2"), 8u);
  EXPECT_EQ(display_cells("café"), 4u);       // é is two bytes, one cell
  EXPECT_EQ(display_cells("e\xcc\x81"), 1u);  // e + combining acute
  EXPECT_EQ(display_cells("日本"), 4u);       // wide
  EXPECT_EQ(display_cells("\xff\xfe"), 2u);   // invalid bytes: one '?' each
  EXPECT_EQ(display_cells("…"), 1u);
}

TEST(FitCells, CutsByCellsWithAnEllipsis) {
  EXPECT_EQ(fit_cells("make -j2", 8), "make -j2");
  EXPECT_EQ(fit_cells("make -j2", 7), "make -…");
  EXPECT_EQ(fit_cells("make -j2", 1), "…");
  EXPECT_EQ(fit_cells("make -j2", 0), "");
  EXPECT_EQ(fit_cells("日本語", 4), "日…");  // never half a wide character
  EXPECT_EQ(fit_cells("éééé", 3), "éé…");    // never half a UTF-8 sequence
}

TEST(FitCells, NothingPrintedMovesTheCursor) {
  EXPECT_EQ(fit_cells("a\nb\tc\033[2Jd\r", 80), "a b c [2Jd ");
  EXPECT_EQ(fit_cells("\xc3(", 80), "?(");
}

TEST(FormatElapsed, TenthsThenMinutesThenHours) {
  EXPECT_EQ(format_elapsed(milliseconds(0)), "0.0s");
  EXPECT_EQ(format_elapsed(milliseconds(12345)), "12.3s");
  EXPECT_EQ(format_elapsed(seconds(65)), "1m05s");
  EXPECT_EQ(format_elapsed(seconds(2 * 3600 + 3 * 60 + 4)), "2h03m");
}

ProgressState two_running(ProgressClock::time_point t0) {
  ProgressState s{.total = 3, .done = 1, .started = t0};
  s.running.push_back({.name = "hello",
                       .step = 2,
                       .step_count = 3,
                       .command = "make -j2\n  CFLAGS=-O2 all",
                       .since = t0 + seconds(1),
                       .started = t0});
  s.running.push_back({.name = "world", .since = t0 + seconds(13), .started = t0});
  return s;
}

TEST(RenderFrame, OneLinePerRunningPackageWithElapsedTime) {
  auto t0 = ProgressClock::time_point();
  auto now = t0 + milliseconds(13300);
  std::vector<std::string> expected = {"[1/3 done] 2 running  13.3s",
                                       "[hello] step 2/3 make -j2 CFLAGS=-O2 all  12.3s",
                                       "[world] starting  0.3s"};
  EXPECT_EQ(render_frame(two_running(t0), 200, 50, now), expected);
}

TEST(RenderFrame, FitsTheWidthKeepingNameAndTime) {
  auto t0 = ProgressClock::time_point();
  auto now = t0 + milliseconds(13300);
  for (int width : {10, 20, 30, 40, 60}) {
    for (const std::string& line : render_frame(two_running(t0), width, 50, now)) {
      EXPECT_LE(display_cells(line), static_cast<size_t>(width)) << line;
    }
  }
  EXPECT_EQ(render_frame(two_running(t0), 31, 50, now)[1], "[hello] step 2/3 make -…  12.3s");
}

TEST(RenderFrame, FitsTheHeight) {
  auto t0 = ProgressClock::time_point();
  ProgressState s{.total = 10, .started = t0};
  for (int i = 0; i < 10; ++i) s.running.push_back({.name = "p" + std::to_string(i), .since = t0});
  std::vector<std::string> lines = render_frame(s, 80, 5, t0);
  ASSERT_EQ(lines.size(), 4u);  // rows - 1: the cursor's line stays free
  EXPECT_EQ(lines[1], "[p0] starting  0.0s");
  EXPECT_EQ(lines[3], "… and 8 more");
}

}  // namespace
}  // namespace strata::builder::cli
