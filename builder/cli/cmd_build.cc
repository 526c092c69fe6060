#include "builder/cli/commands.h"

namespace strata::builder::cli {

void register_build(CLI::App&, Command&) {}

}  // namespace strata::builder::cli
