#include "builder/diff/image_diff.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <future>
#include <map>

#include "builder/diff/docker_archive.h"
#include "builder/diff/file_diff.h"
#include "builder/diff/json_diff.h"
#include "builder/diff/layer_scan.h"

namespace strata::builder::diff {
namespace {

// One layer of one image as found on disk.
struct ScannedLayer {
  oci::Descriptor descriptor;
  std::string blob_path;
  BlobScan scan;
  std::optional<Digest> config_diff_id;  // rootfs.diff_ids[i], when the config has it
  // What the layer is aligned by: the DiffID of its actual content, or the config's claim
  // when the blob cannot be read.
  std::optional<Digest> diff_id;
};

std::string layer_name(size_t i, char side) { return fmt::format("layer {} of {}", i + 1, side); }

std::vector<std::optional<Digest>> config_diff_ids(const oci::ImageView& view) {
  std::vector<std::optional<Digest>> out;
  const Json& c = view.config;
  if (!c.is_object() || !c.contains("rootfs") || !c["rootfs"].is_object()) return out;
  const Json& ids = c["rootfs"].value("diff_ids", Json::array());
  if (!ids.is_array()) return out;
  for (const Json& id : ids) {
    std::optional<Digest> parsed;
    if (id.is_string()) {
      auto d = Digest::parse(id.get<std::string>());
      if (d.ok()) parsed = *d;
    }
    out.push_back(parsed);
  }
  return out;
}

// Reads and hashes every layer blob of `view`, noting in `integrity` each one that does not
// match its descriptor or the config's DiffID. A blob listed twice is read once.
std::vector<ScannedLayer> scan_layers(const oci::ImageView& view, char side,
                                      std::vector<std::string>& integrity) {
  std::vector<std::optional<Digest>> ids = config_diff_ids(view);
  if (ids.size() != view.layers.size()) {
    integrity.push_back(fmt::format("image {}: the config lists {} diff_ids for {} layers", side,
                                    ids.size(), view.layers.size()));
  }
  std::map<Digest, BlobScan> seen;
  std::vector<ScannedLayer> out;
  for (size_t i = 0; i < view.layers.size(); ++i) {
    ScannedLayer l{.descriptor = view.layers[i],
                   .blob_path = view.blob_path(view.layers[i].digest)};
    if (i < ids.size()) l.config_diff_id = ids[i];
    auto it = seen.find(l.descriptor.digest);
    if (it == seen.end()) it = seen.emplace(l.descriptor.digest, scan_blob(l.blob_path)).first;
    l.scan = it->second;
    const std::string& want = l.descriptor.digest.str();
    if (!l.scan.is_readable) {
      integrity.push_back(
          fmt::format("blob {} ({}) cannot be read: {}", want, layer_name(i, side), l.scan.error));
      l.diff_id = l.config_diff_id;
    } else {
      l.diff_id = l.scan.diff_id;
      if (l.scan.digest != l.descriptor.digest || l.scan.size_bytes != l.descriptor.size) {
        integrity.push_back(fmt::format(
            "blob {} ({}) does not match its descriptor: actual {}, {} bytes (descriptor: {})",
            want, layer_name(i, side), l.scan.digest.str(), l.scan.size_bytes, l.descriptor.size));
      }
      if (l.config_diff_id && *l.config_diff_id != l.scan.diff_id) {
        integrity.push_back(
            fmt::format("{} does not match the config's diff_id {}: its content is {}",
                        layer_name(i, side), l.config_diff_id->str(), l.scan.diff_id.str()));
      }
    }
    out.push_back(std::move(l));
  }
  return out;
}

// Pairs of layer indexes with equal DiffIDs along one longest common subsequence; layer
// counts are small (OCI runtimes cap them near 128), so the O(n*m) table is fine.
std::vector<std::pair<size_t, size_t>> align_layers(const std::vector<ScannedLayer>& a,
                                                    const std::vector<ScannedLayer>& b) {
  size_t n = a.size(), m = b.size();
  std::vector<std::vector<int>> lcs(n + 1, std::vector<int>(m + 1, 0));
  auto same = [&](size_t i, size_t j) { return a[i].diff_id && a[i].diff_id == b[j].diff_id; };
  for (size_t i = n; i-- > 0;) {
    for (size_t j = m; j-- > 0;) {
      lcs[i][j] = same(i, j) ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  std::vector<std::pair<size_t, size_t>> pairs;
  for (size_t i = 0, j = 0; i < n && j < m;) {
    if (same(i, j)) {
      pairs.emplace_back(i++, j++);
    } else if (lcs[i + 1][j] >= lcs[i][j + 1]) {
      ++i;
    } else {
      ++j;
    }
  }
  return pairs;
}

// The entries of one layer, or nothing (with a note in `integrity`) when its tar is broken.
std::vector<ReadEntry> layer_entries(const ScannedLayer& l, size_t i, char side,
                                     std::vector<std::string>& integrity) {
  if (!l.scan.is_readable) return {};
  auto entries = read_entries(l.blob_path);
  if (!entries.ok()) {
    integrity.push_back(fmt::format("{} ({}): cannot read its entries: {}", layer_name(i, side),
                                    l.descriptor.digest.str(), entries.error().message()));
    return {};
  }
  return *std::move(entries);
}

// A LayerDiff for index `i` of A and/or `j` of B (-1: that side has no layer here), with the
// files that differ between them.
LayerDiff diff_layer_pair(const std::vector<ScannedLayer>& a, int64_t i,
                          const std::vector<ScannedLayer>& b, int64_t j,
                          std::vector<std::string>& integrity) {
  LayerDiff d{.index_a = i, .index_b = j};
  std::vector<ReadEntry> entries_a, entries_b;
  if (i >= 0) {
    const ScannedLayer& l = a[static_cast<size_t>(i)];
    d.descriptor_a = l.descriptor;
    d.diff_id_a = l.diff_id;
    entries_a = layer_entries(l, static_cast<size_t>(i), 'A', integrity);
  }
  if (j >= 0) {
    const ScannedLayer& l = b[static_cast<size_t>(j)];
    d.descriptor_b = l.descriptor;
    d.diff_id_b = l.diff_id;
    entries_b = layer_entries(l, static_cast<size_t>(j), 'B', integrity);
  }
  d.files = diff_entries(entries_a, entries_b, /*semantic=*/false);
  return d;
}

// Layer by layer: aligned pairs are equal; between them, positions pair up in order and the
// rest exist on one side only.
std::vector<LayerDiff> diff_layers(const std::vector<ScannedLayer>& a,
                                   const std::vector<ScannedLayer>& b,
                                   std::vector<std::string>& integrity) {
  std::vector<std::pair<size_t, size_t>> pairs = align_layers(a, b);
  pairs.emplace_back(a.size(), b.size());  // a sentinel closing the last gap
  std::vector<LayerDiff> out;
  size_t i = 0, j = 0;
  for (const auto& [pi, pj] : pairs) {
    while (i < pi || j < pj) {
      int64_t ia = i < pi ? static_cast<int64_t>(i++) : -1;
      int64_t jb = j < pj ? static_cast<int64_t>(j++) : -1;
      out.push_back(diff_layer_pair(a, ia, b, jb, integrity));
    }
    i = pi + 1;
    j = pj + 1;
  }
  return out;
}

std::vector<ReadEntry> merged_filesystem(const std::vector<ScannedLayer>& layers, char side,
                                         std::vector<std::string>& integrity) {
  MergedFilesystem fs;
  for (size_t i = 0; i < layers.size(); ++i) {
    fs.apply_layer(layer_entries(layers[i], i, side, integrity));
  }
  return fs.entries();
}

// Manifest layer descriptors that differ only in how the same content is compressed.
void note_recompressed_layers(const std::vector<ScannedLayer>& a,
                              const std::vector<ScannedLayer>& b, std::vector<FieldDiff>& fields) {
  for (FieldDiff& f : fields) {
    if (f.document != "manifest" || !f.pointer.starts_with("/layers/")) continue;
    std::string_view rest = std::string_view(f.pointer).substr(8);
    size_t i = 0;
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), i);
    if (ec != std::errc() || (end != rest.data() + rest.size() && *end != '/')) continue;
    if (i < a.size() && i < b.size() && a[i].diff_id && a[i].diff_id == b[i].diff_id) {
      f.note = "same content, different compression";
    }
  }
}

bool ignored(const DiffOptions& options, std::string_view aspect) {
  return std::find(options.ignore.begin(), options.ignore.end(), aspect) != options.ignore.end();
}

// Drops ignored aspects from changed paths, and paths left with no aspect.
void drop_ignored_aspects(const DiffOptions& options, std::vector<FileDiff>& files) {
  for (FileDiff& f : files) {
    if (f.change != FileChange::kChanged) continue;
    std::erase_if(f.aspects, [&](const std::string& aspect) { return ignored(options, aspect); });
  }
  std::erase_if(files, [](const FileDiff& f) {
    return f.change == FileChange::kChanged && f.aspects.empty();
  });
}

}  // namespace

const std::vector<std::string>& ignorable_aspects() {
  static const std::vector<std::string> kAspects = {"index", "manifest", "config", "mode",
                                                    "uid",   "gid",      "uname",  "gname",
                                                    "mtime", "xattrs",   "order"};
  return kAspects;
}

Result<void> check_ignore(const std::vector<std::string>& ignore) {
  const std::vector<std::string>& known = ignorable_aspects();
  for (const std::string& aspect : ignore) {
    if (std::find(known.begin(), known.end(), aspect) == known.end()) {
      return Error(ErrorCode::kUsage, fmt::format("--ignore: unknown aspect '{}' (one of: {})",
                                                  aspect, fmt::join(known, ", ")));
    }
  }
  return {};
}

bool ImageDiff::is_same() const {
  return fields.empty() && layers.empty() && filesystem.empty() && integrity.empty();
}

int64_t ImageDiff::difference_count() const {
  return static_cast<int64_t>(fields.size() + layers.size() + filesystem.size() + integrity.size());
}

Result<ImageDiff> diff_images(const oci::ImageView& a, const oci::ImageView& b,
                              const DiffOptions& options) {
  ImageDiff d{.source_a = a.source,
              .source_b = b.source,
              .manifest_a = a.manifest_descriptor.digest,
              .manifest_b = b.manifest_descriptor.digest};
  // --semantic leaves out the index and the manifest: they hold packaging (media types,
  // digests, sizes, annotations), which differs between builders for the same image.
  STRATA_TRY(check_ignore(options.ignore));
  if (!options.semantic) {
    if (!ignored(options, "index")) diff_json("index", a.index, b.index, "", d.fields);
    if (!ignored(options, "manifest")) diff_json("manifest", a.manifest, b.manifest, "", d.fields);
    if (!ignored(options, "config")) diff_json("config", a.config, b.config, "", d.fields);
  } else if (!ignored(options, "config")) {
    diff_json("config", semantic_config(a.config), semantic_config(b.config), "", d.fields);
  }
  // The images are independent and reading them is most of the work: B is read on a second
  // thread while A is read here. Integrity notes keep their order, A's first.
  std::vector<std::string> integrity_b;
  auto scanning_b =
      std::async(std::launch::async, [&] { return scan_layers(b, 'B', integrity_b); });
  std::vector<ScannedLayer> layers_a = scan_layers(a, 'A', d.integrity);
  std::vector<ScannedLayer> layers_b = scanning_b.get();
  d.integrity.insert(d.integrity.end(), integrity_b.begin(), integrity_b.end());
  if (!options.semantic) {
    if (!ignored(options, "manifest")) note_recompressed_layers(layers_a, layers_b, d.fields);
    d.layers = diff_layers(layers_a, layers_b, d.integrity);
    // A layer pair whose paths all differed only in ignored aspects is no difference; one
    // whose entries were equal to begin with (the tar bytes differ) still is.
    std::erase_if(d.layers, [&](LayerDiff& l) {
      if (l.index_a < 0 || l.index_b < 0 || l.files.empty()) return false;
      drop_ignored_aspects(options, l.files);
      return l.files.empty();
    });
  } else {
    std::vector<ReadEntry> fs_a = merged_filesystem(layers_a, 'A', d.integrity);
    std::vector<ReadEntry> fs_b = merged_filesystem(layers_b, 'B', d.integrity);
    d.filesystem = diff_entries(fs_a, fs_b, /*semantic=*/true);
    drop_ignored_aspects(options, d.filesystem);
  }
  return d;
}

Result<ImageDiff> diff_image_paths(const std::string& a, const std::string& b,
                                   const DiffOptions& options) {
  STRATA_TRY_ASSIGN(oci::ImageView view_a, open_any_image(a));
  STRATA_TRY_ASSIGN(oci::ImageView view_b, open_any_image(b));
  return diff_images(view_a, view_b, options);
}

}  // namespace strata::builder::diff
