// Placeholder until `strata verify` lands (issue 6, in progress).
#include "builder/cli/commands.h"

namespace strata::builder::cli {
void register_verify(CLI::App&, Command&) {}
}  // namespace strata::builder::cli
