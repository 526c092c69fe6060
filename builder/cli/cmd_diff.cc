// Placeholder until `strata diff` lands (issue 6, in progress).
#include "builder/cli/commands.h"

namespace strata::builder::cli {
void register_diff(CLI::App&, Command&) {}
}  // namespace strata::builder::cli
