// SourceStore: verified source blobs kept by digest under CACHE/sources/sha256/<hex>.
// A blob is written under a temporary name, hashed, and renamed into place only when its
// digest is the one the spec pins, so the store never holds a wrong or partial blob.
#pragma once

#include <string>
#include <string_view>

#include "builder/base/digest.h"
#include "builder/sources/fetcher.h"
#include "specs/spec.h"

namespace strata::builder::sources {

struct SourceOptions {
  std::string cache_dir;  // the store is cache_dir/sources/sha256
  bool offline = false;   // use only what the store holds; never fetch
  FetchOptions fetch;
};

enum class SourceKind {
  kFile,       // copied as is
  kArchive,    // unpacked (tar, tar.gz, .xz, .bz2, .zst, zip), by the name's suffix
  kDirectory,  // a `path:` directory; its blob is the directory's strata-det/1 tar
};

// One source, verified and in the store.
struct StoredSource {
  specs::Source source;
  SourceKind kind = SourceKind::kFile;
  std::string file_name;  // the last component of the url or path, e.g. "hello-2.12.tar.gz"
  std::string blob_path;  // CACHE/sources/sha256/<hex>; its content has digest source.sha256
  // A `path:` source the store did not hold: its tree (or file) was hashed, and its digest
  // is the pin, but its blob is written only when it is first unpacked (store_pending), so
  // a build whose packages all come from a cache copies nothing. Empty otherwise.
  std::string pending_path;
};

// Writes a pending path source's blob (StoredSource::pending_path) into the store, read
// again and checked against the pin (the tree may have changed since it was hashed). A
// blob already there is left alone.
Result<void> store_pending(const StoredSource& stored);

class SourceStore {
 public:
  // Also removes the temporary files (.strata-tmp-@PID.START-*) of builds that are gone.
  explicit SourceStore(SourceOptions options);

  // CACHE/sources/sha256 and the path a blob with `digest` has there.
  const std::string& blob_dir() const { return blob_dir_; }
  std::string blob_path(const Digest& digest) const;

  // Makes sure the store holds `source`'s content, verified against source.sha256, and
  // returns it. `spec_dir` is the directory `path:` sources are relative to.
  // - url sources: a stored blob is re-hashed before use (a corrupt one is removed and
  //   fetched again); otherwise `fetcher` downloads into a temporary file in the store.
  // - path sources are read each time (a directory as its strata-det/1 tar) and stored.
  // Errors are located at source.loc and name the source: a mismatch (kDigestMismatch)
  // "source 'NAME' (URL): digest mismatch: expected sha256:..., actual sha256:...", a blob
  // missing with options.offline, or the fetcher's error. After an error the store holds
  // no blob and no temporary file for the source.
  Result<StoredSource> ensure(const specs::Source& source, const std::string& spec_dir,
                              Fetcher& fetcher) const;

  // `strata pin`: downloads a url source whatever it pins (its content upstream is what is
  // asked for), stores the blob under the digest it has, and returns that digest, so the
  // next build needs no second download. Never with options.offline.
  Result<Digest> fetch_unpinned(const specs::Source& source, Fetcher& fetcher) const;

 private:
  Result<void> store_url(const specs::Source& source, const std::string& blob,
                         Fetcher& fetcher) const;
  // Hashes a path source and checks its pin; out.pending_path is set when the store does
  // not hold its blob yet.
  Result<void> store_path(const specs::Source& source, const std::string& spec_dir,
                          StoredSource& out) const;

  SourceOptions options_;
  std::string blob_dir_;
};

// Whether a file of this name is unpacked: .tar .tar.gz .tgz .tar.xz .txz .tar.bz2 .tbz2
// .tbz .tar.zst .tzst .zip (case-insensitive).
bool is_archive_name(std::string_view file_name);

// The file name a source's content goes by: the last component of its path or of its URL's
// path (percent-decoded, query and fragment removed). Falls back to the source's name when
// that is empty, "." or "..".
std::string source_file_name(const specs::Source& source);

// "https://example.org/x.tar.gz" or "files/x": how messages name where a source comes from.
std::string source_origin(const specs::Source& source);

}  // namespace strata::builder::sources
