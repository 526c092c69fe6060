// `strata inspect IMAGE[:TAG]`: digests, layers (size, entry count) and the config of an OCI
// layout or archive, every blob checked against its digest on the way.
#include <fmt/format.h>

#include "builder/base/json.h"
#include "builder/cli/commands.h"
#include "builder/cli/format.h"
#include "builder/oci/image_reader.h"
#include "builder/tar/layer_reader.h"

namespace strata::builder::cli {
namespace {

struct InspectArgs {
  std::string image;
  bool json = false;
};

struct LayerInfo {
  oci::Descriptor descriptor;
  std::string diff_id;
  int64_t entries = 0;
};

Result<LayerInfo> inspect_layer(const oci::ImageView& view, size_t i) {
  const oci::Descriptor& d = view.layers[i];
  std::string path = view.blob_path(d.digest);
  STRATA_TRY_ASSIGN(Digest actual, sha256_file(path));
  if (actual != d.digest) {
    return Error(ErrorCode::kDigestMismatch,
                 fmt::format("layer {} ({}): digest mismatch: expected {}, actual {}", i + 1, path,
                             d.digest.str(), actual.str()));
  }
  LayerInfo info{.descriptor = d};
  STRATA_TRY_ASSIGN(info.entries,
                    read_layer_file(path, [](const ReadEntry&) -> Result<void> { return Ok{}; }));
  const Json& diff_ids = member(member(view.config, "rootfs"), "diff_ids");
  if (diff_ids.is_array() && i < diff_ids.size() && diff_ids[i].is_string())
    info.diff_id = diff_ids[i].get<std::string>();
  return info;
}

void print_human(const oci::ImageView& view, const std::vector<LayerInfo>& layers) {
  const Json& c = view.config;
  fmt::print("image     {}{}\n", view.source, view.ref_name.empty() ? "" : ":" + view.ref_name);
  fmt::print("manifest  {} ({})\n", view.manifest_descriptor.digest.str(),
             human_size(view.manifest_descriptor.size));
  fmt::print("config    {} ({})\n", view.config_descriptor.digest.str(),
             human_size(view.config_descriptor.size));
  fmt::print("platform  {}/{}\n", c.value("os", "?"), c.value("architecture", "?"));
  if (c.contains("created")) fmt::print("created   {}\n", c["created"].get<std::string>());
  fmt::print("layers    {}\n", layers.size());
  int64_t total = 0;
  for (size_t i = 0; i < layers.size(); ++i) {
    const LayerInfo& l = layers[i];
    total += l.descriptor.size;
    fmt::print("  {:>2}  {}  {:>10}  {:>6} entries  {}\n", i + 1, short_digest(l.descriptor.digest),
               human_size(l.descriptor.size), l.entries, l.descriptor.media_type);
  }
  fmt::print("          total {}\n", human_size(total));
  if (c.contains("config")) {
    fmt::print("config:\n");
    for (const auto& [key, value] : c["config"].items()) {
      fmt::print("  {:<13} {}\n", key, value.dump(-1, ' ', false, Json::error_handler_t::replace));
    }
  }
}

Result<int> run_inspect(const InspectArgs& args) {
  auto [path, tag] = split_tag(args.image);
  STRATA_TRY_ASSIGN(oci::ImageView view, oci::open_image(path, tag));
  std::vector<LayerInfo> layers;
  for (size_t i = 0; i < view.layers.size(); ++i) {
    STRATA_TRY_ASSIGN(LayerInfo info, inspect_layer(view, i));
    layers.push_back(std::move(info));
  }
  if (!args.json) {
    print_human(view, layers);
    return 0;
  }
  Json layer_list = Json::array();
  for (const LayerInfo& l : layers) {
    Json j = l.descriptor.to_json();
    j["entries"] = l.entries;
    if (!l.diff_id.empty()) j["diff_id"] = l.diff_id;
    layer_list.push_back(std::move(j));
  }
  Json out = {{"image", view.source},
              {"manifest", view.manifest_descriptor.to_json()},
              {"config_descriptor", view.config_descriptor.to_json()},
              {"layers", layer_list},
              {"config", view.config}};
  if (!view.ref_name.empty()) out["tag"] = view.ref_name;
  print_json(out);
  return 0;
}

}  // namespace

void register_inspect(CLI::App& app, Command& run) {
  auto args = std::make_shared<InspectArgs>();
  auto* cmd = app.add_subcommand("inspect", "Show an image's digests, layers and config");
  cmd->add_option("IMAGE", args->image, "An OCI layout directory or archive, optionally :TAG")
      ->required();
  cmd->add_flag("--json", args->json, "Print one JSON object");
  cmd->callback([&run, args] { run = [args] { return run_inspect(*args); }; });
}

}  // namespace strata::builder::cli
