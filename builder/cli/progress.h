// The build's progress on a terminal, like BuildKit's display: a frame of a summary line and
// one line per running package (its current step and how long that step has run), fitted to
// the terminal's width and redrawn in place (cursor up over the previous frame, erase below)
// on every event and ten times a second. Anything else printed while a frame is shown goes
// through print() or follows clear(), so it starts on a clean line.
//
// render_frame() is the pure part (state + width + now -> lines); ProgressDisplay owns the
// terminal, a ticker thread and the SIGWINCH flag. Not a terminal: package_options.cc prints
// plain lines itself and no display is used.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace strata::builder::cli {

using ProgressClock = std::chrono::steady_clock;

struct RunningPackage {
  std::string name;
  size_t step = 0;  // 0 = started, no step yet
  size_t step_count = 0;
  std::string command;
  ProgressClock::time_point since;    // when the current step (or the package) started
  ProgressClock::time_point started;  // when the package started
};

struct ProgressState {
  size_t total = 0;                     // packages in the build
  size_t done = 0;                      // built or cached
  std::vector<RunningPackage> running;  // in the order they started
  ProgressClock::time_point started;    // the build's start
};

// The number of cells `text` (UTF-8) takes on a terminal: combining marks 0, East Asian wide
// and emoji 2, everything else 1 (an invalid byte counts as one).
size_t display_cells(std::string_view text);

// `text` with control characters (newlines, tabs, escapes) and invalid UTF-8 replaced by
// spaces and '?', cut to at most `cells` cells, ending in "…" when cut.
std::string fit_cells(std::string_view text, size_t cells);

// "0.4s", "12.3s", "1m05s", "2h03m".
std::string format_elapsed(ProgressClock::duration d);

// The frame's lines, none wider than `width` cells and at most max(rows - 1, 2) of them:
//   [1/3 done] 2 running  14.2s
//   [hello] step 2/3 make -j2  12.3s
//   [world] starting  0.2s
// Running packages that do not fit are summed up as "… and N more".
std::vector<std::string> render_frame(const ProgressState& state, int width, int rows,
                                      ProgressClock::time_point now);

// The display on one terminal descriptor. Thread-safe: the scheduler reports from worker
// threads.
class ProgressDisplay {
 public:
  explicit ProgressDisplay(int fd);
  ~ProgressDisplay();
  ProgressDisplay(const ProgressDisplay&) = delete;
  ProgressDisplay& operator=(const ProgressDisplay&) = delete;

  // The process's display on stderr, or null when stderr is not a terminal.
  static ProgressDisplay* for_stderr();

  // Changes the state under the lock and redraws. `change(state)` returns a line (or "") to
  // print above the frame, which stays when the frame moves on.
  template <typename F>
  void update(F&& change) {
    std::lock_guard lock(mu_);
    std::string permanent = change(state_);
    if (active_ || !permanent.empty()) redraw_locked(permanent);
  }
  // Starts a new build of `total` packages: resets the state and shows the frame.
  void begin(size_t total);
  // Erases the frame and stops drawing until the next begin(). main() calls it before it
  // prints an error; a finished build (every package done) erases it on its own.
  void clear();
  // Erases the frame, prints `text` (a whole line, '\n' added) and draws the frame again.
  void print(std::string_view text);

 private:
  void redraw_locked(std::string_view permanent);
  void erase_locked(std::string& out);
  void write_all(const std::string& out);
  void tick();
  void stop_ticker();

  int fd_;
  std::mutex mu_;
  std::condition_variable cv_;
  ProgressState state_;
  bool active_ = false;  // between begin() and the last package done or clear()
  size_t drawn_lines_ = 0;
  int width_ = 80, rows_ = 24;
  bool stop_ = false;
  std::thread ticker_;
};

// Erases the progress frame on stderr if one is shown (main() calls it before printing
// errors; safe when there is no display).
void clear_progress();
// Prints `text` as a line on stderr through the display (above the frame), or directly.
void print_progress_line(std::string_view text);

}  // namespace strata::builder::cli
