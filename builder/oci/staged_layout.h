// An output set staged and published as one (docs/design.md "Publishing the outputs"): the layout
// and the files that describe it (the archive, the attestations) are written into one temporary
// directory beside OUTPUT_ROOT/NAME while an exclusive lock on the output name is held, then moved
// into place in an order that never shows OUTPUT_ROOT/NAME beside a file of another build, under a
// journal that lets the next build of NAME finish a publish a kill cut short. A failed build leaves
// no half-written image, and no output directory it had to create.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "builder/base/digest.h"
#include "builder/base/file_lock.h"
#include "builder/base/fs.h"

namespace strata::builder::oci {

struct StageOptions {
  // The file names beside OUTPUT_ROOT/NAME that belong to the output ("NAME.tar",
  // "NAME.provenance.json", ...). publish() removes the ones not staged, so no file of an
  // earlier build stays next to this one's layout.
  std::vector<std::string> companions;
  // Called once, with the lock file's path, when another build of the same output holds the
  // lock and this one starts waiting for it.
  std::function<void(const std::string& lock_path)> on_wait;
};

class StagedLayout {
 public:
  // Creates the parent of `final_dir` if needed (removed again, if left empty, when the
  // layout is never published), takes the lock OUTPUT_ROOT/.NAME.lock (held until this
  // object is destroyed; waits while another build holds it), finishes a publish a killed
  // build of NAME left journaled, removes temporaries of NAME whose owner is gone, and makes
  // the staging directory OUTPUT_ROOT/.NAME.tmp-@PID.START-XXXXXX with an empty layout.
  static Result<StagedLayout> create(const std::string& final_dir, StageOptions options);

  const std::string& staging_dir() const { return staging_.path(); }  // holds all of the set
  const std::string& dir() const { return layout_dir_; }              // the staged layout
  const std::string& blobs_dir() const { return blobs_dir_; }         // its blobs/sha256

  // Where the companion published as `final_path` (OUTPUT_ROOT/<one of the companions>) is
  // staged: STAGING/<its name>. The caller writes it there (and fsyncs it), publish() moves
  // it.
  std::string staged_path(const std::string& final_path) const;

  // Writes the staged layout as a strata-det/1 tar (an oci-archive that is also a
  // docker-archive) to staged_path(`archive_path`); publish() moves it into place.
  Result<void> stage_archive(const std::string& archive_path, int64_t mtime);

  // Publishes the set: writes the journal (the manifest digest, the staged companions, the
  // ones to remove), removes the old companions, replaces `final_dir` with the staged layout
  // (one RENAME_EXCHANGE), then moves the staged companions into place and drops the journal.
  // A kill at any moment leaves either the old set, or the new layout with some or all of
  // its companions; the next create() for the name completes it.
  Result<void> publish(const Digest& manifest_digest);

 private:
  // The output directory's parent: created if missing, and on destruction removed again
  // (with any parents it created) while empty, unless kept.
  class Parent {
   public:
    static Result<Parent> prepare(const std::string& dir);
    Parent(Parent&& o) noexcept
        : dir_(std::move(o.dir_)), created_(std::exchange(o.created_, false)) {}
    ~Parent();
    void keep() { created_ = false; }

   private:
    Parent(std::string dir, bool created) : dir_(std::move(dir)), created_(created) {}
    std::string dir_;
    bool created_;
  };

  StagedLayout(std::string final_dir, Parent parent, FileLock lock, TempDir staging,
               std::vector<std::string> companions)
      : final_dir_(std::move(final_dir)),
        parent_(std::move(parent)),
        lock_(std::move(lock)),
        staging_(std::move(staging)),
        companions_(std::move(companions)) {}

  std::string final_dir_;
  Parent parent_;  // declared first, so destroyed last: after the lock file is gone
  FileLock lock_;
  TempDir staging_;
  std::vector<std::string> companions_;
  std::string layout_dir_;
  std::string blobs_dir_;
};

// The journal a staging directory holds while its set is published (STAGING/publish.json).
// Finishing it is idempotent: publish() and recovery run the same steps.
struct PublishJournal {
  std::string name;                 // NAME
  Digest manifest;                  // the staged layout's image manifest
  std::vector<std::string> files;   // staged companions, moved to OUTPUT_ROOT/<file>
  std::vector<std::string> remove;  // companions not staged, removed from OUTPUT_ROOT
};

// Completes the publish journaled in `staging` (a directory in `output_root`): removes the
// companions being replaced, swaps STAGING/layout in for OUTPUT_ROOT/NAME when it holds the
// journal's manifest (after a swap it holds the old tree, and is left), moves the staged
// companions into place, then deletes the journal. The caller holds the name's lock.
Result<void> finish_publish(const std::string& output_root, const std::string& staging,
                            const PublishJournal& journal);

}  // namespace strata::builder::oci
