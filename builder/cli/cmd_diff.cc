// `strata diff IMAGE_A IMAGE_B`: compares two OCI layouts or archives, index to files (see
// docs/diff.md). Exit 0 when they are the same, 1 when they differ, 2 on trouble.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "builder/cli/commands.h"
#include "builder/cli/format.h"
#include "builder/diff/docker_archive.h"
#include "builder/diff/image_diff.h"

namespace strata::builder::cli {
namespace {

struct DiffArgs {
  std::string image_a;
  std::string image_b;
  bool json = false;
  bool semantic = false;
  bool all = false;
  std::vector<std::string> ignore;
};

Result<oci::ImageView> open_named(const std::string& image) {
  auto [path, tag] = split_tag(image);
  return diff::open_any_image(path, tag);
}

// Like diff(1): 0 same, 1 different, 2 trouble. An image that cannot be opened or read is
// trouble, never "different", so scripts can tell the two apart by the exit code alone.
Result<diff::ImageDiff> compare(const DiffArgs& args) {
  STRATA_TRY_ASSIGN(oci::ImageView a, open_named(args.image_a));
  STRATA_TRY_ASSIGN(oci::ImageView b, open_named(args.image_b));
  return diff::diff_images(a, b, {.semantic = args.semantic, .ignore = args.ignore});
}

Result<int> run_diff(const DiffArgs& args) {
  STRATA_TRY(diff::check_ignore(args.ignore));
  auto compared = compare(args);
  if (!compared.ok())
    return Error(ErrorCode::kUsage, "strata diff: " + compared.error().to_string());
  const diff::ImageDiff& result = *compared;
  if (args.json) {
    print_json(diff::diff_to_json(result));
  } else {
    fmt::print("{}", diff::format_diff(result, {.all = args.all}));
  }
  return result.is_same() ? 0 : 1;
}

}  // namespace

void register_diff(CLI::App& app, Command& run) {
  auto args = std::make_shared<DiffArgs>();
  auto* cmd = app.add_subcommand(
      "diff", "Compare two images: index, manifest, config, layers and the files in them");
  cmd->add_option("IMAGE_A", args->image_a, "An OCI layout directory or archive, optionally :TAG")
      ->required();
  cmd->add_option("IMAGE_B", args->image_b, "The image to compare it with")->required();
  cmd->add_flag("--json", args->json, "Print one JSON object (every path, never capped)");
  cmd->add_flag("--all", args->all,
                "Print every differing path (by default at most 50 per layer, then a count)");
  cmd->add_flag("--semantic", args->semantic,
                "Compare what runs, across builders: ignore timestamps, history, owner names, "
                "entry order and packaging; compare the merged filesystems");
  cmd->add_option("--ignore", args->ignore,
                  fmt::format("Leave these aspects out (comma-separated): {}",
                              fmt::join(diff::ignorable_aspects(), ", ")))
      ->delimiter(',');
  cmd->footer(
      "Exit status: 0 the images are the same, 1 they differ, 2 an image could not be "
      "opened or read (or a usage error).");
  cmd->callback([&run, args] { run = [args] { return run_diff(*args); }; });
}

}  // namespace strata::builder::cli
