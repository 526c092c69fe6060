#include "builder/oci/layout_writer.h"

#include <fmt/format.h>
#include <unistd.h>

#include "builder/base/fs.h"
#include "builder/oci/media_types.h"

namespace strata::builder::oci {

Result<std::string> prepare_layout_dir(const std::string& layout_dir) {
  std::string blobs = layout_dir + "/blobs/sha256";
  STRATA_TRY(make_dirs(blobs));
  return blobs;
}

Result<Descriptor> write_blob(const std::string& layout_dir, std::string_view bytes,
                              std::string media_type) {
  Digest digest = sha256_of(bytes);
  STRATA_TRY(write_file_atomic(fmt::format("{}/blobs/sha256/{}", layout_dir, digest.hex), bytes));
  return Descriptor{std::move(media_type), digest, static_cast<int64_t>(bytes.size())};
}

namespace {

Result<void> write_json_file(const std::string& path, const Json& value) {
  STRATA_TRY_ASSIGN(std::string bytes, canonical_json(value));
  return write_file_atomic(path, bytes);
}

Json make_index(const Descriptor& manifest, const LayoutNaming& naming) {
  Json descriptor = manifest.to_json();
  descriptor["platform"] = {{"architecture", naming.architecture}, {"os", naming.os}};
  // Tag in ref.name (skopeo/podman oci:DIR:TAG) and the full reference the way docker save
  // and containerd write it.
  descriptor["annotations"] = {{kRefNameAnnotation, naming.tag},
                               {kContainerdNameAnnotation, naming.name + ":" + naming.tag}};
  return {{"schemaVersion", 2}, {"mediaType", kIndexMediaType}, {"manifests", {descriptor}}};
}

// docker load reads only manifest.json (Docker image spec v1.2, "Combined Image JSON +
// Filesystem Changeset Format": https://github.com/moby/moby/blob/master/image/spec/v1.2.md);
// its paths point into the OCI blobs, so one tree serves both formats.
Json make_docker_manifest(const WrittenImage& image, const LayoutNaming& naming) {
  Json layers = Json::array();
  for (const auto& l : image.layers) layers.push_back("blobs/sha256/" + l.digest.hex);
  return Json::array({{{"Config", "blobs/sha256/" + image.config.digest.hex},
                       {"RepoTags", {naming.name + ":" + naming.tag}},
                       {"Layers", layers}}});
}

}  // namespace

Result<WrittenImage> write_layout_documents(const std::string& layout_dir, const Json& config,
                                            std::vector<LayerBlob> layers,
                                            const std::map<std::string, std::string>& annotations,
                                            const LayoutNaming& naming) {
  WrittenImage image;
  STRATA_TRY_ASSIGN(std::string config_bytes, canonical_json(config));
  STRATA_TRY_ASSIGN(image.config, write_blob(layout_dir, config_bytes, kConfigMediaType));
  STRATA_TRY_ASSIGN(std::string manifest_bytes,
                    canonical_json(make_manifest(image.config, layers, annotations)));
  STRATA_TRY_ASSIGN(image.manifest, write_blob(layout_dir, manifest_bytes, kManifestMediaType));
  image.layers = std::move(layers);
  STRATA_TRY(write_json_file(layout_dir + "/oci-layout", {{"imageLayoutVersion", kLayoutVersion}}));
  STRATA_TRY(write_json_file(layout_dir + "/index.json", make_index(image.manifest, naming)));
  STRATA_TRY(write_json_file(layout_dir + "/manifest.json", make_docker_manifest(image, naming)));
  return image;
}

Result<void> write_layout_archive(const std::string& layout_dir, BlobOutput& out, int64_t mtime) {
  STRATA_TRY(write_directory_tar(layout_dir, {.file_mode = 0644, .dir_mode = 0755}, mtime, out));
  return Ok{};
}

}  // namespace strata::builder::oci
