// Placeholder: `strata sandbox` lands with the sandbox library (issue 3).
#include "builder/cli/commands.h"

namespace strata::builder::cli {

void register_sandbox(CLI::App&, Command&) {}

}  // namespace strata::builder::cli
