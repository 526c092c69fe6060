// Opening an image the spec pins by manifest digest (environment.image, image.base): the
// layout or archive relative to the spec's directory, the manifest chosen and checked by
// that digest, and the config's diff_ids matched up with the manifest's layers.
#pragma once

#include <string>
#include <vector>

#include "builder/oci/image_reader.h"
#include "specs/spec.h"

namespace strata::builder::oci {

// `ref.path` as a path on disk: relative paths resolve against `spec_dir`.
std::string resolve_image_path(const specs::ImageRef& ref, const std::string& spec_dir);

// Opens the image `ref` names. Every document read is verified; the manifest is the one
// whose digest is ref.digest (the index may list several). Errors read
// "image PATH: ..." with PATH as the spec wrote it; a pin the layout lacks is
// kDigestMismatch: "image ./toolchain: manifest digest mismatch: expected sha256:…, actual
// sha256:…" naming the digests the layout has. Every layer blob must exist with the size its
// descriptor gives (kDigestMismatch "image PATH: layer 1 of 2 (sha256:…): size mismatch: …"),
// for environment and base images alike; the blobs are not read here: whoever uses one
// verifies its digest first (apply_layer, copy_base_layers).
Result<oci::ImageView> open_pinned_image(const specs::ImageRef& ref, const std::string& spec_dir);

// The config's rootfs.diff_ids, one per manifest layer (a count mismatch is an error; the
// message does not name the image: callers add it).
Result<std::vector<Digest>> layer_diff_ids(const oci::ImageView& view);

}  // namespace strata::builder::oci
