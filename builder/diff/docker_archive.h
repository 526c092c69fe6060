// Opening the images `strata diff` compares: OCI layouts and archives through
// oci::open_image, and Docker archives (`docker save`, `skopeo copy docker-archive:`) that
// hold only manifest.json, a config file and layer tars, read as a Docker schema 2 image.
#pragma once

#include <string>

#include "builder/oci/image_reader.h"

namespace strata::builder::diff {

// Opens IMAGE with oci::open_image; when that fails and IMAGE (a directory or tar) is a
// Docker archive without index.json, reads its manifest.json instead. The view then holds a
// synthesised Docker schema 2 manifest (config and layer descriptors from the files' digests
// and sizes; layer media type .tar or .tar.gzip by content) and a one-entry index whose
// ref.name is the tag of RepoTags[0]. `tag` picks the manifest.json entry whose RepoTags
// end in ":tag". Otherwise the error is open_image's.
Result<oci::ImageView> open_any_image(const std::string& path, const std::string& tag = "");

}  // namespace strata::builder::diff
