// Test helpers: archives written with libarchive exactly as a test describes them,
// including the entries a safe unpacker must refuse (../, absolute paths, devices).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace strata::builder::testing {

enum class TestFormat { kTar, kTarGz, kTarXz, kTarBz2, kTarZst, kZip };

struct TestEntry {
  std::string path;
  char type = 'f';  // 'f' file, 'd' directory, 'l' symlink, 'h' hardlink, 'c' char device, 'p' fifo
  std::string content;  // a file's bytes, or a link's target
  uint32_t mode = 0644;
  int64_t mtime = 1'600'000'000;
};

// Writes `entries` in order to `path`; aborts the test binary if libarchive fails.
void write_test_archive(const std::string& path, TestFormat format,
                        const std::vector<TestEntry>& entries);

// The file name suffix for a format: ".tar.gz" and so on.
const char* test_suffix(TestFormat format);

}  // namespace strata::builder::testing
