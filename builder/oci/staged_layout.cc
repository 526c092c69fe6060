#include "builder/oci/staged_layout.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <filesystem>

#include "builder/base/beneath.h"
#include "builder/base/fs.h"
#include "builder/base/json.h"
#include "builder/base/owner.h"
#include "builder/oci/layout_writer.h"
#include "builder/tar/tar_writer.h"

namespace strata::builder::oci {
namespace {

// fsyncs `dir`, and below it every directory and regular file, not following symlinks.
Result<void> fsync_tree(const std::string& dir) {
  std::error_code ec;
  std::filesystem::recursive_directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::filesystem::file_status st = it->symlink_status(ec);
    if (ec) break;
    if (!std::filesystem::is_regular_file(st) && !std::filesystem::is_directory(st)) continue;
    std::string path = it->path().string();
    STRATA_TRY_ASSIGN(UniqueFd fd, open_fd(path, O_RDONLY | O_NOFOLLOW));
    if (::fsync(fd.get()) != 0) return Error::sys(fmt::format("fsync {}", path), errno);
  }
  if (ec) return Error::sys(fmt::format("list {}", dir), ec.value());
  return fsync_dir(dir);
}

constexpr char kJournal[] = "publish.json";
constexpr char kLayout[] = "layout";
constexpr char kOldLayout[] = "old";

// Test-only (tests/e2e/publish.sh): STRATA_TEST_PAUSE_AT=POINT stops the process (SIGSTOP)
// when publishing reaches POINT, so a test can look at out/ then kill -9 it exactly there.
// Points: "journaled", "layout-swapped", "companion-moved". Read once, never otherwise used.
void test_pause_at(std::string_view point) {
  static const char* wanted = std::getenv("STRATA_TEST_PAUSE_AT");
  if (wanted != nullptr && point == wanted) ::raise(SIGSTOP);
}

Result<void> unlink_if_exists(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Error::sys(fmt::format("remove {}", path), errno);
  }
  return Ok{};
}

Result<void> rename_path(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return Error::sys(fmt::format("rename {} to {}", from, to), errno);
  }
  return Ok{};
}

// Whether the layout at `dir` lists `manifest` in its index.json.
bool layout_holds(const std::string& dir, const Digest& manifest) {
  auto text = read_file(dir + "/index.json");
  if (!text.ok()) return false;
  auto index = parse_json(*text, dir + "/index.json");
  if (!index.ok() || !index->contains("manifests") || !(*index)["manifests"].is_array()) {
    return false;
  }
  for (const Json& m : (*index)["manifests"]) {
    if (m.is_object() && m.value("digest", "") == manifest.str()) return true;
  }
  return false;
}

// STAGING/layout in for `final_dir`; what was there ends as STAGING/old. A kill between the
// exchange and the rename leaves the old tree, whole, as STAGING/layout: finish_publish tells
// it from the new one by its manifest digest.
Result<void> swap_layout(const std::string& staging, const std::string& final_dir) {
  std::string layout = staging + "/" + kLayout, old = staging + "/" + kOldLayout;
  if (::renameat2(AT_FDCWD, layout.c_str(), AT_FDCWD, final_dir.c_str(), RENAME_EXCHANGE) == 0) {
    return rename_path(layout, old);
  }
  if (errno == ENOENT) return rename_path(layout, final_dir);
  if (errno != EINVAL) {
    return Error::sys(fmt::format("exchange {} with {}", layout, final_dir), errno);
  }
  // Filesystems without RENAME_EXCHANGE (FUSE ones such as disorderfs): the old tree moves
  // aside first, so for a moment `final_dir` does not exist.
  STRATA_TRY(rename_path(final_dir, old));
  return rename_path(layout, final_dir);
}

Result<PublishJournal> read_journal(const std::string& path) {
  STRATA_TRY_ASSIGN(std::string text, read_file(path));
  STRATA_TRY_ASSIGN(Json j, parse_json(text, path));
  PublishJournal journal;
  if (!j.is_object() || !j.value("name", Json()).is_string()) {
    return Error::io(fmt::format("{}: not a publish journal", path));
  }
  journal.name = j["name"].get<std::string>();
  STRATA_TRY_ASSIGN(journal.manifest, Digest::parse(j.value("manifest", "")));
  for (const char* key : {"files", "remove"}) {
    std::vector<std::string>& out = key[0] == 'f' ? journal.files : journal.remove;
    for (const Json& f : j.value(key, Json::array())) {
      // Only plain names beside the layout: a journal never moves anything elsewhere.
      if (!f.is_string() || f.get<std::string>().find('/') != std::string::npos ||
          f.get<std::string>().empty() || f.get<std::string>()[0] == '.') {
        return Error::io(fmt::format("{}: bad file name in the journal", path));
      }
      out.push_back(f.get<std::string>());
    }
  }
  return journal;
}

Result<std::string> journal_text(const PublishJournal& journal) {
  Json j = {{"name", journal.name},
            {"manifest", journal.manifest.str()},
            {"files", journal.files},
            {"remove", journal.remove}};
  return canonical_json(j);
}

