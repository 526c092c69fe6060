#include "builder/tar/layer_reader.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include "builder/base/fd.h"
#include "builder/tar/archive.h"

namespace strata::builder {
namespace {

ArchiveReader open_reader() {
  ArchiveReader r = new_archive_reader();
  archive_read_support_filter_all(r.get());
  archive_read_support_format_tar(r.get());
  return r;
}

ReadEntry describe(archive_entry* h) {
  ReadEntry e;
  std::string path = archive_entry_pathname(h) ? archive_entry_pathname(h) : "";
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  e.path = std::move(path);
  e.mode = archive_entry_perm(h);
  e.uid = archive_entry_uid(h);
  e.gid = archive_entry_gid(h);
  e.uname = archive_entry_uname(h) ? archive_entry_uname(h) : "";
  e.gname = archive_entry_gname(h) ? archive_entry_gname(h) : "";
  e.size = archive_entry_size(h);
  e.mtime = archive_entry_mtime(h);
  e.has_atime = archive_entry_atime_is_set(h);
  e.has_ctime = archive_entry_ctime_is_set(h);
  if (const char* hl = archive_entry_hardlink(h)) {
    e.type = EntryType::kHardlink;
    e.link_target = hl;
  } else {
    switch (archive_entry_filetype(h)) {
      case AE_IFREG:
        e.type = EntryType::kRegular;
        break;
      case AE_IFDIR:
        e.type = EntryType::kDirectory;
        break;
      case AE_IFLNK:
        e.type = EntryType::kSymlink;
        e.link_target = archive_entry_symlink(h) ? archive_entry_symlink(h) : "";
        break;
      default:
        e.is_other_type = true;
    }
  }
  archive_entry_xattr_reset(h);
  const char* name = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  while (archive_entry_xattr_next(h, &name, &value, &size) == ARCHIVE_OK) {
    e.xattrs[name] = std::string(static_cast<const char*>(value), size);
  }
  return e;
}

Result<int64_t> read_all(archive* a, const EntryVisitor& visit, std::string_view what) {
  ScopedUtf8Locale utf8;
  int64_t count = 0;
  for (;;) {
    archive_entry* h = nullptr;
    int rc = archive_read_next_header(a, &h);
    if (rc == ARCHIVE_EOF) break;
    STRATA_TRY(archive_check(a, rc, fmt::format("reading {}", what)));
    ReadEntry e = describe(h);
    if (e.type == EntryType::kRegular) {
      Sha256 hash;
      const void* buf = nullptr;
      size_t size = 0;
      la_int64_t offset = 0;
      while ((rc = archive_read_data_block(a, &buf, &size, &offset)) == ARCHIVE_OK) {
        hash.update(buf, size);
      }
      if (rc != ARCHIVE_EOF)
        STRATA_TRY(archive_check(a, rc, fmt::format("reading {}: {}", what, e.path)));
      e.content_digest = hash.finish();
    }
    STRATA_TRY(visit(e));
    ++count;
  }
  return count;
}

// A tar path as a layer's records name it: "./etc/motd" and "/etc/motd" are "etc/motd".
std::string_view record_path(std::string_view p) {
  while (p.starts_with("./") || p.starts_with("/")) p.remove_prefix(p.front() == '.' ? 2 : 1);
  return p;
}

}  // namespace

Result<int64_t> read_layer_file(const std::string& path, const EntryVisitor& visit,
                                Digest* diff_id) {
  if (diff_id != nullptr) {
    STRATA_TRY_ASSIGN(std::unique_ptr<DiffIdTarReader> r,
                      DiffIdTarReader::open(path, fmt::format("opening {}", path)));
    STRATA_TRY_ASSIGN(int64_t count, read_all(r->tar(), visit, path));
    STRATA_TRY_ASSIGN(*diff_id, r->finish());
    return count;
  }
  ArchiveReader r = open_reader();
  STRATA_TRY(archive_check(r.get(), archive_read_open_filename(r.get(), path.c_str(), 1 << 16),
                           fmt::format("opening {}", path)));
  return read_all(r.get(), visit, path);
}

Result<void> read_layer_files(const std::string& path, int64_t max_tar_bytes, LayerBlob& blob) {
  // Read as a list first: a hardlink may name any earlier file, so every record is at hand
  // until the last link is filled in.
  std::vector<LayerFile> files;
  STRATA_TRY_ASSIGN(std::unique_ptr<DiffIdTarReader> r,
                    DiffIdTarReader::open(path, fmt::format("reading {}", path), max_tar_bytes));
  STRATA_TRY_ASSIGN(blob.entry_count, read_all(
                                          r->tar(),
                                          [&](const ReadEntry& e) -> Result<void> {
                                            if (e.is_other_type) return Ok{};
                                            LayerFile f{
                                                .path = std::string(record_path(e.path)),
                                                .type = e.type,
                                                .mode = e.mode,
                                                .uid = e.uid,
                                                .gid = e.gid,
                                                .size = e.type == EntryType::kRegular ? e.size : 0,
                                                .sha256 = PackedDigest::of(e.content_digest),
                                                .link_target = e.link_target};
                                            if (f.path.empty() || f.path == ".") return Ok{};
                                            files.push_back(std::move(f));
                                            return Ok{};
                                          },
                                          path));
  // A hardlink that names no earlier file (a hostile tar) keeps no digest.
  fill_hardlink_digests(files, &record_path);
  blob.files = FileRecords(files);
  STRATA_TRY_ASSIGN(blob.diff_id, r->finish());
  blob.tar_size = r->size();
  return Ok{};
}

Result<Digest> decompressed_digest(const std::string& path, int64_t max_bytes,
                                   std::string_view what) {
  ArchiveReader r = new_raw_reader();
  STRATA_TRY(archive_check(r.get(), archive_read_open_filename(r.get(), path.c_str(), 1 << 16),
                           fmt::format("opening {}", what)));
  return hash_decompressed(r.get(), max_bytes, what);
}

Result<int64_t> read_layer_bytes(std::string_view bytes, const EntryVisitor& visit) {
  ArchiveReader r = open_reader();
  STRATA_TRY(archive_check(r.get(), archive_read_open_memory(r.get(), bytes.data(), bytes.size()),
                           "opening layer"));
  return read_all(r.get(), visit, "layer");
}

}  // namespace strata::builder
