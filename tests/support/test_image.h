// Test helpers: raw (possibly hostile) layer tars written with
// libarchive, and small OCI layouts built with strata's own layer and layout writers.
#pragma once

#include <string>
#include <vector>

#include "builder/base/fs.h"
#include "builder/layer/layer_blob.h"
#include "builder/oci/layout_writer.h"
#include "tests/support/test_util.h"

namespace strata::builder::testing {

struct TarEntry {
  enum class Kind { kFile, kDir, kSymlink, kHardlink, kFifo, kCharDevice };
  std::string name;  // written as is: may be absolute, hold "..", anything
  Kind kind = Kind::kFile;
  std::string content;  // kFile
  std::string link;     // kSymlink, kHardlink
  uint32_t mode = 0644;
  int64_t uid = 0;
  int64_t gid = 0;
};

TarEntry file(std::string name, std::string content, uint32_t mode = 0644);
TarEntry dir(std::string name, uint32_t mode = 0755);
TarEntry symlink(std::string name, std::string target);
TarEntry hardlink(std::string name, std::string target);

// Writes the entries, in order, as a tar at `path`; returns the tar's sha256 (its DiffID).
Digest write_tar(const std::string& path, const std::vector<TarEntry>& entries,
                 Compression compression = Compression::kNone);

// An image layout at `layout_dir` whose layers hold `layers` (LayerTree entries, sorted by
// the test), named NAME:TAG with index annotations like strata writes.
oci::WrittenImage write_image(const std::string& layout_dir,
                              const std::vector<std::vector<LayerEntry>>& layers,
                              const std::string& name = "test", const std::string& tag = "1.0",
                              Compression compression = Compression::kGzip);

LayerEntry file_entry(std::string path, std::string content, uint32_t mode = 0644);
LayerEntry dir_entry(std::string path, uint32_t mode = 0755);
LayerEntry symlink_entry(std::string path, std::string target);

// "f:<content>", "d", "l:<target>" for every path below `root`, sorted; for tree checks.
std::vector<std::string> list_tree(const std::string& root);

}  // namespace strata::builder::testing
