#include "builder/oci/staged_layout.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/oci/layout_writer.h"
#include "builder/tar/tar_writer.h"

namespace strata::builder::oci {

Result<StagedLayout::Parent> StagedLayout::Parent::prepare(const std::string& dir) {
  struct stat st;
  bool existed = ::stat(dir.c_str(), &st) == 0;
  STRATA_TRY(make_dirs(dir));
  return Parent(dir, !existed);
}

StagedLayout::Parent::~Parent() {
  // rmdir only removes directories left empty, so a failure leaves no new directory behind.
  if (created_) {
    for (std::string d = dir_; d != "." && d != "/" && ::rmdir(d.c_str()) == 0;) d = dirname_of(d);
  }
}

Result<StagedLayout> StagedLayout::create(const std::string& final_dir) {
  STRATA_TRY_ASSIGN(Parent parent, Parent::prepare(dirname_of(final_dir)));
  STRATA_TRY_ASSIGN(TempDir staging,
                    TempDir::create(dirname_of(final_dir), "." + basename_of(final_dir) + ".tmp-"));
  StagedLayout layout(final_dir, std::move(parent), std::move(staging));
  // mkdtemp makes 0700 directories; the published layout is as readable as any output.
  if (::chmod(layout.dir().c_str(), 0755) != 0) {
    return Error::sys(fmt::format("chmod {}", layout.dir()), errno);
  }
  STRATA_TRY_ASSIGN(layout.blobs_dir_, prepare_layout_dir(layout.dir()));
  return layout;
}

Result<void> StagedLayout::stage_archive(const std::string& archive_path, int64_t mtime) {
  STRATA_TRY_ASSIGN(AtomicFile file, AtomicFile::create(archive_path));
  FdBlobOutput out(file.fd(), file.temp_path());
  STRATA_TRY(write_layout_archive(dir(), out, mtime));
  archive_.emplace(std::move(file));
  archive_path_ = archive_path;
  return Ok{};
}

Result<void> StagedLayout::publish() {
  STRATA_TRY(publish_dir(staging_.path(), final_dir_));
  staging_.release();
  if (archive_) STRATA_TRY(archive_->commit(archive_path_));
  parent_.keep();
  return Ok{};
}

}  // namespace strata::builder::oci
