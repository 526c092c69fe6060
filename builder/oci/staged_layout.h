// A layout built in a temporary directory beside its final place and published in one
// rename (docs/design.md "The pipeline", step 5): a failed build leaves no half-written image, and
// no output directory it had to create.
#pragma once

#include <optional>
#include <string>

#include "builder/base/fs.h"

namespace strata::builder::oci {

class StagedLayout {
 public:
  // Creates the parent of `final_dir` if needed (removed again, if left empty, when the
  // layout is never published) and an empty layout in a temporary directory beside it.
  static Result<StagedLayout> create(const std::string& final_dir);

  const std::string& dir() const { return staging_.path(); }   // the staged layout
  const std::string& blobs_dir() const { return blobs_dir_; }  // its blobs/sha256

  // Writes the staged layout as a strata-det/1 tar (an oci-archive that is also a
  // docker-archive) to `archive_path` under a temporary name; publish() commits it.
  Result<void> stage_archive(const std::string& archive_path, int64_t mtime);

  // Replaces `final_dir` with the staged layout in one rename, then commits the archive.
  Result<void> publish();

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

  StagedLayout(std::string final_dir, Parent parent, TempDir staging)
      : final_dir_(std::move(final_dir)),
        parent_(std::move(parent)),
        staging_(std::move(staging)) {}

  std::string final_dir_;
  Parent parent_;  // declared before staging_, so destroyed after it
  TempDir staging_;
  std::string blobs_dir_;
  std::optional<AtomicFile> archive_;
  std::string archive_path_;
};

}  // namespace strata::builder::oci
