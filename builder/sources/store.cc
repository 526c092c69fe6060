#include "builder/sources/store.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "builder/base/fd.h"
#include "builder/base/fs.h"
#include "builder/base/owner.h"
#include "builder/sources/path_source.h"

namespace strata::builder::sources {
namespace {

Error mismatch(const Digest& expected, const Digest& actual, std::string_view hint = {}) {
  return Error(ErrorCode::kDigestMismatch, fmt::format("digest mismatch: expected {}, actual {}{}",
                                                       expected.str(), actual.str(), hint));
}

// Moves a verified temporary file to its digest's name and makes the rename durable.
Result<void> commit_blob(AtomicFile& file, const std::string& blob) {
  STRATA_TRY(file.commit(blob));
  return fsync_dir(dirname_of(blob));
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = lower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string percent_decode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
        hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// The path part of a URL: "https://h/a/b.tgz?x#y" -> "/a/b.tgz".
std::string_view url_path(std::string_view url) {
  size_t scheme = url.find("://");
  std::string_view rest = scheme == std::string_view::npos ? url : url.substr(scheme + 3);
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return {};
  rest = rest.substr(slash);
  return rest.substr(0, rest.find_first_of("?#"));
}

}  // namespace

SourceStore::SourceStore(SourceOptions options)
    : options_(std::move(options)), blob_dir_(options_.cache_dir + "/sources/sha256") {
  // Temporary blobs a killed build left (their owner is gone): removed once per store. Best
  // effort, like every sweep (base/owner.h); a missing directory has nothing to remove.
  constexpr std::string_view kPrefixes[] = {kAtomicFilePrefix};
  remove_stale_temporaries(blob_dir_, kPrefixes);
}

std::string SourceStore::blob_path(const Digest& digest) const {
  return blob_dir_ + "/" + digest.hex;
}

Result<StoredSource> SourceStore::ensure(const specs::Source& source, const std::string& spec_dir,
                                         Fetcher& fetcher) const {
  StoredSource out{.source = source,
                   .file_name = source_file_name(source),
                   .blob_path = blob_path(source.sha256)};
  out.kind = is_archive_name(out.file_name) ? SourceKind::kArchive : SourceKind::kFile;
  Result<void> stored = make_dirs(blob_dir_);
  if (stored.ok()) {
    if (source.path.empty()) {
      stored = store_url(source, out.blob_path, fetcher);
    } else {
      stored = store_path(source, spec_dir, out);
    }
  }
  if (!stored.ok()) {
    return std::move(stored)
        .error()
        .context(fmt::format("source '{}' ({})", source.name, source_origin(source)))
        .at(source.loc);
  }
  return out;
}

Result<void> SourceStore::store_url(const specs::Source& source, const std::string& blob,
                                    Fetcher& fetcher) const {
  struct stat st;
  if (::lstat(blob.c_str(), &st) == 0) {
    // Re-hash before every use: a blob damaged on disk must not reach a build unnoticed.
    STRATA_TRY_ASSIGN(Digest stored, sha256_file(blob));
    if (stored == source.sha256) return Ok{};
    if (::unlink(blob.c_str()) != 0) return Error::sys("remove corrupt blob " + blob, errno);
    if (options_.offline) {
      return Error::io(
          fmt::format("the stored copy {} was corrupt ({}) and has been removed; "
                      "fetch it again without --offline",
                      blob, stored.str()));
    }
  } else if (errno != ENOENT) {
    return Error::sys("stat " + blob, errno);
  }
  if (options_.offline) {
    return Error::io(
        fmt::format("not in the source store ({}) and --offline forbids fetching", blob));
  }
  STRATA_TRY_ASSIGN(AtomicFile file, AtomicFile::create(blob, 0644));
  STRATA_TRY(fetcher.fetch(source.url, file.fd(), options_.fetch));
  STRATA_TRY_ASSIGN(Digest actual, sha256_file(file.temp_path()));
  // On a mismatch `file` is dropped here, which removes the temporary file: nothing stored.
  if (actual != source.sha256) return mismatch(source.sha256, actual);
  return commit_blob(file, blob);
}

Result<Digest> SourceStore::fetch_unpinned(const specs::Source& source, Fetcher& fetcher) const {
  Result<Digest> fetched = [&]() -> Result<Digest> {
    if (options_.offline) return Error::io("--offline forbids fetching");
    STRATA_TRY(make_dirs(blob_dir_));
    // Named like every blob's temporary (swept when this process is gone), committed under
    // the digest it turns out to have.
    STRATA_TRY_ASSIGN(AtomicFile file, AtomicFile::create(blob_dir_ + "/unpinned", 0644));
    STRATA_TRY(fetcher.fetch(source.url, file.fd(), options_.fetch));
    STRATA_TRY_ASSIGN(Digest actual, sha256_file(file.temp_path()));
    std::string blob = blob_path(actual);
    struct stat st;
    if (::lstat(blob.c_str(), &st) == 0) return actual;  // stored already: drop the copy
    STRATA_TRY(commit_blob(file, blob));
    return actual;
  }();
  if (!fetched.ok()) {
    return std::move(fetched)
        .error()
        .context(fmt::format("source '{}' ({})", source.name, source_origin(source)))
        .at(source.loc);
  }
  return fetched;
}

Result<void> SourceStore::store_path(const specs::Source& source, const std::string& spec_dir,
                                     StoredSource& out) const {
  std::string full = (source.path.starts_with('/') || spec_dir.empty())
                         ? source.path
                         : spec_dir + "/" + source.path;
  struct stat st;
  if (::stat(full.c_str(), &st) != 0) return Error::sys("stat " + full, errno);
  if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
    return Error::io(full + " is neither a regular file nor a directory");
  }
  if (S_ISDIR(st.st_mode)) out.kind = SourceKind::kDirectory;
  // The path is read again on every build: a local directory changes without notice, and
  // its digest is the only way to know it has not. Reading and hashing is all it takes: the
  // blob is written when a package first unpacks it (store_pending), and a stored one is
  // re-hashed, as a fetched one is.
  STRATA_TRY_ASSIGN(Digest actual, path_digest(full));
  if (actual != source.sha256) {
    return mismatch(source.sha256, actual,
                    S_ISDIR(st.st_mode) ? " (a directory's digest is that of its strata-det/1 tar; "
                                          "'strata hash DIR' prints it)"
                                        : "");
  }
  if (path_exists(out.blob_path)) {
    STRATA_TRY_ASSIGN(Digest stored, sha256_file(out.blob_path));
    if (stored == source.sha256) return Ok{};
    if (::unlink(out.blob_path.c_str()) != 0) {
      return Error::sys("remove corrupt blob " + out.blob_path, errno);
    }
  }
  out.pending_path = std::move(full);
  return Ok{};
}

Result<void> store_pending(const StoredSource& stored) {
  if (stored.pending_path.empty() || path_exists(stored.blob_path)) return Ok{};
  const std::string& full = stored.pending_path;
  STRATA_TRY_ASSIGN(AtomicFile file, AtomicFile::create(stored.blob_path, 0644));
  Digest actual;
  if (stored.kind == SourceKind::kDirectory) {
    STRATA_TRY_ASSIGN(actual, write_directory_tar(full, file.fd()));
  } else {
    STRATA_TRY_ASSIGN(UniqueFd in, open_fd(full, O_RDONLY));
    STRATA_TRY_ASSIGN(CopiedBytes copied,
                      copy_and_hash(in.get(), full, file.fd(), "the store's temporary file"));
    actual = copied.digest;
  }
  if (actual != stored.source.sha256) {
    return mismatch(stored.source.sha256, actual, " (it changed while this build ran)");
  }
  return commit_blob(file, stored.blob_path);
}

bool is_archive_name(std::string_view file_name) {
  static constexpr std::string_view kSuffixes[] = {".tar",     ".tar.gz",  ".tgz",  ".tar.xz",
                                                   ".txz",     ".tar.bz2", ".tbz2", ".tbz",
                                                   ".tar.zst", ".tzst",    ".zip"};
  std::string name(file_name);
  for (char& c : name) c = lower(c);
  for (std::string_view suffix : kSuffixes) {
    if (name.size() > suffix.size() && name.ends_with(suffix)) return true;
  }
  return false;
}

std::string source_file_name(const specs::Source& source) {
  std::string name;
  if (!source.path.empty()) {
    std::string_view path = source.path;
    while (path.size() > 1 && path.ends_with('/')) path.remove_suffix(1);
    name = basename_of(path);
  } else {
    name = percent_decode(basename_of(url_path(source.url)));
  }
  bool usable = !name.empty() && name != "." && name != ".." &&
                name.find_first_of(std::string_view("/\0", 2)) == std::string::npos;
  return usable ? name : source.name;
}

std::string source_origin(const specs::Source& source) {
  return source.path.empty() ? source.url : source.path;
}

}  // namespace strata::builder::sources
