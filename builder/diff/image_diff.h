// Comparing two images (`strata diff`, `strata verify`, `strata build --check`): index ->
// manifest -> config field by field -> layers by DiffID -> the files inside differing layers.
// Works on any OCI layout or archive, not only strata's. See docs/diff.md.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "builder/base/json.h"
#include "builder/oci/image_reader.h"
#include "builder/tar/layer_reader.h"

namespace strata::builder::diff {

struct DiffOptions {
  // For images from different builders: ignore timestamps (entry mtimes, config and history
  // `created`), history, uname/gname and entry order, and compare the merged filesystems
  // (layers applied in order, whiteouts honoured) instead of layer by layer.
  bool semantic = false;
  // Aspects left out of the comparison (`--ignore`): the documents "index", "manifest" and
  // "config" (none of their fields are compared), and the per-entry aspects "mode", "uid",
  // "gid", "uname", "gname", "mtime", "xattrs" and "order". A path whose only differences
  // are ignored aspects is no difference, and a layer whose only differing paths were those
  // is none either. Checked by check_ignore().
  std::vector<std::string> ignore;
};

// Every value DiffOptions::ignore accepts, in the order the help lists them.
const std::vector<std::string>& ignorable_aspects();
// A usage error naming the first unknown aspect and the ones there are.
Result<void> check_ignore(const std::vector<std::string>& ignore);

// One JSON value that differs. `document` is "index", "manifest" or "config"; `pointer` is
// a JSON Pointer into it ("/config/Env/1"). An absent side is nullopt.
struct FieldDiff {
  std::string document;
  std::string pointer;
  std::optional<Json> a;
  std::optional<Json> b;
  // An explanation when one is known, e.g. "same content, different compression" for a
  // layer descriptor whose DiffID matches on both sides.
  std::string note;
};

enum class FileChange { kAdded, kRemoved, kChanged };

// One path that differs. For kChanged, `aspects` names what differs, in this order and
// spelling: "type", "content", "size", "mode", "uid", "gid", "uname", "gname", "mtime",
// "link", "xattrs", "order".
struct FileDiff {
  std::string path;
  FileChange change = FileChange::kChanged;
  std::vector<std::string> aspects;
  std::optional<ReadEntry> a;
  std::optional<ReadEntry> b;
  // 0-based entry positions in the layer's tar (layer mode only; -1 when absent), so an
  // "order" change can say where the entry moved.
  int64_t position_a = -1;
  int64_t position_b = -1;
};

// A layer position whose DiffIDs differ (or that exists on one side only: index -1).
struct LayerDiff {
  int64_t index_a = -1;
  int64_t index_b = -1;
  std::optional<oci::Descriptor> descriptor_a;
  std::optional<oci::Descriptor> descriptor_b;
  std::optional<Digest> diff_id_a;
  std::optional<Digest> diff_id_b;
  std::vector<FileDiff> files;
};

struct ImageDiff {
  std::string source_a;
  std::string source_b;
  Digest manifest_a;
  Digest manifest_b;
  std::vector<FieldDiff> fields;       // index, manifest and config
  std::vector<LayerDiff> layers;       // layer by layer (not in semantic mode)
  std::vector<FileDiff> filesystem;    // merged filesystem (semantic mode only)
  std::vector<std::string> integrity;  // blobs that do not match their descriptors
  bool is_same() const;
  // fields + layers + filesystem paths + integrity problems: the number in the summary line.
  int64_t difference_count() const;
};

// Compares two opened images. Every layer blob both reference is read and hashed; a blob
// whose digest or size does not match its descriptor is listed in `integrity` and still
// compared by content, so a tampered layer names the file that changed.
Result<ImageDiff> diff_images(const oci::ImageView& a, const oci::ImageView& b,
                              const DiffOptions& options);
// Opens both (open_image with no tag; Docker archives too, see docker_archive.h) and compares
// them.
Result<ImageDiff> diff_image_paths(const std::string& a, const std::string& b,
                                   const DiffOptions& options);

// The machine-readable result (`--json`).
Json diff_to_json(const ImageDiff& diff);
struct FormatOptions {
  // Every path of every layer; by default at most 50 per layer, then "… and N more".
  bool all = false;
};
// The human-readable result: one line per difference, grouped by document and layer, then a
// summary line ("images are identical" or "N differences").
std::string format_diff(const ImageDiff& diff, const FormatOptions& options = {});

}  // namespace strata::builder::diff
