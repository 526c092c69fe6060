// The one wrapper around libarchive: owners for archive handles and entries, and the
// conversion of libarchive's return codes into Result (docs/style.md §4).
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <locale.h>

#include <array>
#include <limits>
#include <memory>
#include <string>
#include <string_view>

#include "builder/base/digest.h"
#include "builder/base/result.h"

namespace strata::builder {

struct ArchiveWriteFree {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct ArchiveReadFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct ArchiveEntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};
using ArchiveWriter = std::unique_ptr<archive, ArchiveWriteFree>;
using ArchiveReader = std::unique_ptr<archive, ArchiveReadFree>;
using ArchiveEntry = std::unique_ptr<archive_entry, ArchiveEntryFree>;

ArchiveWriter new_archive_writer();
ArchiveReader new_archive_reader();
ArchiveEntry new_archive_entry();

// Sets this thread's locale to C.UTF-8 for its lifetime. libarchive converts names through
// the current locale; without this a UTF-8 name under LANG=C fails the conversion (and
// libarchive 3.6 crashes on it), and under another charset the bytes would differ. With a
// fixed UTF-8 locale the tar bytes never depend on the user's environment.
class ScopedUtf8Locale {
 public:
  ScopedUtf8Locale();
  ~ScopedUtf8Locale();
  ScopedUtf8Locale(const ScopedUtf8Locale&) = delete;
  ScopedUtf8Locale& operator=(const ScopedUtf8Locale&) = delete;

 private:
  locale_t utf8_;
  locale_t previous_;
};

// ARCHIVE_OK (and ARCHIVE_WARN, which libarchive uses for recoverable notes) is success;
// anything else becomes an Error "<what>: <archive_error_string>".
Result<void> archive_check(archive* a, int rc, std::string_view what);

// A reader of libarchive's raw format with every decompression filter: any byte stream is one
// entry, its content the stream decompressed. Not yet opened.
ArchiveReader new_raw_reader();

// The sha256 of everything the opened raw reader `a` decompresses to (a layer blob's DiffID).
// More than `max_bytes` of it is an error (kInvalidInput) rather than read to its end; `what`
// names the stream in errors.
Result<Digest> hash_decompressed(archive* a, int64_t max_bytes, std::string_view what);

// A layer blob (gzip, zstd, any filter libarchive reads, or plain tar) read as tar while its
// DiffID, the sha256 of the decompressed stream, is computed in the same pass. libarchive
// hands out entries, never the tar bytes, so two readers are chained: the outer one (raw
// format, every filter) decompresses the file, and the inner one parses tar from a callback
// that hashes each decompressed block on the way.
class DiffIdTarReader {
 public:
  // Opens `path`; `what` prefixes errors ("reading layer PATH"). More than `max_bytes` of
  // decompressed bytes is an error (a blob from elsewhere that expands without bound).
  static Result<std::unique_ptr<DiffIdTarReader>> open(
      const std::string& path, std::string what,
      int64_t max_bytes = std::numeric_limits<int64_t>::max());
  // The tar reader, for archive_read_next_header and friends.
  archive* tar() const { return inner_.get(); }
  // After the last entry: hashes what the tar reader left unread (the end-of-archive blocks
  // and record padding) and returns the DiffID.
  Result<Digest> finish();
  // The decompressed bytes read so far (after finish(): the tar's size).
  int64_t size() const { return size_; }

 private:
  DiffIdTarReader() = default;
  static la_ssize_t read_decompressed(archive* inner, void* client, const void** out) noexcept;

  ArchiveReader outer_;
  ArchiveReader inner_;
  // Hashes and counts `n` decompressed bytes; false past max_bytes_.
  bool take(la_ssize_t n);

  Sha256 hash_;
  int64_t size_ = 0;
  int64_t max_bytes_ = 0;
  std::string what_;
  std::array<char, 1 << 16> buffer_{};
};

// The versions of the libraries whose output bytes are part of the determinism profile,
// e.g. "libarchive 3.6.2 zlib/1.2.13 liblzma/5.4.1 bz2lib/1.0.8 libzstd/1.5.4 libdeflate/1.14
// libzstd/1.5.4" (libarchive's own list, then the layer compressors').
std::string libarchive_versions();

}  // namespace strata::builder
