#include "builder/oci/image_config.h"

#include <fmt/format.h>

#include "builder/base/time.h"
#include "builder/oci/media_types.h"

namespace strata::builder::oci {
namespace {

Json string_array(const std::vector<std::string>& values) {
  Json out = Json::array();
  for (const auto& v : values) out.push_back(v);
  return out;
}

// Go's map[string]struct{}: {"8080/tcp":{}}; a bare port means tcp.
Json empty_object_set(const std::vector<std::string>& keys, bool ports) {
  Json out = Json::object();
  for (const auto& k : keys) {
    std::string key = (ports && k.find('/') == std::string::npos) ? k + "/tcp" : k;
    out[key] = Json::object();
  }
  return out;
}

Json execution_config(const specs::ImageConfig& c) {
  Json out = Json::object();
  if (c.entrypoint) out["Entrypoint"] = string_array(*c.entrypoint);
  if (c.cmd) out["Cmd"] = string_array(*c.cmd);
  if (!c.env.empty()) {
    Json env = Json::array();
    for (const auto& [k, v] : c.env) env.push_back(k + "=" + v);
    out["Env"] = std::move(env);
  }
  if (!c.workdir.empty()) out["WorkingDir"] = c.workdir;
  if (!c.user.empty()) out["User"] = c.user;
  if (!c.labels.empty()) out["Labels"] = Json(c.labels);
  if (!c.ports.empty()) out["ExposedPorts"] = empty_object_set(c.ports, true);
  if (!c.volumes.empty()) out["Volumes"] = empty_object_set(c.volumes, false);
  if (!c.stop_signal.empty()) out["StopSignal"] = c.stop_signal;
  return out;
}

}  // namespace

Json make_config(const specs::Image& image, int64_t epoch, const std::vector<LayerBlob>& layers,
                 const std::vector<HistoryEntry>& history) {
  STRATA_CHECK(layers.size() == history.size());
  std::string created = rfc3339_utc(epoch);
  Json diff_ids = Json::array();
  for (const auto& l : layers) diff_ids.push_back(l.diff_id.str());
  Json hist = Json::array();
  for (const auto& h : history) {
    Json entry = {{"created", created}, {"created_by", h.created_by}};
    if (!h.comment.empty()) entry["comment"] = h.comment;
    hist.push_back(std::move(entry));
  }
  Json config = {{"architecture", image.architecture},
                 {"os", image.os},
                 {"created", created},
                 {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}},
                 {"history", hist}};
  Json exec = execution_config(image.config);
  if (!exec.empty()) config["config"] = std::move(exec);
  return config;
}

Json Descriptor::to_json() const {
  return {{"mediaType", media_type}, {"digest", digest.str()}, {"size", size}};
}

Json make_manifest(const Descriptor& config, const std::vector<LayerBlob>& layers,
                   const std::map<std::string, std::string>& annotations) {
  Json layer_list = Json::array();
  for (const auto& l : layers) {
    layer_list.push_back(Descriptor{l.media_type, l.digest, l.size}.to_json());
  }
  Json manifest = {{"schemaVersion", 2},
                   {"mediaType", kManifestMediaType},
                   {"config", config.to_json()},
                   {"layers", layer_list}};
  if (!annotations.empty()) manifest["annotations"] = Json(annotations);
  return manifest;
}

}  // namespace strata::builder::oci
