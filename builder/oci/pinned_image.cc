#include "builder/oci/pinned_image.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <filesystem>

#include "builder/base/check.h"
#include "builder/base/json.h"

namespace strata::builder::oci {
namespace {

// The reader names the path it opened; the user wrote `written`, so say that instead.
Error relabel(Error error, const std::string& opened, const std::string& written) {
  std::string message = error.message();
  for (const std::string& prefix : {"image " + opened + ": ", opened + ": "}) {
    if (message.starts_with(prefix)) {
      message.erase(0, prefix.size());
      break;
    }
  }
  return Error(error.code(), fmt::format("image {}: {}", written, message));
}

// Each layer blob exists and has its descriptor's size. Checked here, where both environment
// images and base images are opened, so both modes accept exactly the same images: the
// digest alone is verified later, by whoever reads the blob, and a descriptor whose size
// lies would otherwise pass wherever the size is not looked at.
Result<void> check_layer_sizes(const oci::ImageView& view) {
  for (size_t i = 0; i < view.layers.size(); ++i) {
    const Descriptor& d = view.layers[i];
    std::string path = view.blob_path(d.digest);
    std::string what =
        fmt::format("layer {} of {} ({})", i + 1, view.layers.size(), d.digest.str());
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return Error::sys(what, errno);
    if (!S_ISREG(st.st_mode)) return Error::io(fmt::format("{}: not a regular file", what));
    if (st.st_size != d.size) {
      return Error(ErrorCode::kDigestMismatch,
                   fmt::format("{}: size mismatch: the manifest says {}, the blob has {}", what,
                               d.size, st.st_size));
    }
  }
  return Ok{};
}

}  // namespace

std::string resolve_image_path(const specs::ImageRef& ref, const std::string& spec_dir) {
  std::filesystem::path path = ref.path;
  if (!path.is_absolute() && !spec_dir.empty()) path = std::filesystem::path(spec_dir) / path;
  return path.lexically_normal().string();
}

Result<oci::ImageView> open_pinned_image(const specs::ImageRef& ref, const std::string& spec_dir) {
  // A registry image is opened once registry::resolve_spec_images has pulled it.
  STRATA_CHECK(!ref.registry || !ref.path.empty());
  std::string path = resolve_image_path(ref, spec_dir);
  auto view = oci::open_image_by_digest(path, ref.digest);
  if (!view.ok()) return relabel(std::move(view).error(), path, ref.name());
  STRATA_TRY_CONTEXT(check_layer_sizes(*view), "image " + ref.name());
  return view;
}

Result<std::vector<Digest>> layer_diff_ids(const oci::ImageView& view) {
  const Json& ids = member(member(view.config, "rootfs"), "diff_ids");
  if (!ids.is_array() || ids.size() != view.layers.size()) {
    return Error::io(fmt::format("the config lists {} diff_ids for {} layers",
                                 ids.is_array() ? ids.size() : 0, view.layers.size()));
  }
  std::vector<Digest> out;
  for (const Json& id : ids) {
    auto digest = id.is_string() ? Digest::parse(id.get<std::string>())
                                 : Result<Digest>(Error::io("not a string"));
    if (!digest.ok()) {
      return Error::io(fmt::format("config diff_ids: {}", digest.error().message()));
    }
    out.push_back(*digest);
  }
  return out;
}

}  // namespace strata::builder::oci
