// Opening an image someone gives us: an OCI layout directory or a tar of one (strata's,
// skopeo's, docker save's). Every document read is checked against its digest.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "builder/base/fs.h"
#include "builder/base/json.h"
#include "builder/oci/image_config.h"

namespace strata::builder::oci {

struct ImageView {
  std::string source;      // the path the user gave
  std::string layout_dir;  // the layout on disk (a temporary extraction for archives)
  std::optional<TempDir> extracted;
  std::string ref_name;  // the tag from index.json, if any
  Json index;
  Descriptor manifest_descriptor;
  Json manifest;
  Descriptor config_descriptor;
  Json config;
  std::vector<Descriptor> layers;

  std::string blob_path(const Digest& digest) const;
};

// Opens IMAGE. With an empty `tag` the index must name exactly one image manifest (a nested
// index is followed to the manifest for this host's platform); otherwise the manifest whose
// ref.name is `tag`. OCI 1.1 artifacts in the index (an artifactType, or a manifest with a
// subject) are never picked. Errors name the file and, for digests, the expected and actual
// value.
Result<ImageView> open_image(const std::string& path, const std::string& tag = "");

// Opens IMAGE and selects the image manifest whose digest is `manifest_digest`, wherever the
// index lists it (nested indexes are searched too), so a pin picks one image out of many.
// When none has that digest: kDigestMismatch, "<path>: manifest digest mismatch: expected
// sha256:…, actual sha256:…" listing every image manifest the layout does hold.
Result<ImageView> open_image_by_digest(const std::string& path, const Digest& manifest_digest);

// The largest JSON document (index.json, a manifest, an index, a config) an image may hold:
// 4 MiB, what registries accept for a manifest. A larger one is refused before it is read.
inline constexpr int64_t kMaxDocumentBytes = 4 << 20;

// Reads a JSON document's blob (at most kMaxDocumentBytes) and checks its size and digest
// against the descriptor; the size before reading a byte.
Result<std::string> read_verified_blob(const std::string& layout_dir, const Descriptor& d);

// Extracting an archive of a layout. kRefuseOthers (OCI layout archives): only directories
// and regular files under clean relative paths, anything else is an error. kSkipOthers
// (Docker archives, whose symlinks name layer files a second time): regular files with clean
// names are extracted, everything else is skipped.
enum class ExtractPolicy { kRefuseOthers, kSkipOthers };
// Extracts the tar at `path` (any compression libarchive reads) below `root`, created if
// needed. Never writes outside `root`; an existing file is never overwritten.
Result<void> extract_tar(const std::string& path, const std::string& root, ExtractPolicy policy);

// Parses a descriptor object from index.json or a manifest. Its size must be a non-negative
// integer that fits in 63 bits.
Result<Descriptor> parse_descriptor(const Json& j, std::string_view where);

}  // namespace strata::builder::oci
