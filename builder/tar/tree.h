// LayerTree: the set of entries one layer will contain, in the order the determinism profile
// strata-det/1 fixes (depth-first pre-order, children sorted by byte value, like GNU tar
// --sort=name), with implicit parent directories and hardlink groups resolved.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "builder/base/path.h"
#include "builder/base/result.h"

namespace strata::builder {

struct HostEntry;

enum class EntryType { kRegular, kDirectory, kSymlink, kHardlink };

struct LayerEntry {
  std::string path;  // relative to the image root: "etc/motd"; no leading or trailing '/'
  EntryType type = EntryType::kRegular;
  uint32_t mode = 0;  // permission bits, at most 07777
  int64_t uid = 0;
  int64_t gid = 0;
  // kRegular: the content is read from host_path at write time when it is set, else `content`.
  std::string host_path;
  std::string content;
  int64_t size = 0;
  std::string link_target;  // kSymlink: the link text; kHardlink: an earlier entry's path
  // Extended attributes (name, value), sorted by name with no name twice: the order their
  // pax records are written in. A list, not a map: an entry is held for every file of a
  // layer, and an empty map takes 48 bytes of it, an empty list 24.
  std::vector<std::pair<std::string, std::string>> xattrs;
  Loc origin;  // where in the spec this entry comes from, for error messages
};

// Attributes for files copied from the host. A `files:` mapping's modes depend on the
// checkout's umask, so they are normalized: 0755 when the owner may execute, else 0644.
// Package outputs were built under a fixed umask: keep_modes takes their modes as they are.
struct HostCopyOptions {
  std::optional<uint32_t> file_mode;
  std::optional<uint32_t> dir_mode;
  bool keep_modes = false;
  int64_t uid = 0;
  int64_t gid = 0;
};

// Orders paths as strata-det/1 requires: "a" < "a/b" < "a-c" (a '/' sorts before any byte).
struct PathLess {
  bool operator()(const std::string& a, const std::string& b) const;
};

// Called for each entry of a pass over a layer, in order. `link_target`: a hardlink later in
// the pass may name this entry (a writer keeps its digest for it); true whenever one does.
using LayerEntryVisitor = std::function<Result<void>(const LayerEntry& entry, bool link_target)>;

// A layer's entries in strata-det/1 order, read in passes. Either a list held in memory, or
// (from LayerTree::entries) the tree's own entries merged with the host directories it
// copies, which each pass walks again instead of holding what they contain: a layer of a
// million files then holds one directory listing per level (docs/sbom.md "What a build holds
// per file").
class LayerEntries {
 public:
  LayerEntries() = default;
  // A list already in strata-det/1 order. Implicit, so a function taking LayerEntries takes
  // a list too: an lvalue list is copied.
  LayerEntries(std::vector<LayerEntry> list) : list_(std::move(list)) {}
  LayerEntries(std::initializer_list<LayerEntry> list) : list_(list) {}

  // One pass: each entry, in order. The first error ends it and is returned: the visitor's,
  // or the walk's (a host file gone or changed into something a layer cannot hold since the
  // tree was made, or a duplicate path LayerTree would have refused).
  Result<void> for_each(const LayerEntryVisitor& visit) const;
  // Every entry, held.
  Result<std::vector<LayerEntry>> to_vector() const;
  // A pass that keeps nothing: the errors a pass would meet.
  Result<void> check() const;
  // Whether passes walk host directories (else every entry is held).
  bool streamed() const { return !dirs_.empty(); }
  // The entries held in memory: all of them unless streamed().
  const std::vector<LayerEntry>& held() const { return list_; }

