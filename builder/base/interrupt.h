// SIGINT and SIGTERM turned into a flag: main() installs the handlers, and long-running code
// (the sandbox supervisor, the pipeline between its stages, lock waits) polls the flag and
// fails like any error, so every temporary is removed on the normal error path.
#pragma once

#include "builder/base/result.h"

namespace strata {

// Installs handlers for SIGINT and SIGTERM (SA_RESTART) that record the signal. A second
// signal of either kind while the first is handled ends the process at once.
void install_interrupt_handlers();

// The signal received since install_interrupt_handlers, or 0.
int interrupt_signal();
inline bool is_interrupted() { return interrupt_signal() != 0; }

// kBuild "interrupted by SIGINT" once a signal arrived; Ok otherwise.
Result<void> check_interrupted();

// Ends the process with the signal received (default action), after the caller cleaned up;
// returns when no signal arrived.
void reraise_interrupt();

}  // namespace strata