// Under the lock on `name`: completes every journaled publish a gone build of `name` left,
// then removes the temporaries of `name` whose owner is gone (staging directories, an old
// tree moved aside, atomic files).
Result<void> recover_output(const std::string& output_root, const std::string& name) {
  std::string staging_prefix = "." + name + ".tmp-";
  STRATA_TRY_ASSIGN(std::vector<std::string> entries, list_dir(output_root));
  for (const std::string& entry : entries) {
    std::string_view prefixes[] = {staging_prefix};
    if (!is_stale_temporary(entry, prefixes)) continue;
    std::string staging = output_root + "/" + entry;
    std::string journal_path = staging + "/" + kJournal;
    if (!path_exists(journal_path)) continue;
    // A journal is written atomically, so an unreadable one was damaged by something else:
    // its directory is then swept like an unpublished one instead of blocking every build.
    Result<PublishJournal> journal = read_journal(journal_path);
    if (!journal.ok() || journal->name != name) continue;
    STRATA_TRY_CONTEXT(finish_publish(output_root, staging, *journal),
                       fmt::format("finishing the publish a killed build of {} left", name));
  }
  std::string old_prefix = name + ".old-";
  std::string_view prefixes[] = {staging_prefix, old_prefix, kAtomicFilePrefix};
  remove_stale_temporaries(output_root, prefixes);
  return Ok{};
}

}  // namespace

Result<void> finish_publish(const std::string& output_root, const std::string& staging,
                            const PublishJournal& journal) {
  const std::string final_dir = output_root + "/" + journal.name;
  // 1. No companion of the old set stays once the layout changes: those this set does not
  //    have, and those it replaces (a kill after the swap must not leave them beside it).
  for (const std::string& f : journal.remove) STRATA_TRY(unlink_if_exists(output_root + "/" + f));
  for (const std::string& f : journal.files) {
    if (path_exists(staging + "/" + f)) STRATA_TRY(unlink_if_exists(output_root + "/" + f));
  }
  // 2. The layout, unless an earlier attempt swapped it in already.
  std::string layout = staging + "/" + kLayout;
  if (path_exists(layout) && layout_holds(layout, journal.manifest)) {
    STRATA_TRY(swap_layout(staging, final_dir));
    test_pause_at("layout-swapped");
  }
  // 3. The new companions.
  for (const std::string& f : journal.files) {
    std::string from = staging + "/" + f;
    if (!path_exists(from)) continue;
    STRATA_TRY(rename_path(from, output_root + "/" + f));
    test_pause_at("companion-moved");
  }
  STRATA_TRY(fsync_dir(output_root));
  STRATA_TRY(unlink_if_exists(staging + "/" + kJournal));
  return Ok{};
}

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

Result<StagedLayout> StagedLayout::create(const std::string& final_dir, StageOptions options) {
  const std::string root = dirname_of(final_dir), name = basename_of(final_dir);
  STRATA_TRY_ASSIGN(Parent parent, Parent::prepare(root));
  // Held from staging to publish: two builds of one name publish one after the other, each
  // its whole set (docs/design.md "Publishing").
  std::string lock_path = fmt::format("{}/.{}.lock", root, name);
  STRATA_TRY_ASSIGN(FileLock lock, FileLock::acquire(lock_path, [&] {
                      if (options.on_wait) options.on_wait(lock_path);
                    }));
  STRATA_TRY(recover_output(root, name));
  STRATA_TRY_ASSIGN(TempDir staging, TempDir::create(root, "." + name + ".tmp-"));
  StagedLayout layout(final_dir, std::move(parent), std::move(lock), std::move(staging),
                      std::move(options.companions));
  layout.layout_dir_ = layout.staging_.path() + "/" + kLayout;
  // The published layout is as readable as any output (mkdtemp made the staging dir 0700).
  if (::mkdir(layout.layout_dir_.c_str(), 0755) != 0) {
    return Error::sys(fmt::format("mkdir {}", layout.layout_dir_), errno);
  }
  STRATA_TRY_ASSIGN(layout.blobs_dir_, prepare_layout_dir(layout.dir()));
  return layout;
}

std::string StagedLayout::staged_path(const std::string& final_path) const {
  std::string name = basename_of(final_path);
  STRATA_CHECK(std::find(companions_.begin(), companions_.end(), name) != companions_.end());
  return staging_.path() + "/" + name;
}

Result<void> StagedLayout::stage_archive(const std::string& archive_path, int64_t mtime) {
  std::string staged = staged_path(archive_path);
  STRATA_TRY_ASSIGN(UniqueFd fd, open_fd(staged, O_WRONLY | O_CREAT | O_EXCL, 0644));
  FdBlobOutput out(fd.get(), staged);
  STRATA_TRY(write_layout_archive(dir(), out, mtime));
  if (::fsync(fd.get()) != 0) return Error::sys(fmt::format("fsync {}", staged), errno);
  return fd.close(staged);
}

Result<void> StagedLayout::publish(const Digest& manifest_digest) {
  const std::string root = dirname_of(final_dir_);
  PublishJournal journal{.name = basename_of(final_dir_), .manifest = manifest_digest};
  for (const std::string& c : companions_) {
    (path_exists(staging_.path() + "/" + c) ? journal.files : journal.remove).push_back(c);
  }
  // Everything staged is durable before the journal says it may be moved: each file and
  // directory under the staging directory is fsynced (the files were when written, so this is
  // mostly their directory entries). Not syncfs: that also waits for every other dirty page
  // of the file system, such as the layer cache's copy of the blob or other builds' files.
  STRATA_TRY(fsync_tree(staging_.path()));
  STRATA_TRY_ASSIGN(std::string text, journal_text(journal));
  STRATA_TRY(write_file_atomic(staging_.path() + "/" + kJournal, text));
  STRATA_TRY(fsync_dir(staging_.path()));
  test_pause_at("journaled");
  parent_.keep();
  if (Result<void> done = finish_publish(root, staging_.path(), journal); !done.ok()) {
    // Half published: the journaled staging directory is kept, and the next build of the
    // name (this process being gone by then) completes the set from it.
    staging_.release();
    return done;
  }
  return Ok{};
}

}  // namespace strata::builder::oci
