#include "builder/base_image/base_image.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <limits>

#include "builder/oci/media_types.h"
#include "builder/oci/pinned_image.h"
#include "builder/tar/layer_reader.h"

namespace strata::builder::base_image {
namespace {

// The layer media types a base may use, as the OCI manifest strata writes will name them.
Result<std::string> oci_layer_media_type(const std::string& media_type) {
  static const std::map<std::string, std::string> kKnown = {
      {"application/vnd.oci.image.layer.v1.tar", "application/vnd.oci.image.layer.v1.tar"},
      {"application/vnd.oci.image.layer.v1.tar+gzip",
       "application/vnd.oci.image.layer.v1.tar+gzip"},
      {"application/vnd.oci.image.layer.v1.tar+zstd",
       "application/vnd.oci.image.layer.v1.tar+zstd"},
      {"application/vnd.docker.image.rootfs.diff.tar.gzip",
       "application/vnd.oci.image.layer.v1.tar+gzip"},
      {"application/vnd.docker.image.rootfs.diff.tar", "application/vnd.oci.image.layer.v1.tar"},
  };
  auto it = kKnown.find(media_type);
  if (it == kKnown.end()) {
    return Error(ErrorCode::kUnsupported,
                 fmt::format("layer media type '{}' cannot be reused (foreign or "
                             "non-distributable layers are not supported)",
                             media_type));
  }
  return it->second;
}

std::string index_annotation(const oci::ImageView& view, const char* key) {
  const Json& manifests = member(view.index, "manifests");
  if (!manifests.is_array()) return "";
  for (const Json& m : manifests) {
    if (string_member(m, "digest") == view.manifest_descriptor.digest.str()) {
      return string_member(member(m, "annotations"), key);
    }
  }
  return "";
}

Result<BaseLayer> base_layer(const oci::ImageView& view, const oci::Descriptor& d,
                             const Digest& diff_id) {
  STRATA_TRY_ASSIGN(std::string media_type, oci_layer_media_type(d.media_type));
  BaseLayer layer{.blob = {.digest = d.digest,
                           .diff_id = diff_id,
                           .size = d.size,
                           .media_type = std::move(media_type)},
                  .source_path = view.blob_path(d.digest)};
  // The blob's size against the descriptor: open_pinned_image checked it, for base and
  // environment images alike.
  return layer;
}

// Copies one blob through a hasher; the copy is committed only when the digest matches.
Result<void> copy_blob(const BaseLayer& layer, const std::string& blobs_dir) {
  std::string dest = fmt::format("{}/{}", blobs_dir, layer.blob.digest.hex);
  STRATA_TRY_ASSIGN(UniqueFd in, open_fd(layer.source_path, O_RDONLY));
  STRATA_TRY_ASSIGN(AtomicFile out, AtomicFile::create(dest));
  STRATA_TRY_ASSIGN(CopiedBytes copied,
                    copy_and_hash(in.get(), layer.source_path, out.fd(), out.temp_path()));
  const Digest& actual = copied.digest;
  if (actual != layer.blob.digest) {
    return Error(ErrorCode::kDigestMismatch,
                 fmt::format("{}: digest mismatch: expected {}, actual {}", layer.source_path,
                             layer.blob.digest.str(), actual.str()));
  }
  return out.commit(dest);
}

// The entries of a copied (so verified) base layer blob, in tar order, as strata's own
// layers record theirs: the SBOM lists the base's files and the build reports their count.
Result<void> read_base_layer_files(const std::string& blob_path, LayerBlob& blob) {
  LayerBlob read;
  STRATA_TRY(read_layer_files(blob_path, std::numeric_limits<int64_t>::max(), read));
  blob.files = std::move(read.files);
  blob.entry_count = read.entry_count;
  return Ok{};
}

// "K=V" entries: the base's order, values replaced in place, new keys appended.
Json merge_env(const Json& base, const Json& own) {
  Json out = base.is_array() ? base : Json::array();
  for (const Json& e : own) {
    if (!e.is_string()) continue;
    std::string entry = e.get<std::string>();
    std::string key = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (Json& b : out) {
      std::string have = b.is_string() ? b.get<std::string>() : "";
      if (have.substr(0, have.find('=')) == key) {
        b = entry;
        replaced = true;
      }
    }
    if (!replaced) out.push_back(entry);
  }
  return out;
}

Json merge_execution(const Json& base, const Json& own) {
  Json out = base.is_object() ? base : Json::object();
  if (own.is_object()) {
    for (const auto& [key, value] : own.items()) {
      if (key == "Env" && value.is_array()) {
        out[key] = merge_env(member(out, key), value);
      } else if ((key == "Labels" || key == "ExposedPorts" || key == "Volumes") &&
                 value.is_object()) {
        Json merged = member(out, key).is_object() ? member(out, key) : Json::object();
        merged.update(value);
        out[key] = std::move(merged);
      } else {
        out[key] = value;
      }
    }
  }
  // Like Docker's ENTRYPOINT: a new entrypoint resets the base's Cmd (its arguments were
  // meant for the base's entrypoint) unless the spec sets cmd too (`cmd: []` is "Cmd": []).
  if (member(own, "Entrypoint").is_array() && !own.contains("Cmd")) out.erase("Cmd");
  // Docker writes absent fields as null; strata omits them.
  for (auto it = out.begin(); it != out.end();) it = it->is_null() ? out.erase(it) : ++it;
  return out;
}

Json concat(const Json& first, const Json& second) {
  Json out = first.is_array() ? first : Json::array();
  if (second.is_array()) out.insert(out.end(), second.begin(), second.end());
  return out;
}

}  // namespace

Result<BaseImage> load_base_image(const specs::ImageRef& ref, const std::string& spec_dir) {
  STRATA_TRY_ASSIGN(oci::ImageView view, oci::open_pinned_image(ref, spec_dir));
  BaseImage base{.ref = ref, .manifest = view.manifest_descriptor, .config = view.config};
  STRATA_TRY_ASSIGN_CONTEXT(std::vector<Digest> diff_ids, layer_diff_ids(view),
                            "base image " + ref.name());
  for (size_t i = 0; i < view.layers.size(); ++i) {
    STRATA_TRY_ASSIGN_CONTEXT(BaseLayer layer, base_layer(view, view.layers[i], diff_ids[i]),
                              "base image " + ref.name());
    base.layers.push_back(std::move(layer));
  }
  base.annotations[kBaseDigestAnnotation] = view.manifest_descriptor.digest.str();
  // A registry image is named by its reference, as a local layout by its containerd name
  // (which `strata pull` writes, so both give the same image).
  std::string name = index_annotation(view, oci::kContainerdNameAnnotation);
  if (ref.registry) {
    name = ref.registry->name() + (ref.registry->tag.empty() ? "" : ":" + ref.registry->tag);
  }
  if (!name.empty()) base.annotations[kBaseNameAnnotation] = name;
  base.extracted = std::move(view.extracted);
  return base;
}

Result<void> check_base_platform(const BaseImage& base, const std::string& os,
                                 const std::string& architecture) {
  std::string base_os = string_member(base.config, "os");
  std::string base_arch = string_member(base.config, "architecture");
  if (base_os == os && base_arch == architecture) return Ok{};
  return Error::spec(base.ref.loc,
                     fmt::format("base image {} is {}/{}, but this image is {}/{}", base.ref.name(),
                                 base_os, base_arch, os, architecture));
}

Result<std::vector<LayerBlob>> copy_base_layers(const BaseImage& base,
                                                const std::string& blobs_dir) {
  std::vector<LayerBlob> out;
  for (const BaseLayer& layer : base.layers) {
    STRATA_TRY_CONTEXT(copy_blob(layer, blobs_dir), "base image " + base.ref.name());
    out.push_back(layer.blob);
    out.back().origin = BlobOrigin::kBaseImage;
    STRATA_TRY_CONTEXT(
        read_base_layer_files(fmt::format("{}/{}", blobs_dir, layer.blob.digest.hex), out.back()),
        "base image " + base.ref.name());
  }
  return out;
}

Json extend_config(const Json& base_config, const Json& strata_config) {
  Json out = strata_config.is_object() ? strata_config : Json::object();
  for (const char* key : {"variant", "os.version", "os.features"}) {
    if (!member(base_config, key).is_null() && !out.contains(key)) {
      out[key] = member(base_config, key);
    }
  }
  Json execution = merge_execution(member(base_config, "config"), member(out, "config"));
  if (execution.empty()) {
    out.erase("config");
  } else {
    out["config"] = std::move(execution);
  }
  out["rootfs"] = {{"type", "layers"},
                   {"diff_ids", concat(member(member(base_config, "rootfs"), "diff_ids"),
                                       member(member(strata_config, "rootfs"), "diff_ids"))}};
  Json history = concat(member(base_config, "history"), member(strata_config, "history"));
  if (history.empty()) {
    out.erase("history");
  } else {
    out["history"] = std::move(history);
  }
  return out;
}

}  // namespace strata::builder::base_image
