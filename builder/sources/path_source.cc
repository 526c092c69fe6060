#include "builder/sources/path_source.h"

#include <sys/stat.h>

#include <cerrno>

#include "builder/base/error.h"
#include "builder/layer/layer_writer.h"
#include "builder/layer/tree.h"

namespace strata::builder::sources {
namespace {

// Counts nothing but the digest: write_layer hashes what passes through.
class DiscardOutput : public BlobOutput {
 public:
  Result<void> write(std::string_view) override { return Ok{}; }
};

Result<Digest> write_tar(const std::string& dir, BlobOutput& out) {
  LayerTree tree;
  STRATA_TRY(tree.add_host_path(dir, "/", HostCopyOptions{}, Loc{}));
  STRATA_TRY_ASSIGN(std::vector<LayerEntry> entries, std::move(tree).sorted_entries());
  // Uncompressed, so the digest is the tar's own (DiffID and blob digest coincide) and does
  // not depend on the compressor's version.
  LayerWriteOptions options{.compression = Compression::kNone, .mtime = 0};
  STRATA_TRY_ASSIGN(LayerBlob blob, write_layer(entries, options, out));
  return blob.diff_id;
}

}  // namespace

Result<Digest> write_directory_tar(const std::string& dir, int fd) {
  FdBlobOutput out(fd, "the directory tar");
  return write_tar(dir, out);
}

Result<Digest> path_digest(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Error::sys("stat " + path, errno);
  if (S_ISREG(st.st_mode)) return sha256_file(path);
  if (!S_ISDIR(st.st_mode)) return Error::io(path + " is neither a regular file nor a directory");
  DiscardOutput out;
  return write_tar(path, out);
}

}  // namespace strata::builder::sources
