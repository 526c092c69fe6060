#include "builder/cli/commands.h"

namespace strata::builder::cli {

void register_inspect(CLI::App&, Command&) {}

}  // namespace strata::builder::cli
