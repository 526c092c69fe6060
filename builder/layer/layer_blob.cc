#include "builder/layer/layer_blob.h"

#include <fmt/format.h>

#include "builder/base/fs.h"

namespace strata::builder {

Result<LayerBlob> write_layer_blob(const LayerEntries& entries, const LayerWriteOptions& options,
                                   const std::string& blobs_dir) {
  STRATA_TRY_ASSIGN(AtomicFile file, AtomicFile::create(blobs_dir + "/layer"));
  FdBlobOutput out(file.fd(), file.temp_path(), /*start_writeback=*/true);
  // The records go beside the blob, in an unlinked file that goes with the last copy of them.
  LayerWriteOptions spilled = options;
  if (spilled.records_dir.empty()) spilled.records_dir = blobs_dir;
  STRATA_TRY_ASSIGN(LayerBlob blob, write_layer(entries, spilled, out));
  STRATA_TRY(file.commit(fmt::format("{}/{}", blobs_dir, blob.digest.hex)));
  return blob;
}

}  // namespace strata::builder
