// FileRecords: every entry of one layer as written (LayerFile), in tar order, packed.
//
// This is what the SBOM lists and what verify and the layer cache compare, one record per
// file, so it is the part of a build that grows with the layer. A record as a struct took 128
// bytes plus its path's heap block (about 160 bytes a file); packed it takes the path's bytes,
// the digest's 32 and a few bytes of varints, about 60-70 for a typical file. Records are
// appended in order and read front to back; there is no random access. With spill_to, each
// full chunk goes to an unlinked file instead of staying in memory (docs/sbom.md "What a
// build holds per file").
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "builder/base/digest.h"
#include "builder/base/error.h"
#include "builder/tar/tree.h"

namespace strata::builder {

// One entry as written, for the SBOM and for comparisons: what the image will contain.
struct LayerFile {
  std::string path;  // relative, as in the tar ("etc/motd")
  EntryType type = EntryType::kRegular;
  uint32_t mode = 0;
  int64_t uid = 0;
  int64_t gid = 0;
  int64_t size = 0;         // regular files
  PackedDigest sha256;      // regular files: of the content; hardlinks: of the target's
  std::string link_target;  // symlinks and hardlinks

  bool operator==(const LayerFile&) const = default;
};

class FileRecords {
 public:
  FileRecords() = default;
  FileRecords(const std::vector<LayerFile>& files);  // NOLINT: a list converts as it is

  // From now on every full chunk is written to an unlinked file made in `dir` (O_TMPFILE) and
  // read back on each pass. Where `dir`'s file system cannot make one, or a write fails, the
  // records stay in memory: spilling saves memory, it is never needed.
  void spill_to(const std::string& dir);
  bool is_spilled() const { return spill_ != nullptr && !spill_->chunks.empty(); }
  // A spilled chunk that could not be read back ended an iteration early: the error, which
  // whoever made a document from the records must report instead of the document.
  std::optional<Error> read_error() const;

  void push_back(const LayerFile& file);
  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  void clear();
  // The bytes the packed records take (for tests and docs/sbom.md's numbers).
  size_t packed_bytes() const;

  // Decodes one record at a time into the iterator: `for (const LayerFile& f : records)`.
  class const_iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = LayerFile;
    using difference_type = std::ptrdiff_t;
    using pointer = const LayerFile*;
    using reference = const LayerFile&;

    const_iterator() = default;
    reference operator*() const { return current_; }
    pointer operator->() const { return &current_; }
    const_iterator& operator++();
    bool operator==(const const_iterator& o) const {
      return chunk_ == o.chunk_ && offset_ == o.offset_;
    }

   private:
    friend class FileRecords;
    const_iterator(const FileRecords* records, size_t chunk, size_t offset);
    void decode();

    const std::string* load(size_t chunk);  // null past the end or on a read error

    const FileRecords* records_ = nullptr;
    size_t chunk_ = 0;   // spilled chunks first, then the ones in memory
    size_t offset_ = 0;  // of the record in current_
    size_t next_ = 0;    // of the record after it, in the same chunk
    LayerFile current_;
    std::string buffer_;  // the spilled chunk being read
    size_t buffered_ = SIZE_MAX;
  };
  const_iterator begin() const;
  const_iterator end() const;

  // Every record, unpacked: for tests and for the few callers that edit a short list.
  std::vector<LayerFile> to_vector() const;

 private:
  // Records never straddle chunks, so a chunk is decoded without looking at the next one, and
  // a list grows by a chunk at a time instead of copying itself to twice its size.
  static constexpr size_t kChunkBytes = 64 * 1024;
  struct Spill {
    int fd = -1;
    std::vector<std::pair<int64_t, size_t>> chunks;  // {offset, size} in the file
    int64_t end = 0;
    bool writable = true;  // false after a failed write: the rest stays in memory
    std::optional<Error> read_error;
    ~Spill();
  };
  void spill_full_chunk();
  size_t chunk_count() const { return (spill_ ? spill_->chunks.size() : 0) + chunks_.size(); }

  std::shared_ptr<Spill> spill_;  // shared by copies: the records are not changed once listed
  std::vector<std::string> chunks_;
  size_t count_ = 0;
};

bool operator==(const FileRecords& a, const FileRecords& b);

}  // namespace strata::builder
