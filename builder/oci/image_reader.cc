#include "builder/oci/image_reader.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/stat.h>

#include <algorithm>
#include <limits>

#include "builder/base/beneath.h"
#include "builder/base/path.h"
#include "builder/oci/media_types.h"
#include "builder/tar/archive.h"

namespace strata::builder::oci {
namespace {

Error format_error(std::string_view source, std::string message) {
  return Error(ErrorCode::kIo, fmt::format("{}: {}", source, message));
}

// Layout archives hold only directories and regular files under relative, clean paths;
// anything else (links, devices, "..", absolute names, empty or "." components) is refused
// before it is written. The root itself ("", ".", "./") gives no components.
Result<std::vector<std::string>> safe_components(const std::string& name) {
  std::string_view path = name;
  while (path.starts_with("./")) path.remove_prefix(2);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (path.empty() || path == ".") return std::vector<std::string>();
  if (path_escape(path) == PathEscape::kAbsolute) {
    return Error::io(fmt::format("absolute path '{}'", name));
  }
  for (std::string_view part : path_segments(path)) {
    if (part.empty() || part == "." || part == "..") {
      return Error::io(fmt::format("unsafe path '{}'", name));
    }
  }
  return path_components(path);
}

Result<void> extract_entry(archive* a, archive_entry* h, const std::string& root, int root_fd,
                           ExtractPolicy policy) {
  bool skip_others = policy == ExtractPolicy::kSkipOthers;
  std::string name = archive_entry_pathname(h) ? archive_entry_pathname(h) : "";
  auto parts = safe_components(name);
  if (!parts.ok()) return skip_others ? Ok{} : Result<void>(std::move(parts).error());
  if (parts->empty()) return Ok{};
  std::string dest = root + "/" + join_components(*parts);
  mode_t type = archive_entry_filetype(h);
  // Written through descriptors beneath the root (base/beneath.h): an earlier entry can
  // never have left a symlink that this one is written through.
  if (type == AE_IFDIR && archive_entry_hardlink(h) == nullptr) {
    auto made = open_dir_beneath(root_fd, *parts, /*create=*/true);
    if (!made.ok()) return std::move(made).error().context(dest);
    return Ok{};
  }
  if (type != AE_IFREG || archive_entry_hardlink(h) != nullptr) {
    if (skip_others) return Ok{};
    return Error::io(fmt::format("'{}' is not a regular file or directory", name));
  }
  std::span<const std::string> parent(parts->data(), parts->size() - 1);
  auto dir = open_dir_beneath(root_fd, parent, /*create=*/true);
  if (!dir.ok()) return std::move(dir).error().context(dest);
  auto created = open_beneath(dir->get(), std::span<const std::string>(&parts->back(), 1),
                              O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (!created.ok()) return std::move(created).error().context(dest);
  UniqueFd fd = std::move(*created);
  const void* buf = nullptr;
  size_t size = 0;
  la_int64_t offset = 0;
  int rc;
  while ((rc = archive_read_data_block(a, &buf, &size, &offset)) == ARCHIVE_OK) {
    STRATA_TRY(write_all(fd.get(), {static_cast<const char*>(buf), size}, dest));
  }
  if (rc != ARCHIVE_EOF) STRATA_TRY(archive_check(a, rc, fmt::format("reading '{}'", name)));
  return fd.close(dest);
}

Result<TempDir> extract_archive(const std::string& path) {
  const char* tmpdir = std::getenv("TMPDIR");
  STRATA_TRY_ASSIGN(TempDir dir,
                    TempDir::create(tmpdir && *tmpdir ? tmpdir : "/tmp", "strata-image-"));
  STRATA_TRY(extract_tar(path, dir.path(), ExtractPolicy::kRefuseOthers));
  return dir;
}

Result<Json> read_json_blob(const std::string& layout_dir, const Descriptor& d) {
  STRATA_TRY_ASSIGN(std::string bytes, read_verified_blob(layout_dir, d));
  return parse_json(bytes, "blob " + d.digest.str());
}

// OCI 1.1 artifacts listed in an index beside the image (strata build --attach puts its
// attestations there) are not images: they carry an artifactType, or their manifest has a
// subject.
Result<bool> is_artifact(const ImageView& view, const Json& entry, const Descriptor& d) {
  if (entry.contains("artifactType")) return true;
  if (d.media_type != kManifestMediaType) return false;
  STRATA_TRY_ASSIGN(Json manifest, read_json_blob(view.layout_dir, d));
  return manifest.is_object() && manifest.contains("subject");
}

// "tags: 1.0, latest" (the index's ref.name annotations, in order) or "the index has no
// tags", for an error about a tag that is not there.
std::string available_tags(const Json& index) {
  std::vector<std::string> tags;
  for (const Json& m : member(index, "manifests")) {
    const Json& name = member(member(m, "annotations"), kRefNameAnnotation);
    if (name.is_string()) tags.push_back(name.get<std::string>());
  }
  if (tags.empty()) return "the index has no tags";
  return fmt::format("tags: {}", fmt::join(tags, ", "));
}

// Picks the image manifest: by tag, or the only one that is not an artifact; nested indexes
// (multi-platform images from other tools) are followed to this platform's entry.
Result<Descriptor> select_manifest(const ImageView& view, const Json& index, const std::string& tag,
                                   int depth) {
  if (!index.contains("manifests") || !index["manifests"].is_array()) {
    return format_error(view.source, "index has no manifests array");
  }
  std::vector<Descriptor> candidates;
  for (const Json& m : index["manifests"]) {
    if (!tag.empty() && depth == 0) {
      const Json* ann = m.contains("annotations") ? &m["annotations"] : nullptr;
      if (!ann || !ann->contains(kRefNameAnnotation) || (*ann)[kRefNameAnnotation] != tag) continue;
    }
    STRATA_TRY_ASSIGN(Descriptor d, parse_descriptor(m, view.source + ": index.json"));
    STRATA_TRY_ASSIGN(bool artifact, is_artifact(view, m, d));
    if (artifact) continue;
    if (depth > 0 && m.contains("platform")) {
      // A hostile index may hold any JSON here: member() neither throws nor copies.
      const Json& p = member(m, "platform");
      if (member(p, "os") != "linux" || member(p, "architecture") == "unknown") continue;
    }
    candidates.push_back(std::move(d));
  }
  if (candidates.empty()) {
    return format_error(view.source, tag.empty() ? "the index lists no image"
                                                 : fmt::format("no image tagged '{}'; {}", tag,
                                                               available_tags(index)));
  }
  if (candidates.size() > 1 && depth == 0) {
    return format_error(view.source, "the index lists several images: name one with IMAGE:TAG");
  }
  const Descriptor& chosen = candidates.front();
  if (chosen.media_type == kIndexMediaType || chosen.media_type == kDockerManifestListMediaType) {
    if (depth > 2) return format_error(view.source, "image indexes nested too deeply");
    STRATA_TRY_ASSIGN(Json nested, read_json_blob(view.layout_dir, chosen));
    return select_manifest(view, nested, "", depth + 1);
  }
  return chosen;
}

// Every image manifest the index lists, nested indexes followed (as select_manifest does).
Result<void> collect_manifests(const ImageView& view, const Json& index, int depth,
                               std::vector<Descriptor>& out) {
  if (!index.is_object() || !index.contains("manifests") || !index["manifests"].is_array()) {
    return format_error(view.source, "index has no manifests array");
  }
  for (const Json& m : index["manifests"]) {
    STRATA_TRY_ASSIGN(Descriptor d, parse_descriptor(m, view.source + ": index.json"));
    STRATA_TRY_ASSIGN(bool artifact, is_artifact(view, m, d));
    if (artifact) continue;
    if (d.media_type == kIndexMediaType || d.media_type == kDockerManifestListMediaType) {
      if (depth > 2) return format_error(view.source, "image indexes nested too deeply");
      STRATA_TRY_ASSIGN(Json nested, read_json_blob(view.layout_dir, d));
      STRATA_TRY(collect_manifests(view, nested, depth + 1, out));
    } else {
      out.push_back(std::move(d));
    }
  }
  return Ok{};
}

// The layout (extracted first when `path` is an archive) and its index.json.
Result<ImageView> open_layout(const std::string& path) {
  ImageView view;
  view.source = path;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Error::sys(fmt::format("image {}", path), errno);
  if (S_ISDIR(st.st_mode)) {
    view.layout_dir = path;
  } else {
    STRATA_TRY_ASSIGN(TempDir dir, extract_archive(path));
    view.layout_dir = dir.path();
    view.extracted.emplace(std::move(dir));
  }
  std::string index_path = view.layout_dir + "/index.json";
  struct stat index_st;
  if (::lstat(index_path.c_str(), &index_st) != 0) {
    return format_error(path, "not an OCI image layout (no index.json)");
  }
  STRATA_TRY_ASSIGN_CONTEXT(std::string index_text,
                            read_file_limited(index_path, kMaxDocumentBytes), path);
  STRATA_TRY_ASSIGN(view.index, parse_json(index_text, path + ": index.json"));
  return view;
}

// Reads (verified) the manifest view.manifest_descriptor names, its config and layer list.
Result<void> load_manifest(ImageView& view) {
  const std::string& path = view.source;
  STRATA_TRY_ASSIGN(view.manifest, read_json_blob(view.layout_dir, view.manifest_descriptor));
  if (!view.manifest.contains("config")) return format_error(path, "manifest has no config");
  STRATA_TRY_ASSIGN(view.config_descriptor,
                    parse_descriptor(view.manifest["config"], path + ": manifest"));
  STRATA_TRY_ASSIGN(view.config, read_json_blob(view.layout_dir, view.config_descriptor));
  for (const Json& l : view.manifest.value("layers", Json::array())) {
    STRATA_TRY_ASSIGN(Descriptor d, parse_descriptor(l, path + ": manifest layers"));
    view.layers.push_back(std::move(d));
  }
  // Every entry of index["manifests"] parsed as a descriptor already; annotations may not.
  for (const Json& m : view.index["manifests"]) {
    if (m["digest"] != view.manifest_descriptor.digest.str() || !m.contains("annotations"))
      continue;
    const Json& ann = m["annotations"];
    if (ann.is_object() && ann.contains(kRefNameAnnotation) && ann[kRefNameAnnotation].is_string())
      view.ref_name = ann[kRefNameAnnotation].get<std::string>();
  }
  return Ok{};
}

}  // namespace

Result<void> extract_tar(const std::string& path, const std::string& root, ExtractPolicy policy) {
  STRATA_TRY(make_dirs(root));
  STRATA_TRY_ASSIGN(UniqueFd root_fd, open_fd(root, O_RDONLY | O_DIRECTORY));
  ScopedUtf8Locale utf8;
  ArchiveReader r = new_archive_reader();
  archive_read_support_filter_all(r.get());
  archive_read_support_format_tar(r.get());
  STRATA_TRY(archive_check(r.get(), archive_read_open_filename(r.get(), path.c_str(), 1 << 16),
                           fmt::format("opening {}", path)));
  for (;;) {
    archive_entry* h = nullptr;
    int rc = archive_read_next_header(r.get(), &h);
    if (rc == ARCHIVE_EOF) return Ok{};
    STRATA_TRY(archive_check(r.get(), rc, fmt::format("reading {}", path)));
    auto extracted = extract_entry(r.get(), h, root, root_fd.get(), policy);
    if (!extracted.ok()) return std::move(extracted).error().context(path);
  }
}

std::string ImageView::blob_path(const Digest& digest) const {
  return fmt::format("{}/blobs/sha256/{}", layout_dir, digest.hex);
}

Result<Descriptor> parse_descriptor(const Json& j, std::string_view where) {
  if (!j.is_object() || !j.contains("digest") || !j["digest"].is_string() || !j.contains("size") ||
      !j["size"].is_number_integer() || !j.contains("mediaType") || !j["mediaType"].is_string()) {
    return Error::io(fmt::format("{}: malformed descriptor {}", where, j.dump()));
  }
  auto digest = Digest::parse(j["digest"].get<std::string>());
  if (!digest.ok()) return Error::io(fmt::format("{}: {}", where, digest.error().message()));
  // nlohmann keeps 2^63 and above as unsigned: get<int64_t>() would wrap to a negative size.
  const Json& size = j["size"];
  if ((size.is_number_unsigned() &&
       size.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) ||
      (!size.is_number_unsigned() && size.get<int64_t>() < 0)) {
    return Error(ErrorCode::kInvalidInput,
                 fmt::format("{}: descriptor {} has an impossible size {}", where, digest->str(),
                             size.dump()));
  }
  return Descriptor{j["mediaType"].get<std::string>(), *digest, size.get<int64_t>()};
}

Result<std::string> read_verified_blob(const std::string& layout_dir, const Descriptor& d) {
  std::string path = fmt::format("{}/blobs/sha256/{}", layout_dir, d.digest.hex);
  if (d.size > kMaxDocumentBytes) {
    return Error(ErrorCode::kInvalidInput,
                 fmt::format("{}: a {} of {} bytes is larger than the limit of {} bytes for "
                             "an image's JSON documents",
                             path, d.media_type, d.size, kMaxDocumentBytes));
  }
  STRATA_TRY_ASSIGN(std::string bytes, read_file_limited(path, kMaxDocumentBytes));
  Digest actual = sha256_of(bytes);
  if (actual != d.digest) {
    return Error(ErrorCode::kDigestMismatch,
                 fmt::format("{}: digest mismatch: expected {}, actual {}", path, d.digest.str(),
                             actual.str()));
  }
  if (static_cast<int64_t>(bytes.size()) != d.size) {
    return Error(
        ErrorCode::kDigestMismatch,
        fmt::format("{}: size mismatch: expected {}, actual {}", path, d.size, bytes.size()));
  }
  return bytes;
}

Result<ImageView> open_image(const std::string& path, const std::string& tag) {
  STRATA_TRY_ASSIGN(ImageView view, open_layout(path));
  STRATA_TRY_ASSIGN(view.manifest_descriptor, select_manifest(view, view.index, tag, 0));
  STRATA_TRY(load_manifest(view));
  return view;
}

Result<ImageView> open_image_by_digest(const std::string& path, const Digest& manifest_digest) {
  STRATA_TRY_ASSIGN(ImageView view, open_layout(path));
  std::vector<Descriptor> manifests;
  STRATA_TRY(collect_manifests(view, view.index, 0, manifests));
  auto it = std::find_if(manifests.begin(), manifests.end(),
                         [&](const Descriptor& d) { return d.digest == manifest_digest; });
  if (it == manifests.end()) {
    std::vector<std::string> actual;
    for (const Descriptor& d : manifests) actual.push_back(d.digest.str());
    return Error(ErrorCode::kDigestMismatch,
                 fmt::format("{}: manifest digest mismatch: expected {}, actual {}", path,
                             manifest_digest.str(),
                             actual.empty() ? "none (the index lists no image)"
                                            : fmt::format("{}", fmt::join(actual, ", "))));
  }
  view.manifest_descriptor = *it;
  STRATA_TRY(load_manifest(view));
  return view;
}

}  // namespace strata::builder::oci
