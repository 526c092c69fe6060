// `strata hash PATH...`: the sha256 a spec pins for a `path:` source (a file's bytes, a
// directory's strata-det/1 tar; see docs/sources.md), printed as "sha256:<hex>  PATH".
#include <fmt/format.h>

#include <memory>
#include <string>
#include <vector>

#include "builder/cli/commands.h"
#include "builder/sources/path_source.h"

namespace strata::builder::cli {

void register_hash(CLI::App& app, Command& run) {
  auto* cmd = app.add_subcommand(
      "hash", "Print the sha256 to pin for a local file or directory (a path: source)");
  auto paths = std::make_shared<std::vector<std::string>>();
  cmd->add_option("PATH", *paths, "Files or directories")->required();
  cmd->callback([&run, paths] {
    run = [paths]() -> Result<int> {
      for (const std::string& path : *paths) {
        STRATA_TRY_ASSIGN_CONTEXT(Digest digest, sources::path_digest(path), "hashing " + path);
        fmt::print("{}  {}\n", digest.str(), path);
      }
      return 0;
    };
  });
}

}  // namespace strata::builder::cli
