#include "builder/diff/docker_archive.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/base/fs.h"
#include "builder/oci/media_types.h"
#include "builder/tar/archive.h"

namespace strata::builder::diff {
namespace {

constexpr char kDockerConfigMediaType[] = "application/vnd.docker.container.image.v1+json";
constexpr char kDockerLayerMediaType[] = "application/vnd.docker.image.rootfs.diff.tar";
constexpr char kDockerGzipLayerMediaType[] = "application/vnd.docker.image.rootfs.diff.tar.gzip";

// A name from manifest.json or the tar: relative, no "." or ".." components.
bool is_safe_name(std::string_view name) {
  if (name.empty() || name.front() == '/') return false;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = std::min(name.find('/', start), name.size());
    std::string_view part = name.substr(start, end - start);
    if (part == ".." || part == ".") return false;
    start = end + 1;
  }
  return true;
}

// The manifest.json entry to read: the only one, or the one tagged `tag`.
Result<Json> select_entry(const Json& list, const std::string& path, const std::string& tag) {
  if (!list.is_array() || list.empty()) {
    return Error::io(fmt::format("{}: manifest.json lists no image", path));
  }
  if (tag.empty()) {
    if (list.size() > 1) {
      return Error::io(
          fmt::format("{}: manifest.json lists several images: name one with :TAG", path));
    }
    return list[0];
  }
  for (const Json& entry : list) {
    for (const Json& t : entry.value("RepoTags", Json::array())) {
      if (t.is_string() && t.get<std::string>().ends_with(":" + tag)) return entry;
    }
  }
  std::vector<std::string> tags;
  for (const Json& entry : list) {
    for (const Json& t : entry.value("RepoTags", Json::array())) {
      if (t.is_string()) tags.push_back(t.get<std::string>());
    }
  }
  return Error::io(fmt::format("{}: no image tagged '{}'; {}", path, tag,
                               tags.empty() ? std::string("manifest.json has no tags")
                                            : fmt::format("tags: {}", fmt::join(tags, ", "))));
}

// The file `name` from manifest.json as a descriptor, linked into the layout as its blob.
Result<oci::Descriptor> link_blob(const std::string& root, const Json& name,
                                  const std::string& layout_dir, const std::string& media_type) {
  if (!name.is_string() || !is_safe_name(name.get<std::string>())) {
    return Error::io(fmt::format("manifest.json: bad file name {}", name.dump()));
  }
  std::string file = root + "/" + name.get<std::string>();
  STRATA_TRY_ASSIGN(Digest digest, sha256_file(file));
  struct stat st;
  if (::stat(file.c_str(), &st) != 0) return Error::sys("stat " + file, errno);
  std::string blob = fmt::format("{}/blobs/sha256/{}", layout_dir, digest.hex);
  if (!path_resolves(blob) && ::symlink(file.c_str(), blob.c_str()) != 0) {
    return Error::sys("symlink " + blob, errno);
  }
  return oci::Descriptor{media_type, digest, static_cast<int64_t>(st.st_size)};
}

Result<std::string> layer_media_type(const std::string& file) {
  STRATA_TRY_ASSIGN(UniqueFd fd, open_fd(file, O_RDONLY));
  char magic[2] = {};
  STRATA_TRY_ASSIGN(int64_t n, read_some(fd.get(), magic, 2, file));
  bool gzip = n == 2 && magic[0] == '\x1f' && magic[1] == '\x8b';
  return std::string(gzip ? kDockerGzipLayerMediaType : kDockerLayerMediaType);
}

// Builds the view of the Docker archive whose files are below `root`.
Result<void> load_docker_archive(oci::ImageView& view, const std::string& root,
                                 const std::string& tag) {
  STRATA_TRY_ASSIGN(std::string text, read_file(root + "/manifest.json"));
  STRATA_TRY_ASSIGN(Json list, parse_json(text, view.source + ": manifest.json"));
  STRATA_TRY_ASSIGN(Json entry, select_entry(list, view.source, tag));
  STRATA_TRY(make_dirs(view.layout_dir + "/blobs/sha256"));
  STRATA_TRY_ASSIGN(view.config_descriptor, link_blob(root, entry.value("Config", Json()),
                                                      view.layout_dir, kDockerConfigMediaType));
  STRATA_TRY_ASSIGN(std::string config_text,
                    read_file(view.blob_path(view.config_descriptor.digest)));
  STRATA_TRY_ASSIGN(view.config, parse_json(config_text, view.source + ": config"));
  Json layers = Json::array();
  for (const Json& name : entry.value("Layers", Json::array())) {
    std::string file = root + "/" + (name.is_string() ? name.get<std::string>() : "");
    STRATA_TRY_ASSIGN(std::string media_type, layer_media_type(file));
    STRATA_TRY_ASSIGN(oci::Descriptor d, link_blob(root, name, view.layout_dir, media_type));
    layers.push_back(d.to_json());
    view.layers.push_back(std::move(d));
  }
  view.manifest = {{"schemaVersion", 2},
                   {"mediaType", oci::kDockerManifestMediaType},
                   {"config", view.config_descriptor.to_json()},
                   {"layers", std::move(layers)}};
  STRATA_TRY_ASSIGN(std::string manifest_text, canonical_json(view.manifest));
  Digest manifest_digest = sha256_of(manifest_text);
  view.manifest_descriptor = {oci::kDockerManifestMediaType, manifest_digest,
                              static_cast<int64_t>(manifest_text.size())};
  Json descriptor = view.manifest_descriptor.to_json();
  const Json& tags = entry.value("RepoTags", Json::array());
  if (tags.is_array() && !tags.empty() && tags[0].is_string()) {
    std::string name = tags[0].get<std::string>();
    size_t colon = name.rfind(':');
    if (colon != std::string::npos && name.find('/', colon) == std::string::npos) {
      view.ref_name = name.substr(colon + 1);
      descriptor["annotations"] = {{oci::kRefNameAnnotation, view.ref_name}};
    }
  }
  view.index = {{"schemaVersion", 2}, {"manifests", Json::array({descriptor})}};
  return Ok{};
}

}  // namespace

Result<oci::ImageView> open_any_image(const std::string& path, const std::string& tag) {
  auto oci_view = oci::open_image(path, tag);
  if (oci_view.ok()) return oci_view;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return oci_view;
  const char* tmpdir = std::getenv("TMPDIR");
  STRATA_TRY_ASSIGN(TempDir dir,
                    TempDir::create(tmpdir && *tmpdir ? tmpdir : "/tmp", "strata-diff-"));
  std::string root = path;
  if (!S_ISDIR(st.st_mode)) {
    root = dir.path() + "/archive";
    // Docker archives also hold symlinks (skopeo links <id>/layer.tar to the layer file)
    // that manifest.json never names: those are skipped rather than refused.
    if (!oci::extract_tar(path, root, oci::ExtractPolicy::kSkipOthers).ok()) return oci_view;
  }
  if (!path_resolves(root + "/manifest.json") || path_resolves(root + "/index.json"))
    return oci_view;
  oci::ImageView view{.source = path, .layout_dir = dir.path() + "/layout"};
  view.extracted.emplace(std::move(dir));
  STRATA_TRY_CONTEXT(load_docker_archive(view, root, tag), path + ": docker archive");
  return view;
}

}  // namespace strata::builder::diff
