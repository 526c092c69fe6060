#include "builder/cli/progress.h"

#include <fmt/format.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <memory>

namespace strata::builder::cli {
namespace {

// Set by the SIGWINCH handler (nothing else is safe there); the next redraw or tick re-reads
// the size.
volatile std::sig_atomic_t g_resized = 0;
extern "C" void on_sigwinch(int) { g_resized = 1; }

struct Char {
  std::string_view bytes;
  int cells;
};

bool in(char32_t c, char32_t lo, char32_t hi) { return c >= lo && c <= hi; }

int cells_of(char32_t c) {
  if (c < 0x20 || in(c, 0x7f, 0x9f)) return 1;  // shown as a space
  if (in(c, 0x0300, 0x036f) || in(c, 0x0483, 0x0489) || in(c, 0x0591, 0x05bd) ||
      in(c, 0x0610, 0x061a) || in(c, 0x064b, 0x065f) || in(c, 0x1ab0, 0x1aff) ||
      in(c, 0x1dc0, 0x1dff) || in(c, 0x200b, 0x200f) || in(c, 0x20d0, 0x20ff) ||
      in(c, 0xfe00, 0xfe0f) || in(c, 0xfe20, 0xfe2f)) {
    return 0;
  }
  if (in(c, 0x1100, 0x115f) || in(c, 0x2e80, 0x303e) || in(c, 0x3041, 0x33ff) ||
      in(c, 0x3400, 0x4dbf) || in(c, 0x4e00, 0x9fff) || in(c, 0xa000, 0xa4cf) ||
      in(c, 0xac00, 0xd7a3) || in(c, 0xf900, 0xfaff) || in(c, 0xfe30, 0xfe4f) ||
      in(c, 0xff00, 0xff60) || in(c, 0xffe0, 0xffe6) || in(c, 0x1f300, 0x1f64f) ||
      in(c, 0x1f900, 0x1f9ff) || in(c, 0x20000, 0x2fffd) || in(c, 0x30000, 0x3fffd)) {
    return 2;
  }
  return 1;
}

// The characters of `text`, each as the bytes to print: control characters become a space and
// invalid UTF-8 a '?', so nothing printed can move the cursor.
std::vector<Char> decode(std::string_view text) {
  std::vector<Char> out;
  size_t i = 0;
  while (i < text.size()) {
    auto b = static_cast<unsigned char>(text[i]);
    size_t len = b < 0x80           ? 1
                 : (b >> 5) == 0x6  ? 2
                 : (b >> 4) == 0xe  ? 3
                 : (b >> 3) == 0x1e ? 4
                                    : 0;
    char32_t c = len == 1 ? b : len == 2 ? (b & 0x1f) : len == 3 ? (b & 0x0f) : (b & 0x07);
    bool valid = len != 0 && i + len <= text.size();
    for (size_t k = 1; valid && k < len; ++k) {
      auto cont = static_cast<unsigned char>(text[i + k]);
      if ((cont & 0xc0) != 0x80) valid = false;
      c = (c << 6) | (cont & 0x3f);
    }
    if (valid && len > 1) {
      // Overlong forms, surrogates and values past U+10FFFF are invalid too.
      static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
      valid = c >= kMin[len] && c <= 0x10ffff && !in(c, 0xd800, 0xdfff);
    }
    if (!valid) {
      out.push_back({"?", 1});
      ++i;
      continue;
    }
    if (c < 0x20 || in(c, 0x7f, 0x9f)) {
      out.push_back({" ", 1});
    } else {
      out.push_back({text.substr(i, len), cells_of(c)});
    }
    i += len;
  }
  return out;
}

// A step's command on one line: whitespace runs (newlines of a multi-line step) become one
// space.
std::string one_line(std::string_view command) {
  std::string out;
  for (const Char& ch : decode(command)) {
    if (ch.bytes == " " && (out.empty() || out.back() == ' ')) continue;
    out += ch.bytes;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string package_line(const RunningPackage& p, size_t width, ProgressClock::time_point now) {
  std::string head = p.step == 0 ? fmt::format("[{}] starting", p.name)
                                 : fmt::format("[{}] step {}/{} ", p.name, p.step, p.step_count);
  std::string command = p.step == 0 ? "" : one_line(p.command);
  std::string suffix = "  " + format_elapsed(now - p.since);
  size_t fixed = display_cells(head) + display_cells(suffix);
  // Cut the command first, so the package and the time stay visible.
  if (fixed + 2 <= width)
    return fit_cells(head, width) + fit_cells(command, width - fixed) + suffix;
  return fit_cells(head + command + suffix, width);
}

}  // namespace

size_t display_cells(std::string_view text) {
  size_t n = 0;
  for (const Char& ch : decode(text)) n += static_cast<size_t>(ch.cells);
  return n;
}

std::string fit_cells(std::string_view text, size_t cells) {
  std::vector<Char> chars = decode(text);
  size_t total = 0;
  for (const Char& ch : chars) total += static_cast<size_t>(ch.cells);
  std::string out;
  if (total <= cells) {
    for (const Char& ch : chars) out += ch.bytes;
    return out;
  }
  if (cells == 0) return out;
  size_t used = 0;
  for (const Char& ch : chars) {
    if (used + static_cast<size_t>(ch.cells) > cells - 1) break;
    out += ch.bytes;
    used += static_cast<size_t>(ch.cells);
  }
  return out + "…";
}

std::string format_elapsed(ProgressClock::duration d) {
  auto tenths = std::chrono::duration_cast<std::chrono::milliseconds>(d).count() / 100;
  if (tenths < 0) tenths = 0;
  if (tenths < 600) return fmt::format("{}.{}s", tenths / 10, tenths % 10);
  int64_t s = tenths / 10;
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m", s / 3600, (s / 60) % 60);
}

std::vector<std::string> render_frame(const ProgressState& state, int width, int rows,
                                      ProgressClock::time_point now) {
  size_t w = width > 0 ? static_cast<size_t>(width) : 80;
  size_t max_lines = static_cast<size_t>(std::max(rows - 1, 2));
  std::vector<std::string> lines;
  std::string summary = fmt::format("[{}/{} done]", state.done, state.total);
  if (!state.running.empty()) summary += fmt::format(" {} running", state.running.size());
  summary += "  " + format_elapsed(now - state.started);
  lines.push_back(fit_cells(summary, w));
  size_t shown = state.running.size();
  if (1 + shown > max_lines) shown = max_lines - 2;
  for (size_t i = 0; i < shown; ++i) lines.push_back(package_line(state.running[i], w, now));
  if (shown < state.running.size()) {
    lines.push_back(fit_cells(fmt::format("… and {} more", state.running.size() - shown), w));
  }
  return lines;
}

ProgressDisplay::ProgressDisplay(int fd) : fd_(fd) {}

ProgressDisplay::~ProgressDisplay() { stop_ticker(); }

ProgressDisplay* ProgressDisplay::for_stderr() {
  static std::unique_ptr<ProgressDisplay> display = []() -> std::unique_ptr<ProgressDisplay> {
    if (::isatty(STDERR_FILENO) != 1) return nullptr;
    struct sigaction sa {};
    sa.sa_handler = on_sigwinch;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGWINCH, &sa, nullptr);
    g_resized = 1;
    return std::make_unique<ProgressDisplay>(STDERR_FILENO);
  }();
  return display.get();
}

void ProgressDisplay::begin(size_t total) {
  std::lock_guard lock(mu_);
  state_ = ProgressState{.total = total, .started = ProgressClock::now()};
  active_ = true;
  if (!ticker_.joinable()) ticker_ = std::thread([this] { tick(); });
  redraw_locked({});
  cv_.notify_all();
}

void ProgressDisplay::clear() {
  std::lock_guard lock(mu_);
  active_ = false;
  std::string out;
  erase_locked(out);
  write_all(out);
}

void ProgressDisplay::print(std::string_view text) {
  std::lock_guard lock(mu_);
  redraw_locked(text);
}

void ProgressDisplay::erase_locked(std::string& out) {
  // The cursor is at the start of the line below the frame: go up over it, erase to the end.
  if (drawn_lines_ > 0) out += fmt::format("\r\033[{}A\033[J", drawn_lines_);
  drawn_lines_ = 0;
}

void ProgressDisplay::redraw_locked(std::string_view permanent) {
  if (g_resized) {
    g_resized = 0;
    struct winsize ws {};
    if (::ioctl(fd_, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
      width_ = ws.ws_col;
      rows_ = ws.ws_row > 0 ? ws.ws_row : 24;
    }
  }
  if (state_.done >= state_.total) active_ = false;  // every package done (or none)
  std::string out;
  erase_locked(out);
  if (!permanent.empty()) out += fmt::format("{}\n", permanent);
  if (active_) {
    for (const std::string& line : render_frame(state_, width_, rows_, ProgressClock::now())) {
      out += line;
      out += '\n';
      ++drawn_lines_;
    }
  }
  write_all(out);
}

void ProgressDisplay::write_all(const std::string& out) {
  size_t off = 0;
  while (off < out.size()) {
    ssize_t n = ::write(fd_, out.data() + off, out.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // best effort: progress never fails a build
    off += static_cast<size_t>(n);
  }
}

void ProgressDisplay::tick() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait(lock, [this] { return stop_ || active_; });
    if (stop_) break;
    cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stop_; });
    if (!stop_ && active_) redraw_locked({});
  }
}

void ProgressDisplay::stop_ticker() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (ticker_.joinable()) ticker_.join();
}

void clear_progress() {
  if (ProgressDisplay* d = ProgressDisplay::for_stderr()) d->clear();
}

void print_progress_line(std::string_view text) {
  if (ProgressDisplay* d = ProgressDisplay::for_stderr()) {
    d->print(text);
  } else {
    fmt::print(stderr, "{}\n", text);
  }
}

}  // namespace strata::builder::cli
