#include "builder/base/interrupt.h"

#include <fmt/format.h>

#include <atomic>
#include <csignal>

namespace strata {
namespace {

std::atomic<int> received{0};

extern "C" void on_interrupt(int sig) {
  int expected = 0;
  if (!received.compare_exchange_strong(expected, sig)) {
    // A second signal: the user insists, stop now (temporaries are swept by the next run).
    ::signal(sig, SIG_DFL);
    ::raise(sig);
  }
}

}  // namespace

void install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM}) ::sigaction(sig, &sa, nullptr);
}

int interrupt_signal() { return received.load(std::memory_order_relaxed); }

Result<void> check_interrupted() {
  int sig = interrupt_signal();
  if (sig == 0) return Ok{};
  return Error(ErrorCode::kBuild,
               fmt::format("interrupted by {}", sig == SIGINT ? "SIGINT" : "SIGTERM"));
}

void reraise_interrupt() {
  int sig = interrupt_signal();
  if (sig == 0) return;
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

}  // namespace strata
