#include "tests/support/test_image.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <filesystem>

#include "builder/tar/archive.h"

namespace strata::builder::testing {

TarEntry file(std::string name, std::string content, uint32_t mode) {
  return {.name = std::move(name), .content = std::move(content), .mode = mode};
}
TarEntry dir(std::string name, uint32_t mode) {
  return {.name = std::move(name), .kind = TarEntry::Kind::kDir, .mode = mode};
}
TarEntry symlink(std::string name, std::string target) {
  return {.name = std::move(name),
          .kind = TarEntry::Kind::kSymlink,
          .link = std::move(target),
          .mode = 0777};
}
TarEntry hardlink(std::string name, std::string target) {
  return {.name = std::move(name), .kind = TarEntry::Kind::kHardlink, .link = std::move(target)};
}

Digest write_tar(const std::string& path, const std::vector<TarEntry>& entries,
                 Compression compression) {
  ScopedUtf8Locale utf8;
  ArchiveWriter w = new_archive_writer();
  archive_write_set_format_pax_restricted(w.get());
  if (compression == Compression::kGzip) archive_write_add_filter_gzip(w.get());
  if (compression == Compression::kZstd) archive_write_add_filter_zstd(w.get());
  EXPECT_EQ(archive_write_open_filename(w.get(), path.c_str()), ARCHIVE_OK);
  for (const TarEntry& e : entries) {
    ArchiveEntry h = new_archive_entry();
    archive_entry_set_pathname(h.get(), e.name.c_str());
    archive_entry_set_perm(h.get(), e.mode);
    archive_entry_set_uid(h.get(), e.uid);
    archive_entry_set_gid(h.get(), e.gid);
    archive_entry_set_mtime(h.get(), 1000, 0);
    switch (e.kind) {
      case TarEntry::Kind::kFile:
        archive_entry_set_filetype(h.get(), AE_IFREG);
        archive_entry_set_size(h.get(), static_cast<la_int64_t>(e.content.size()));
        break;
      case TarEntry::Kind::kDir:
        archive_entry_set_filetype(h.get(), AE_IFDIR);
        break;
      case TarEntry::Kind::kSymlink:
        archive_entry_set_filetype(h.get(), AE_IFLNK);
        archive_entry_set_symlink(h.get(), e.link.c_str());
        break;
      case TarEntry::Kind::kHardlink:
        archive_entry_set_filetype(h.get(), AE_IFREG);
        archive_entry_set_hardlink(h.get(), e.link.c_str());
        break;
      case TarEntry::Kind::kFifo:
        archive_entry_set_filetype(h.get(), AE_IFIFO);
        break;
      case TarEntry::Kind::kCharDevice:
        archive_entry_set_filetype(h.get(), AE_IFCHR);
        archive_entry_set_rdev(h.get(), makedev(1, 3));
        break;
    }
    EXPECT_EQ(archive_write_header(w.get(), h.get()), ARCHIVE_OK) << e.name;
    if (!e.content.empty()) {
      archive_write_data(w.get(), e.content.data(), e.content.size());
    }
  }
  EXPECT_EQ(archive_write_close(w.get()), ARCHIVE_OK);
  if (compression != Compression::kNone) return Digest{};
  return *sha256_file(path);
}

oci::WrittenImage write_image(const std::string& layout_dir,
                              const std::vector<std::vector<LayerEntry>>& layers,
                              const std::string& name, const std::string& tag,
                              Compression compression) {
  auto blobs_dir = oci::prepare_layout_dir(layout_dir);
  EXPECT_TRUE(blobs_dir.ok());
  std::vector<LayerBlob> blobs;
  std::vector<oci::HistoryEntry> history;
  for (const std::vector<LayerEntry>& entries : layers) {
    auto blob = write_layer_blob(entries, {.compression = compression, .mtime = 1000}, *blobs_dir);
    EXPECT_TRUE(blob.ok()) << blob.error().message();
    blobs.push_back(*blob);
    history.push_back({.created_by = "test layer"});
  }
  specs::Image image;
  image.architecture = "amd64";
  image.config.env = {{"PATH", "/bin"}};
  auto written = oci::write_layout_documents(
      layout_dir, oci::make_config(image, 1000, blobs, history), blobs, {},
      {.name = name, .tag = tag, .os = "linux", .architecture = "amd64"});
  EXPECT_TRUE(written.ok()) << written.error().message();
  return *written;
}

LayerEntry file_entry(std::string path, std::string content, uint32_t mode) {
  int64_t size = static_cast<int64_t>(content.size());
  return {.path = std::move(path), .mode = mode, .content = std::move(content), .size = size};
}
LayerEntry dir_entry(std::string path, uint32_t mode) {
  return {.path = std::move(path), .type = EntryType::kDirectory, .mode = mode};
}
LayerEntry symlink_entry(std::string path, std::string target) {
  return {.path = std::move(path),
          .type = EntryType::kSymlink,
          .mode = 0777,
          .link_target = std::move(target)};
}

std::vector<std::string> list_tree(const std::string& root) {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    std::string rel = e.path().lexically_relative(root).string();
    if (e.is_symlink()) {
      out.push_back(rel + " l:" + fs::read_symlink(e.path()).string());
    } else if (e.is_directory()) {
      out.push_back(rel + " d");
    } else {
      out.push_back(rel + " f:" + *read_file(e.path().string()));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace strata::builder::testing
