// TerminalProgress: one status line per download, redrawn in place on a terminal. Logs and
// CI output stay quiet: for_terminal() gives none when the descriptor is not a terminal.
#pragma once

#include <memory>

#include "builder/sources/fetcher.h"

namespace strata::builder::sources {

class TerminalProgress : public ProgressSink {
 public:
  explicit TerminalProgress(int fd) : fd_(fd) {}
  // A TerminalProgress drawing on `fd` if it is a terminal (isatty), else null. main()
  // passes STDERR_FILENO.
  static std::unique_ptr<TerminalProgress> for_terminal(int fd);

  void update(std::string_view label, int64_t done_bytes, int64_t total_bytes) override;
  void finish(std::string_view label) override;

 private:
  int fd_;
  int64_t last_drawn_bytes_ = -1;
  bool line_drawn_ = false;
};

// "1.5 MiB", "812 KiB", "17 B": sizes as the progress line shows them.
std::string human_size(int64_t bytes);

}  // namespace strata::builder::sources
