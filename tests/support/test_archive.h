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

// One entry of an archive written in memory by archive_bytes, with libarchive's file types
// (AE_IFREG, AE_IFDIR, AE_IFLNK, AE_IFCHR ...).
struct ArchiveItem {
  std::string path;
  unsigned type = 0100000;  // AE_IFREG
  std::string content;      // regular files
  std::string link;         // symlink target
  std::string hardlink;     // hardlink target
  unsigned mode = 0644;
};

// `items` as an ar archive (`ar`: a .deb's outer layer) or a gzip tar, in memory (at most
// 16 MiB); a character device is 1:3.
std::string archive_bytes(const std::vector<ArchiveItem>& items, bool ar);

// A .deb in memory: debian-binary, control.tar.gz (`control` as ./control, then
// `control_files`) and data.tar.gz of `data`.
std::string deb_bytes(const std::string& control, const std::vector<ArchiveItem>& data,
                      const std::vector<ArchiveItem>& control_files = {});

}  // namespace strata::builder::testing