 private:
  friend class LayerTree;
  struct HostDir {
    std::string host_dir;
    std::string dest;  // relative; "" for the image root
    HostCopyOptions options;
    Loc origin;
    uint32_t seq = 0;  // which add() made it: the later directory sets a path's attributes
  };
  struct Held {
    uint32_t seq = 0;
    bool implicit = false;
  };
  std::vector<LayerEntry> list_;
  std::vector<Held> held_;  // beside list_, when streamed()
  std::vector<HostDir> dirs_;
};

class LayerTree {
 public:
  // Adds one entry. Missing parent directories are created implicitly (0755, owned by 0:0)
  // and an explicit directory replaces an implicit one or an earlier explicit one. Two
  // non-directory entries for one path, or a path below a non-directory, are spec errors
  // located at `entry.origin`.
  Result<void> add(LayerEntry entry);

  // Adds the host file or directory `host_path` at `dest` (absolute, normalized). A directory
  // is copied recursively; symlinks inside it are kept as symlinks, hardlinked files become
  // tar hardlinks, and devices, sockets and fifos are errors.
  Result<void> add_host_path(const std::string& host_path, const std::string& dest,
                             const HostCopyOptions& options, const Loc& origin);

  // Makes `path` a hardlink to the regular file `target` (both relative paths) once every
  // entry is added; resolved by sorted_entries().
  void add_hardlink(std::string path, std::string target, Loc origin);

  // The entries in strata-det/1 order. Within each hardlink group the first path in order
  // holds the content and the others link to it.
  Result<std::vector<LayerEntry>> sorted_entries() &&;
  // The same entries, with the host directories add_host_path named walked at each pass
  // rather than held, where that gives the same entries: not when a hardlink the tree was
  // given (add_hardlink) names a file below one, nor when a host file added on its own has
  // more links (its group could span the walks). Errors sorted_entries() reports when it
  // walks are then reported by the passes.
  Result<LayerEntries> entries() &&;

  bool empty() const { return entries_.empty() && hardlinks_.empty() && dirs_.empty(); }

 private:
  // What the tree knows of an entry besides the entry itself, kept beside entries_.
  struct Meta {
    int64_t link_group = -1;  // entries sharing a group are one inode
    bool implicit = false;    // a parent directory no entry named
    uint32_t seq = 0;         // which add() set it
  };
  struct PendingLink {
    std::string path, target;
    Loc origin;
    uint32_t seq = 0;
  };
  // entries_' positions by path: an open-addressing table of indices (4 bytes a slot, at
  // most half full) rather than a node map, so a layer of 1,000,000 files costs its entries
  // and a few megabytes, not twice its entries (docs/sbom.md "Memory").
  class PathIndex {
   public:
    static constexpr uint32_t kNone = UINT32_MAX;
    uint32_t find(const std::vector<LayerEntry>& entries, std::string_view path) const;
    void insert(const std::vector<LayerEntry>& entries, uint32_t index);

   private:
    std::vector<uint32_t> slots_;
    size_t used_ = 0;
  };

  Result<void> add_node(LayerEntry entry, bool implicit, int64_t link_group);
  Result<void> ensure_parents(const std::string& path, const Loc& origin);
  void append(LayerEntry entry, Meta meta);
  Result<void> walk_host_dir(const LayerEntries::HostDir& dir);
  Result<void> add_host_entry(HostEntry host);
  Result<void> resolve_hardlinks();
  Result<LayerEntries> sort(bool stream);
  uint32_t begin_add() { return seq_ = next_seq_++; }

  // In the order they were added; sorted_entries() sorts them in place.
  std::vector<LayerEntry> entries_;
  std::vector<Meta> meta_;
  PathIndex index_;
  std::map<std::pair<dev_t, ino_t>, int64_t> inode_groups_;
  std::vector<PendingLink> hardlinks_;
  int64_t next_group_ = 0;
  // Directories add_host_path named, walked by sort() or by the passes of what it returns.
  std::vector<LayerEntries::HostDir> dirs_;
  bool host_groups_ = false;  // a host file added on its own has more than one link
  uint32_t seq_ = 0;          // the add() under way
  uint32_t next_seq_ = 0;
};

}  // namespace strata::builder
