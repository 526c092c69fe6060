#include "builder/tar/archive.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>

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

ArchiveReader new_raw_reader() {
  ArchiveReader r = new_archive_reader();
  archive_read_support_filter_all(r.get());
  archive_read_support_format_raw(r.get());
  return r;
}

Result<Digest> hash_decompressed(archive* a, int64_t max_bytes, std::string_view what) {
  Sha256 hash;
  archive_entry* h = nullptr;
  int rc = archive_read_next_header(a, &h);
  if (rc == ARCHIVE_EOF) return hash.finish();  // an empty stream
  STRATA_TRY(archive_check(a, rc, fmt::format("reading {}", what)));
  int64_t total = 0;
  const void* buf = nullptr;
  size_t size = 0;
  la_int64_t offset = 0;
  while ((rc = archive_read_data_block(a, &buf, &size, &offset)) == ARCHIVE_OK) {
    total += static_cast<int64_t>(size);
    if (total > max_bytes) {
      return Error(
          ErrorCode::kInvalidInput,
          fmt::format("{} decompresses to more than the {} bytes expected", what, max_bytes));
    }
    hash.update(buf, size);
  }
  if (rc != ARCHIVE_EOF) STRATA_TRY(archive_check(a, rc, fmt::format("decompressing {}", what)));
  return hash.finish();
}

Result<std::unique_ptr<DiffIdTarReader>> DiffIdTarReader::open(const std::string& path,
                                                               std::string what,
                                                               int64_t max_bytes) {
  std::unique_ptr<DiffIdTarReader> r(new DiffIdTarReader());
  r->what_ = std::move(what);
  r->max_bytes_ = max_bytes;
  r->outer_ = new_archive_reader();
  archive_read_support_filter_all(r->outer_.get());
  archive_read_support_format_raw(r->outer_.get());
  STRATA_TRY(archive_check(r->outer_.get(),
                           archive_read_open_filename(r->outer_.get(), path.c_str(), 1 << 16),
                           r->what_));
  archive_entry* raw = nullptr;
  STRATA_TRY(
      archive_check(r->outer_.get(), archive_read_next_header(r->outer_.get(), &raw), r->what_));
  r->inner_ = new_archive_reader();
  archive_read_support_format_tar(r->inner_.get());
  archive_read_support_format_empty(r->inner_.get());
  STRATA_TRY(archive_check(r->inner_.get(),
                           archive_read_open(r->inner_.get(), r.get(), nullptr,
                                             &DiffIdTarReader::read_decompressed, nullptr),
                           r->what_));
  return r;
}

la_ssize_t DiffIdTarReader::read_decompressed(archive* inner, void* client,
                                              const void** out) noexcept {
  auto* r = static_cast<DiffIdTarReader*>(client);
  la_ssize_t n = archive_read_data(r->outer_.get(), r->buffer_.data(), r->buffer_.size());
  if (n < 0) {
    const char* why = archive_error_string(r->outer_.get());
    archive_set_error(inner, EIO, "decompressing: %s", why ? why : "error");
    return -1;
  }
  if (!r->take(n)) {
    // libarchive's own formatter knows no %lld.
    std::array<char, 64> why{};
    std::snprintf(why.data(), why.size(), "it decompresses to more than %lld bytes",
                  static_cast<long long>(r->max_bytes_));
    archive_set_error(inner, EFBIG, "%s", why.data());
    return -1;
  }
  *out = r->buffer_.data();
  return n;
}

bool DiffIdTarReader::take(la_ssize_t n) {
  size_ += n;
  if (size_ > max_bytes_) return false;
  hash_.update(buffer_.data(), static_cast<size_t>(n));
  return true;
}

Result<Digest> DiffIdTarReader::finish() {
  for (;;) {
    la_ssize_t n = archive_read_data(outer_.get(), buffer_.data(), buffer_.size());
    if (n == 0) return hash_.finish();
    if (n < 0) STRATA_TRY(archive_check(outer_.get(), ARCHIVE_FATAL, what_ + ": decompressing"));
    if (!take(n)) {
      return Error(ErrorCode::kInvalidInput,
                   fmt::format("{}: it decompresses to more than {} bytes", what_, max_bytes_));
    }
  }
}

std::string libarchive_versions() {
  return std::string(::archive_version_details()) + " " + compressor_versions();
}

}  // namespace strata::builder
