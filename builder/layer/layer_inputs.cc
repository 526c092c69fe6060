#include "builder/layer/layer_inputs.h"

#include <fmt/format.h>

#include "builder/tar/compressor.h"

namespace strata::builder {

Json layer_inputs_document(const LayerInputs& inputs, const LayerWriteOptions& options) {
  Json packages = Json::array();
  for (const Digest& d : inputs.packages) packages.push_back(d.str());
  Json lower = Json::array();
  for (const Digest& d : inputs.lower) lower.push_back(d.str());
  return {{"format", kLayerInputsFormat},
          {"compression", compression_name(options.compression)},
          {"compressors", compressor_versions()},
          {"profile", profile_name(options.profile)},
          {"epoch", std::to_string(options.mtime)},
          {"packages", std::move(packages)},
          {"files", inputs.files.str()},
          {"lower", std::move(lower)}};
}

Result<Digest> layer_input_key(const LayerInputs& inputs, const LayerWriteOptions& options) {
  STRATA_TRY_ASSIGN(std::string text, canonical_json(layer_inputs_document(inputs, options)));
  return sha256_of(text);
}

Result<Digest> entries_digest(const LayerEntries& entries, FileRecords* files) {
  Sha256 h;
  // Each field length-prefixed, so no two entry lists hash alike.
  auto field = [&](std::string_view v) {
    h.update(fmt::format("{}:", v.size()));
    h.update(v);
  };
  field("strata-layer-entries/1");
  STRATA_TRY(entries.for_each([&](const LayerEntry& e, bool) -> Result<void> {
    field(e.path);
    field(fmt::format("{} {:o} {} {} {}", static_cast<int>(e.type), e.mode, e.uid, e.gid, e.size));
    field(e.link_target);
    field(std::to_string(e.xattrs.size()));
    for (const auto& [k, v] : e.xattrs) {
      field(k);
      field(v);
    }
    Digest content;
    if (e.type == EntryType::kRegular && e.host_path.empty()) {
      content = sha256_of(e.content);
    } else if (e.type == EntryType::kRegular) {
      STRATA_TRY_ASSIGN_CONTEXT(content, sha256_file(e.host_path), "/" + e.path);
    }
    if (e.type == EntryType::kRegular) field(content.str());
    if (files != nullptr) {
      files->push_back({.path = e.path,
                        .type = e.type,
                        .mode = e.mode,
                        .uid = e.uid,
                        .gid = e.gid,
                        .size = e.type == EntryType::kRegular ? e.size : 0,
                        .sha256 = PackedDigest::of(content),
                        .link_target = e.link_target});
    }
    return Ok{};
  }));
  return h.finish();
}

}  // namespace strata::builder
