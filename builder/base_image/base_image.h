// Base images (`image.base`): the pinned image whose layers the new image reuses byte for
// byte and whose config the spec's config extends. See docs/base-images.md.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "builder/base/fs.h"
#include "builder/base/json.h"
#include "builder/oci/image_config.h"
#include "builder/oci/media_types.h"
#include "builder/tar/tar_writer.h"
#include "specs/spec.h"

namespace strata::builder::base_image {

using oci::kBaseDigestAnnotation;
using oci::kBaseNameAnnotation;

struct BaseLayer {
  // digest, diff_id, size and media_type as the new manifest and config list them (Docker
  // layer media types become their OCI equivalents); `files` is filled by copy_base_layers.
  LayerBlob blob;
  std::string source_path;  // the blob in the base layout (or in `extracted`)
};

struct BaseImage {
  specs::ImageRef ref;
  oci::Descriptor manifest;
  Json config;
  std::vector<BaseLayer> layers;
  // For the new manifest: base.digest = the base's manifest digest, and base.name = the
  // base's io.containerd.image.name when its index has one (a path is not a reference).
  std::map<std::string, std::string> annotations;
  std::optional<TempDir> extracted;  // an archive's extraction; source paths point into it
};

// Opens the base image `ref` pins (open_pinned_image: manifest and config verified, the
// config's diff_ids matched with the layers) and checks that every layer blob is there with
// its size. Blob digests are checked when they are copied (copy_base_layers).
Result<BaseImage> load_base_image(const specs::ImageRef& ref, const std::string& spec_dir);

// kSpec error at ref.loc when the base's os/architecture differ from the image's.
Result<void> check_base_platform(const BaseImage& base, const std::string& os,
                                 const std::string& architecture);

// Copies every base layer blob into `blobs_dir` (a layout's blobs/sha256) byte for byte,
// hashing on the way: a blob that does not match its digest is kDigestMismatch and is not
// kept. Returns the layers in order, ready to go before the new layers in the manifest,
// each with its entries read back from the copied blob (`files`, `entry_count`; paths
// without "./"), as the SBOM and the build summary need.
Result<std::vector<LayerBlob>> copy_base_layers(const BaseImage& base,
                                                const std::string& blobs_dir);

// The new image's config (pure): `strata_config` (from oci::make_config over the new
// layers only) on top of the base's. config.config: the base's fields are the defaults;
// Entrypoint, Cmd, WorkingDir, User, StopSignal (and any other field) set by strata
// replace them, and a new Entrypoint without a Cmd drops the base's Cmd (as Docker's
// ENTRYPOINT does); Env and Labels merge by key (strata wins); ExposedPorts and Volumes are
// unions. rootfs.diff_ids and history are the base's followed by strata's. os,
// architecture and created are strata's; the base's variant and os.version carry over.
Json extend_config(const Json& base_config, const Json& strata_config);

}  // namespace strata::builder::base_image
