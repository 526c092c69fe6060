#include "builder/tar/archive.h"

#include <fmt/format.h>

#include "builder/tar/compressor.h"

namespace strata::builder {

ArchiveWriter new_archive_writer() {
  ArchiveWriter a(archive_write_new());
  STRATA_CHECK(a != nullptr);
  return a;
}

ArchiveReader new_archive_reader() {
  ArchiveReader a(archive_read_new());
  STRATA_CHECK(a != nullptr);
  return a;
}

ArchiveEntry new_archive_entry() {
  ArchiveEntry e(archive_entry_new());
  STRATA_CHECK(e != nullptr);
  return e;
}

Result<void> archive_check(archive* a, int rc, std::string_view what) {
  if (rc == ARCHIVE_OK || rc == ARCHIVE_WARN) return Ok{};
  const char* message = archive_error_string(a);
  return Error(ErrorCode::kIo, fmt::format("{}: {}", what, message ? message : "libarchive error"));
}

ScopedUtf8Locale::ScopedUtf8Locale() : utf8_(::newlocale(LC_ALL_MASK, "C.UTF-8", nullptr)) {
  // glibc >= 2.35 always provides C.UTF-8 (Debian 12 has 2.36).
  STRATA_CHECK(utf8_ != nullptr);
  previous_ = ::uselocale(utf8_);
}

ScopedUtf8Locale::~ScopedUtf8Locale() {
  ::uselocale(previous_);
  ::freelocale(utf8_);
}

std::string libarchive_versions() {
  return std::string(::archive_version_details()) + " " + compressor_versions();
}

}  // namespace strata::builder
