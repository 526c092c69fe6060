#include "tests/support/test_archive.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "builder/base/check.h"
#include "builder/tar/archive.h"

namespace strata::builder::testing {
namespace {

void set_format(archive* a, TestFormat format) {
  if (format == TestFormat::kZip) {
    STRATA_CHECK(archive_write_set_format_zip(a) == ARCHIVE_OK);
    return;
  }
  STRATA_CHECK(archive_write_set_format_pax_restricted(a) == ARCHIVE_OK);
  switch (format) {
    case TestFormat::kTarGz:
      STRATA_CHECK(archive_write_add_filter_gzip(a) == ARCHIVE_OK);
      break;
    case TestFormat::kTarXz:
      STRATA_CHECK(archive_write_add_filter_xz(a) == ARCHIVE_OK);
      break;
    case TestFormat::kTarBz2:
      STRATA_CHECK(archive_write_add_filter_bzip2(a) == ARCHIVE_OK);
      break;
    case TestFormat::kTarZst:
      STRATA_CHECK(archive_write_add_filter_zstd(a) == ARCHIVE_OK);
      break;
    default:
      break;
  }
}

mode_t file_type(char type) {
  switch (type) {
    case 'd':
      return AE_IFDIR;
    case 'l':
      return AE_IFLNK;
    case 'c':
      return AE_IFCHR;
    case 'p':
      return AE_IFIFO;
    default:
      return AE_IFREG;
  }
}

}  // namespace

const char* test_suffix(TestFormat format) {
  switch (format) {
    case TestFormat::kTar:
      return ".tar";
    case TestFormat::kTarGz:
      return ".tar.gz";
    case TestFormat::kTarXz:
      return ".tar.xz";
    case TestFormat::kTarBz2:
      return ".tar.bz2";
    case TestFormat::kTarZst:
      return ".tar.zst";
    case TestFormat::kZip:
      return ".zip";
  }
  return "";
}

void write_test_archive(const std::string& path, TestFormat format,
                        const std::vector<TestEntry>& entries) {
  ScopedUtf8Locale utf8;
  ArchiveWriter writer = new_archive_writer();
  archive* a = writer.get();
  set_format(a, format);
  STRATA_CHECK(archive_write_open_filename(a, path.c_str()) == ARCHIVE_OK);
  for (const TestEntry& e : entries) {
    ArchiveEntry entry = new_archive_entry();
    archive_entry* h = entry.get();
    archive_entry_set_pathname(h, e.path.c_str());
    archive_entry_set_mtime(h, e.mtime, 0);
    archive_entry_set_perm(h, e.mode);
    if (e.type == 'h') {
      archive_entry_set_filetype(h, AE_IFREG);
      archive_entry_set_hardlink(h, e.content.c_str());
      archive_entry_set_size(h, 0);
    } else {
      archive_entry_set_filetype(h, file_type(e.type));
      if (e.type == 'l') archive_entry_set_symlink(h, e.content.c_str());
      if (e.type == 'c') archive_entry_set_rdev(h, makedev(1, 3));
      archive_entry_set_size(h, e.type == 'f' ? static_cast<la_int64_t>(e.content.size()) : 0);
    }
    STRATA_CHECK(archive_write_header(a, h) >= ARCHIVE_WARN);
    if (e.type == 'f' && !e.content.empty()) {
      STRATA_CHECK(archive_write_data(a, e.content.data(), e.content.size()) ==
                   static_cast<la_ssize_t>(e.content.size()));
    }
  }
  STRATA_CHECK(archive_write_close(a) == ARCHIVE_OK);
}

std::string archive_bytes(const std::vector<ArchiveItem>& items, bool ar) {
  ArchiveWriter a = new_archive_writer();
  if (ar) {
    STRATA_CHECK(archive_write_set_format_ar_svr4(a.get()) == ARCHIVE_OK);
  } else {
    STRATA_CHECK(archive_write_set_format_pax_restricted(a.get()) == ARCHIVE_OK);
    STRATA_CHECK(archive_write_add_filter_gzip(a.get()) == ARCHIVE_OK);
  }
  std::string out(16 << 20, '\0');
  size_t used = 0;
  STRATA_CHECK(archive_write_open_memory(a.get(), out.data(), out.size(), &used) == ARCHIVE_OK);
  for (const ArchiveItem& item : items) {
    ArchiveEntry e = new_archive_entry();
    archive_entry_set_pathname(e.get(), item.path.c_str());
    archive_entry_set_filetype(e.get(), item.type);
    archive_entry_set_perm(e.get(), item.mode);
    if (!item.link.empty()) archive_entry_set_symlink(e.get(), item.link.c_str());
    if (!item.hardlink.empty()) archive_entry_set_hardlink(e.get(), item.hardlink.c_str());
    if (item.type == AE_IFCHR) archive_entry_set_rdev(e.get(), makedev(1, 3));
    if (item.type == AE_IFREG && item.hardlink.empty()) {
      archive_entry_set_size(e.get(), static_cast<la_int64_t>(item.content.size()));
    }
    STRATA_CHECK(archive_write_header(a.get(), e.get()) == ARCHIVE_OK);
    if (!item.content.empty()) {
      archive_write_data(a.get(), item.content.data(), item.content.size());
    }
  }
  STRATA_CHECK(archive_write_close(a.get()) == ARCHIVE_OK);
  out.resize(used);
  return out;
}

std::string deb_bytes(const std::string& control, const std::vector<ArchiveItem>& data,
                      const std::vector<ArchiveItem>& control_files) {
  std::vector<ArchiveItem> c = {{.path = "./control", .content = control}};
  c.insert(c.end(), control_files.begin(), control_files.end());
  return archive_bytes({{.path = "debian-binary", .content = "2.0\n"},
                        {.path = "control.tar.gz", .content = archive_bytes(c, false)},
                        {.path = "data.tar.gz", .content = archive_bytes(data, false)}},
                       true);
}

}  // namespace strata::builder::testing
