#include "builder/environment/cache.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>

#include "builder/base/beneath.h"
#include "builder/base/fs.h"
#include "builder/base/owner.h"
#include "builder/environment/unpack.h"
#include "builder/oci/pinned_image.h"

namespace strata::builder::environment {
namespace {

constexpr char kMarker[] = "complete";
constexpr char kTree[] = "rootfs";

bool is_complete(const std::string& entry, const Digest& digest) {
  auto text = read_file(fmt::format("{}/{}", entry, kMarker));
  return text.ok() && *text == digest.str() + "\n";
}

// An exclusive flock held for its lifetime; closing the descriptor releases it.
Result<UniqueFd> lock_file(const std::string& path) {
  STRATA_TRY_ASSIGN(UniqueFd fd, open_fd(path, O_RDWR | O_CREAT, 0644));
  while (::flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return Error::sys(fmt::format("lock {}", path), errno);
  }
  return fd;
}

// Serializes builders on one entry: ENTRY.lock beside it (left behind, empty).
Result<UniqueFd> lock_entry(const std::string& entry) {
  STRATA_TRY(make_dirs(dirname_of(entry)));
  return lock_file(entry + ".lock");
}

// Moves an incomplete entry aside in one rename, then deletes it.
Result<void> discard(const std::string& entry, const std::string& cache_root) {
  // Moving a directory to another parent needs write access to it (its ".." changes).
  (void)::chmod(entry.c_str(), 0700);
  STRATA_TRY_ASSIGN(TempDir trash, TempDir::create(cache_root, ".discard-"));
  if (::rename(entry.c_str(), (trash.path() + "/old").c_str()) != 0) {
    if (errno == ENOENT) return Ok{};
    return Error::sys(fmt::format("move aside incomplete cache entry {}", entry), errno);
  }
  STRATA_TRY_ASSIGN(UniqueFd dir, open_fd(trash.path(), O_RDONLY | O_DIRECTORY));
  return remove_beneath(dir.get(), "old");
}

Result<void> unpack_layers(const oci::ImageView& view, const std::string& tree) {
  STRATA_TRY_ASSIGN(std::vector<Digest> diff_ids, layer_diff_ids(view));
  ApplyOptions options{.preserve_owners = running_as_root()};
  for (size_t i = 0; i < view.layers.size(); ++i) {
    options.blob_digest = view.layers[i].digest;
    options.diff_id = diff_ids[i];
    STRATA_TRY_CONTEXT(apply_layer(view.blob_path(view.layers[i].digest), tree, options),
                       fmt::format("layer {} of {}", i + 1, view.layers.size()));
  }
  return Ok{};
}

// Makes the staged entry durable: the tree's data, then the marker, then the directory.
Result<void> seal(const std::string& staged, const Digest& digest) {
  STRATA_TRY_ASSIGN(UniqueFd dir, open_fd(staged, O_RDONLY | O_DIRECTORY));
  if (::syncfs(dir.get()) != 0) return Error::sys(fmt::format("syncfs {}", staged), errno);
  STRATA_TRY(write_file(fmt::format("{}/{}", staged, kMarker), digest.str() + "\n", 0444));
  if (::fchmod(dir.get(), 0700) != 0) return Error::sys(fmt::format("chmod {}", staged), errno);
  return fsync_dir(staged);
}

Result<void> publish_entry(const RootfsFiller& fill, const Digest& digest,
                           const std::string& cache_root, const std::string& entry) {
  STRATA_TRY_ASSIGN(TempDir staging,
                    TempDir::create(cache_root, ".unpack-" + digest.hex.substr(0, 12) + "-"));
  std::string tree = fmt::format("{}/{}", staging.path(), kTree);
  if (::mkdir(tree.c_str(), 0755) != 0) return Error::sys(fmt::format("mkdir {}", tree), errno);
  STRATA_TRY(fill(tree));
  STRATA_TRY(seal(staging.path(), digest));
  // RENAME_NOREPLACE: a complete entry is never replaced, even by an identical one.
  if (rename_noreplace(staging.path(), entry) != 0) {
    if ((errno == EEXIST || errno == ENOTEMPTY) && is_complete(entry, digest)) return Ok{};
    return Error::sys(fmt::format("rename {} to {}", staging.path(), entry), errno);
  }
  staging.release();
  STRATA_TRY(fsync_dir(dirname_of(entry)));
  // Only the owner may enter (like containers/storage's 0700 layer directories): the tree
  // keeps the image's owners and modes, and a file another user could reach would be theirs
  // to run. Not writable either: the sandbox mounts the tree read-only; this keeps the
  // owner from swapping it by accident.
  (void)::chmod(entry.c_str(), 0500);
  return Ok{};
}

}  // namespace

std::string rootfs_entry_dir(const std::string& cache_dir, const Digest& manifest_digest) {
  return fmt::format("{}/rootfs/sha256/{}", cache_dir, manifest_digest.hex);
}

Result<std::string> ensure_rootfs_entry(const std::string& cache_dir, const std::string& entry,
                                        const Digest& digest, const std::string& what,
                                        const RootfsFiller& fill) {
  std::string tree = fmt::format("{}/{}", entry, kTree);
  std::string cache_root = cache_dir + "/rootfs";
  // Staging and discarded trees of builds that are gone (killed mid-unpack): removed on every
  // use, hit or miss; a live builder's are left alone (base/owner.h).
  constexpr std::string_view kPrefixes[] = {".unpack-", ".discard-", kAtomicFilePrefix};
  remove_stale_temporaries(cache_root, kPrefixes);
  if (is_complete(entry, digest)) {
    // An entry published before entries were closed (and setuid bits dropped) is closed now.
    (void)::chmod(entry.c_str(), 0500);
    return tree;
  }

  STRATA_TRY_ASSIGN_CONTEXT(UniqueFd lock, lock_entry(entry), what);
  // Under the lock: another builder may have finished while we waited.
  if (is_complete(entry, digest)) return tree;
  // The filler's errors name what they are about themselves; the entry's own steps get `what`.
  std::optional<Error> fill_error;
  auto guarded = [&](const std::string& staged_tree) -> Result<void> {
    Result<void> filled = fill(staged_tree);
    if (!filled.ok()) fill_error = filled.error();
    return filled;
  };
  auto built = [&]() -> Result<void> {
    struct stat st;
    if (::lstat(entry.c_str(), &st) == 0) STRATA_TRY(discard(entry, cache_root));
    return publish_entry(guarded, digest, cache_root, entry);
  }();
  if (!built.ok()) {
    if (fill_error) return *std::move(fill_error);
    return std::move(built).error().context(what);
  }
  return tree;
}

Result<std::string> ensure_image_rootfs(const specs::ImageRef& ref, const std::string& spec_dir,
                                        const std::string& cache_dir) {
  std::string entry = rootfs_entry_dir(cache_dir, ref.digest);
  std::string what = "image " + ref.name();
  // The image is opened only on a miss: open_pinned_image names the image itself.
  auto fill = [&](const std::string& tree) -> Result<void> {
    STRATA_TRY_ASSIGN(oci::ImageView view, oci::open_pinned_image(ref, spec_dir));
    Result<void> unpacked = unpack_layers(view, tree);
    if (!unpacked.ok()) return std::move(unpacked).error().context(what);
    return Ok{};
  };
  return ensure_rootfs_entry(cache_dir, entry, ref.digest, what, fill);
}

}  // namespace strata::builder::environment
