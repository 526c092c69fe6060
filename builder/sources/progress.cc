#include "builder/sources/progress.h"

#include <fmt/format.h>
#include <unistd.h>

namespace strata::builder::sources {
namespace {

// Redrawing on every libcurl callback would flood a slow terminal; redraw after this much
// progress (or at the end) instead, which needs no clock.
constexpr int64_t kRedrawStepBytes = 256 * 1024;

void write_best_effort(int fd, std::string_view text) {
  while (!text.empty()) {
    ssize_t n = ::write(fd, text.data(), text.size());
    if (n <= 0) return;  // a broken terminal must not fail the download
    text.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

std::unique_ptr<TerminalProgress> TerminalProgress::for_terminal(int fd) {
  if (::isatty(fd) != 1) return nullptr;
  return std::make_unique<TerminalProgress>(fd);
}

std::string human_size(int64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  if (bytes < 1024 * 1024) return fmt::format("{} KiB", bytes / 1024);
  return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
}

void TerminalProgress::update(std::string_view label, int64_t done_bytes, int64_t total_bytes) {
  bool complete = total_bytes > 0 && done_bytes >= total_bytes;
  if (last_drawn_bytes_ >= 0 && done_bytes - last_drawn_bytes_ < kRedrawStepBytes && !complete) {
    return;
  }
  if (done_bytes == last_drawn_bytes_) return;
  last_drawn_bytes_ = done_bytes;
  std::string line;
  if (total_bytes > 0) {
    line = fmt::format("\r\033[Kfetching {}  {} / {}  {}%", label, human_size(done_bytes),
                       human_size(total_bytes), done_bytes * 100 / total_bytes);
  } else {
    line = fmt::format("\r\033[Kfetching {}  {}", label, human_size(done_bytes));
  }
  write_best_effort(fd_, line);
  line_drawn_ = true;
}

void TerminalProgress::finish(std::string_view) {
  // Erase the line: the build's own output continues where it started.
  if (line_drawn_) write_best_effort(fd_, "\r\033[K");
  line_drawn_ = false;
  last_drawn_bytes_ = -1;
}

}  // namespace strata::builder::sources
