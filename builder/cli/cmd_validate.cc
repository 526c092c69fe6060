// `strata validate SPEC`: parse and check a spec, reporting every error with its location.
#include <fmt/format.h>

#include "builder/cli/commands.h"
#include "builder/cli/package_options.h"
#include "builder/cli/platform.h"
#include "builder/pipeline.h"
#include "specs/parse.h"

namespace strata::builder::cli {

void register_validate(CLI::App& app, Command& run) {
  auto* cmd = app.add_subcommand("validate", "Parse and check a spec; report every error");
  auto spec_path = std::make_shared<std::string>();
  auto context = std::make_shared<std::string>();
  cmd->add_option("SPEC", *spec_path, "The spec file (strata/v1 YAML)")->required();
  add_context_option(cmd, *context);
  cmd->callback([&run, spec_path, context] {
    run = [spec_path, context]() -> Result<int> {
      STRATA_TRY_ASSIGN(specs::Spec spec, specs::load_spec(*spec_path, {.context = *context}));
      STRATA_TRY_ASSIGN(specs::Plan plan, specs::make_plan(spec, host_architecture()));
      STRATA_TRY(check_image(plan));
      fmt::print("{}: ok ({} layers, {} packages, {} sources)\n", *spec_path,
                 spec.image.layers.size(), spec.packages.size(), spec.sources.size());
      return 0;
    };
  });
}

}  // namespace strata::builder::cli
