#include "builder/layer/layer_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <future>

#include "builder/base/fd.h"
#include "builder/base/fs.h"
#include "builder/base/json.h"
#include "builder/base/owner.h"
#include "builder/cache/entry_lock.h"
#include "builder/layer/layer_blob.h"
#include "builder/tar/layer_reader.h"

namespace strata::builder {
namespace {

constexpr char kBlob[] = "blob";
constexpr char kMeta[] = "layer.json";
constexpr int64_t kMaxMetaBytes = 4096;

std::string entry_dir(const std::string& cache_dir, const Digest& key) {
  return fmt::format("{}/layers/sha256/{}", cache_dir, key.hex);
}

// A cache this build cannot read or write (another user's, read-only) is given up on with
// one warning; the layers are then written as without one.
void give_up(LayerCacheOptions& cache, const Error& e) {
  if (cache.warn) {
    cache.warn(fmt::format("the layer cache is not used for this build: {}", e.message()));
  }
  cache.cache_dir.clear();
}

// A small file at `path` naming the entry `key` (a hint, an input key's note).
Result<void> write_note(const std::string& path, const Digest& key) {
  STRATA_TRY(make_dirs(dirname_of(path)));
  return write_file_atomic(path, key.str() + "\n");
}

// What an entry's layer.json says. The blob's digest and size are what a copy needs; what
// it decompresses to (DiffID, tar size) is what finding it by its inputs needs, and entries
// written before the tar size was recorded lack it: they are found by their DiffID only.
struct EntryMeta {
  Digest digest;
  int64_t size = 0;
  std::optional<Digest> diff_id;
  std::optional<int64_t> tar_size;
  std::string media_type;
};
Result<EntryMeta> read_meta(const std::string& dir) {
  STRATA_TRY_ASSIGN(std::string text, read_file_limited(dir + "/" + kMeta, kMaxMetaBytes));
  Result<Json> parsed = parse_json(text, kMeta);
  Json meta = parsed.ok() && parsed->is_object() ? *std::move(parsed) : Json::object();
  auto member = [&](const char* k) { return meta.value(k, Json()); };
  if (!member("digest").is_string() || !member("size").is_number_integer()) {
    return Error(ErrorCode::kInvalidInput, "its layer.json is not one strata wrote");
  }
  EntryMeta m{.size = member("size").get<int64_t>()};
  STRATA_TRY_ASSIGN(m.digest, Digest::parse(member("digest").get<std::string>()));
  if (member("diff_id").is_string()) {
    if (Result<Digest> d = Digest::parse(member("diff_id").get<std::string>()); d.ok()) {
      m.diff_id = *d;
    }
  }
  if (member("tar_size").is_number_integer()) m.tar_size = member("tar_size").get<int64_t>();
  if (member("media_type").is_string()) m.media_type = member("media_type").get<std::string>();
  return m;
}

// The blob copied from the entry at `dir` into blobs_dir, hashed on the way; nullopt (with a
// warning for a damaged entry) when it is missing or is not the blob its layer.json names.
Result<std::optional<LayerBlob>> use_entry(const std::string& dir, LayerBlob& tar,
                                           const LayerWriteOptions& options,
                                           const std::string& blobs_dir,
                                           const LayerCacheOptions& cache, bool& damaged_entry) {
  STRATA_TRY_ASSIGN(std::optional<cache::EntryHold> hold, cache::hold_entry(dir));
  if (!hold) return std::optional<LayerBlob>();  // a miss
  auto damaged = [&](const std::string& why) {
    if (cache.warn)
      cache.warn(fmt::format("layer cache entry {} is damaged ({}); rewritten", dir, why));
    damaged_entry = true;
    return std::optional<LayerBlob>();
  };
  Result<EntryMeta> meta = read_meta(dir);
  if (!meta.ok()) return damaged(meta.error().message());
  const Digest& want = meta->digest;

  Result<UniqueFd> in = open_fd(dir + "/" + kBlob, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (!in.ok()) return damaged(in.error().message());
  STRATA_TRY_ASSIGN(AtomicFile out, AtomicFile::create(blobs_dir + "/layer"));
  STRATA_TRY_ASSIGN(CopiedBytes copied,
                    copy_and_hash(in->get(), dir + "/" + kBlob, out.fd(), out.temp_path()));
  const Digest& got = copied.digest;
  int64_t size = copied.size;
  if (got != want || size != meta->size) {
    return damaged(fmt::format("its blob is {} ({} bytes), not {}", got.str(), size, want.str()));
  }
  STRATA_TRY(out.commit(fmt::format("{}/{}", blobs_dir, got.hex)));
  cache::touch_last_use(dir + "/" + kMeta);
  LayerBlob blob = std::move(tar);  // only on a hit: a miss still needs the DiffID
  blob.digest = got;
  blob.size = size;
  blob.media_type = std::string(layer_media_type(options.compression));
  blob.origin = BlobOrigin::kLocalCache;
  return std::optional<LayerBlob>(std::move(blob));
}

// An entry's layer.json: what its blob is and what it decompresses to.
std::string meta_text(const LayerBlob& blob) {
  Json meta = {{"digest", blob.digest.str()},
               {"diff_id", blob.diff_id.str()},
               {"media_type", blob.media_type},
               {"size", blob.size},
               {"tar_size", blob.tar_size}};
  return meta.dump() + "\n";  // keys and values are ASCII: dump() is canonical here
}

// Keeps a copy of the blob just written as the entry `dir`: staged beside it, then renamed
// into place, so the cache never holds half an entry. An entry another build stored
// meanwhile is kept (it holds the same bytes), unless `replace` (it was found damaged).
Result<void> store_entry(const std::string& dir, const LayerBlob& blob,
                         const std::string& blobs_dir, bool replace) {
  std::string parent = dir.substr(0, dir.rfind('/'));
  STRATA_TRY(make_dirs(parent));
  STRATA_TRY_ASSIGN(TempDir staged, TempDir::create(parent, kAtomicFilePrefix));
  {
    STRATA_TRY_ASSIGN(UniqueFd to, open_fd(staged.path() + "/" + kBlob,
                                           O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    STRATA_TRY(copy_file_to(fmt::format("{}/{}", blobs_dir, blob.digest.hex), to.get()));
  }
  STRATA_TRY(write_file(staged.path() + "/" + kMeta, meta_text(blob)));
  if (replace) {
    STRATA_TRY(publish_dir(staged.path(), dir));
  } else if (rename_noreplace(staged.path(), dir) != 0) {
    if (errno == EEXIST || errno == ENOTEMPTY) return Ok{};  // the staged copy is removed
    return Error::sys(fmt::format("rename {} to {}", staged.path(), dir), errno);
  }
  staged.release();
  return Ok{};
}

}  // namespace

Digest layer_cache_key(const Digest& diff_id, const LayerWriteOptions& options) {
  Json doc = {{"compression", compression_name(options.compression)},
              {"compressors", compressor_versions()},
              {"diff_id", diff_id.str()},
              {"format", "strata-layer-cache/1"},
              {"profile", profile_name(options.profile)}};
  return sha256_of(doc.dump());  // keys and values are ASCII: dump() is canonical here
}

namespace {

// A stat-only fingerprint of what `entries` would write with `options`: each entry's
// metadata and inline content, and for content read from the host its file's size and mtime.
// Only a hint: it decides whether the cache is worth a lookup pass; the lookup itself is by
// the DiffID of the bytes, so a file changed behind an unchanged mtime costs a pass, never a
// wrong blob. Not the inode or ctime: the debs stage unpacks into a new directory each build
// (with the archive's mtimes), and its layers must still be found. nullopt when a host file
// cannot be stat'ed, or the pass fails (the writer then reports it).
std::optional<Digest> entries_fingerprint(const LayerEntries& entries,
                                          const LayerWriteOptions& options) {
  Sha256 h;
  auto field = [&](std::string_view v) {
    h.update(fmt::format("{}:", v.size()));
    h.update(v);
  };
  field("strata-layer-fingerprint/1");
  field(compression_name(options.compression));
  field(profile_name(options.profile));
  field(std::to_string(options.mtime));
  Result<void> pass = entries.for_each([&](const LayerEntry& e, bool) -> Result<void> {
    field(e.path);
    field(fmt::format("{} {:o} {} {} {}", static_cast<int>(e.type), e.mode, e.uid, e.gid, e.size));
    field(e.link_target);
    field(e.content);
    for (const auto& [k, v] : e.xattrs) {
      field(k);
      field(v);
    }
    if (e.host_path.empty()) return Ok{};
    struct stat st;
    if (::stat(e.host_path.c_str(), &st) != 0) return Error::sys("stat " + e.host_path, errno);
    field(fmt::format("{} {}.{}", st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec));
    return Ok{};
  });
  if (!pass.ok()) return std::nullopt;
  return h.finish();
}

std::string hint_path(const std::string& cache_dir, const Digest& fingerprint) {
  return fmt::format("{}/layers/hints/{}", cache_dir, fingerprint.hex);
}

// Notes that the entries with `fingerprint` were cached (under `key`, for whoever reads it).
Result<void> write_hint(const std::string& cache_dir, const Digest& fingerprint,
                        const Digest& key) {
  std::string path = hint_path(cache_dir, fingerprint);
  if (path_exists(path)) return Ok{};
  return write_note(path, key);
}

// The blob for `key` from the remote cache into blobs_dir, then kept in the local cache
// too; nullopt on a miss. `tar` is the uncompressed pass (its files are the blob's).
Result<std::optional<LayerBlob>> use_remote(const Digest& key, LayerBlob& tar,
                                            const LayerWriteOptions& options,
                                            const std::string& blobs_dir,
                                            LayerCacheOptions& cache) {
  std::string media_type(layer_media_type(options.compression));
  STRATA_TRY_ASSIGN(AtomicFile out, AtomicFile::create(blobs_dir + "/layer"));
  STRATA_TRY_ASSIGN(std::optional<RemoteLayer> got,
                    cache.remote->fetch_layer(key, tar, media_type, out.fd(), out.temp_path()));
  if (!got) return std::optional<LayerBlob>();
  STRATA_TRY(out.commit(fmt::format("{}/{}", blobs_dir, got->digest.hex)));
  LayerBlob blob = std::move(tar);
  blob.digest = got->digest;
  blob.size = got->size;
  blob.media_type = std::move(media_type);
  blob.origin = BlobOrigin::kRegistryCache;
  return std::optional<LayerBlob>(std::move(blob));
}

}  // namespace

Result<LayerBlob> write_layer_blob_cached(const LayerEntries& entries,
                                          const LayerWriteOptions& options,
                                          const std::string& blobs_dir, LayerCacheOptions& cache) {
  // An uncompressed layer costs as much to write as to copy (or to download), and a cache
  // would only add the extra pass that finds its key: it is always written.
  if ((cache.cache_dir.empty() && !cache.remote) || options.compression == Compression::kNone) {
    return write_layer_blob(entries, options, blobs_dir);
  }
  // Entries this cache has not seen (by their fingerprint) are compressed at once, in one
  // pass: looking them up would cost a pass of its own for a certain miss. A remote cache is
  // always asked (it may hold what this machine never wrote).
  std::optional<Digest> fingerprint = entries_fingerprint(entries, options);
  auto remember = [&](const Digest& key) {
    if (!fingerprint || cache.cache_dir.empty()) return;
    Result<void> noted = write_hint(cache.cache_dir, *fingerprint, key);
    if (!noted.ok()) give_up(cache, noted.error());
  };
  // `blob`, just written or fetched, kept as the entry for `key` (replacing a damaged one),
  // and its fingerprint noted.
  auto keep = [&](const Digest& key, const LayerBlob& blob, bool replace) {
    if (cache.cache_dir.empty()) return;
    Result<void> stored = store_entry(entry_dir(cache.cache_dir, key), blob, blobs_dir, replace);
    if (!stored.ok()) return give_up(cache, stored.error());
    remember(key);
  };
  if (!cache.remote && fingerprint && !cache.cache_dir.empty() &&
      !path_exists(hint_path(cache.cache_dir, *fingerprint))) {
    STRATA_TRY_ASSIGN(LayerBlob blob, write_layer_blob(entries, options, blobs_dir));
    keep(layer_cache_key(blob.diff_id, options), blob, false);
    return blob;
  }

  // The tar alone: its DiffID and the files, as the compressed pass would find them.
  LayerWriteOptions plain = options;
  plain.compression = Compression::kNone;
  DiscardOutput discard;
  ++cache.lookup_passes;
  STRATA_TRY_ASSIGN(LayerBlob tar, write_layer(entries, plain, discard));
  Digest key = layer_cache_key(tar.diff_id, options);
  // The blob another machine may lack: offered to the remote cache, whose failures are its
  // own to report (an error only when it is required).
  auto share = [&](LayerBlob blob) -> Result<LayerBlob> {
    if (cache.remote) {
      STRATA_TRY(
          cache.remote->publish_layer(key, blob, fmt::format("{}/{}", blobs_dir, blob.digest.hex)));
    }
    return blob;
  };
  bool damaged = false;
  if (!cache.cache_dir.empty()) {
    Result<std::optional<LayerBlob>> hit =
        use_entry(entry_dir(cache.cache_dir, key), tar, options, blobs_dir, cache, damaged);
    if (!hit.ok()) {
      give_up(cache, hit.error());
    } else if (*hit) {
      remember(key);
      return share(**std::move(hit));
    }
  }
  if (cache.remote) {
    STRATA_TRY_ASSIGN(std::optional<LayerBlob> fetched,
                      use_remote(key, tar, options, blobs_dir, cache));
    if (fetched) {
      keep(key, *fetched, damaged);
      return *std::move(fetched);
    }
  }

  // A miss: the compressed pass lists the files again; one list at a time is enough.
  tar.files.clear();
  STRATA_TRY_ASSIGN(LayerBlob blob, write_layer_blob(entries, options, blobs_dir));
  if (blob.diff_id != tar.diff_id) {
    // The entries changed between the two passes (a file rewritten meanwhile): keep nothing.
    return Error::io(
        fmt::format("a layer's content changed while it was written (DiffID {} "
                    "then {}); is something writing to its files?",
                    tar.diff_id.str(), blob.diff_id.str()));
  }
  keep(key, blob, damaged);
  return share(std::move(blob));
}

namespace {

constexpr int64_t kMaxIndexBytes = 256;

std::string inputs_path(const std::string& cache_dir, const Digest& key) {
  return fmt::format("{}/layers/inputs/{}", cache_dir, key.hex);
}

// The entry `dir`, held, its blob read back: its files, and its DiffID checked against the
// one its layer.json names. nullopt when it is gone; an error says why it cannot be used.
Result<std::optional<FoundLayer>> read_entry(const std::string& dir, BlobOrigin origin) {
  STRATA_TRY_ASSIGN(std::optional<cache::EntryHold> hold, cache::hold_entry(dir));
  if (!hold) return std::optional<FoundLayer>();
  STRATA_TRY_ASSIGN(EntryMeta meta, read_meta(dir));
  if (!meta.diff_id || !meta.tar_size || meta.media_type.empty()) {
    return Error(ErrorCode::kInvalidInput,
                 "its layer.json does not say what its blob decompresses to");
  }
  FoundLayer found{.blob_path = dir + "/" + kBlob, .hold = *std::move(hold)};
  // The compressed bytes are hashed beside the pass that reads the files back.
  std::future<Result<Digest>> digest =
      std::async(std::launch::async, [path = found.blob_path] { return sha256_file(path); });
  Result<void> read = read_layer_files(found.blob_path, *meta.tar_size, found.blob);
  STRATA_TRY_ASSIGN(Digest actual, digest.get());
  STRATA_TRY(read);
  if (actual != meta.digest) {
    return Error(ErrorCode::kInvalidInput,
                 fmt::format("its blob is {}, not {}", actual.str(), meta.digest.str()));
  }
  if (found.blob.diff_id != *meta.diff_id) {
    return Error(ErrorCode::kInvalidInput,
                 fmt::format("its blob decompresses to DiffID {}, not {}", found.blob.diff_id.str(),
                             meta.diff_id->str()));
  }
  found.blob.digest = meta.digest;
  found.blob.size = meta.size;
  found.blob.media_type = meta.media_type;
  found.blob.origin = origin;
  cache::touch_last_use(dir + "/" + kMeta);
  return std::optional<FoundLayer>(std::move(found));
}

// The local entry the input key names; nullopt (a damaged one warned about and its note
// removed) when there is none to use.
Result<std::optional<FoundLayer>> find_local(const Digest& key, const LayerWriteOptions& options,
                                             LayerCacheOptions& cache) {
  std::string note = inputs_path(cache.cache_dir, key);
  if (!path_exists(note)) return std::optional<FoundLayer>();
  Result<std::string> text = read_file_limited(note, kMaxIndexBytes);
  if (text.ok() && text->ends_with('\n')) text->pop_back();
  Result<Digest> layer_key = text.ok() ? Digest::parse(*text) : Result<Digest>(text.error());
  std::string dir = layer_key.ok() ? entry_dir(cache.cache_dir, *layer_key) : "";
  Result<std::optional<FoundLayer>> found =
      layer_key.ok() ? read_entry(dir, BlobOrigin::kLocalCache)
                     : Result<std::optional<FoundLayer>>(layer_key.error());
  if (found.ok() && *found && layer_cache_key((*found)->blob.diff_id, options) == *layer_key) {
    return found;
  }
  if (!found.ok() && cache.warn) {
    cache.warn(
        fmt::format("layer cache entry {} for inputs {} is not used ({}); the layer is "
                    "made again",
                    dir.empty() ? note : dir, key.str(), found.error().message()));
  }
  ::unlink(note.c_str());
  return std::optional<FoundLayer>();
}

// The remote cache's blob for the input key, checked and kept as a local entry.
// Errors are the local cache's, but for one the remote cache returned (it is required):
// `remote_failed` says which.
Result<std::optional<FoundLayer>> find_remote(const Digest& key, const LayerWriteOptions& options,
                                              LayerCacheOptions& cache, bool& remote_failed) {
  std::string layers = cache.cache_dir + "/layers";
  STRATA_TRY(make_dirs(layers + "/sha256"));
  STRATA_TRY_ASSIGN(TempDir staged, TempDir::create(layers + "/sha256", kAtomicFilePrefix));
  std::string blob_path = staged.path() + "/" + kBlob;
  std::optional<RemoteLayer> got;
  {
    STRATA_TRY_ASSIGN(UniqueFd fd,
                      open_fd(blob_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    Result<std::optional<RemoteLayer>> fetched =
        cache.remote->fetch_layer_by_inputs(key, layer_media_type(options.compression), fd.get());
    if (!fetched.ok()) {
      remote_failed = true;
      return std::move(fetched).error();
    }
    got = *std::move(fetched);
    if (!got) return std::optional<FoundLayer>();
    STRATA_TRY(fd.close(blob_path));
  }
  // Its content, whoever signed for it: exactly the DiffID (and tar size) its statement says.
  LayerBlob blob{.digest = got->digest,
                 .size = got->size,
                 .media_type = std::string(layer_media_type(options.compression))};
  Result<void> read = read_layer_files(blob_path, got->tar_size, blob);
  if (read.ok() && (blob.diff_id != got->diff_id || blob.tar_size != got->tar_size)) {
    read = Error(ErrorCode::kInvalidInput,
                 fmt::format("its blob decompresses to DiffID {} ({} bytes), not {} "
                             "({} bytes)",
                             blob.diff_id.str(), blob.tar_size, got->diff_id.str(), got->tar_size));
  }
  if (!read.ok()) {
    cache.remote->reject_layer_by_inputs(key, read.error().message());
    return std::optional<FoundLayer>();
  }
  STRATA_TRY(write_file(staged.path() + "/" + kMeta, meta_text(blob)));
  Digest layer_key = layer_cache_key(blob.diff_id, options);
  std::string dir = entry_dir(cache.cache_dir, layer_key);
  bool kept = rename_noreplace(staged.path(), dir) == 0;
  if (kept) {
    staged.release();
  } else if (errno != EEXIST && errno != ENOTEMPTY) {
    return Error::sys(fmt::format("rename {} to {}", staged.path(), dir), errno);
  }
  STRATA_TRY(write_note(inputs_path(cache.cache_dir, key), layer_key));
  // Another build kept the same layer meanwhile: its entry is used, read as any local one.
  if (!kept) return read_entry(dir, BlobOrigin::kRegistryCache);
  STRATA_TRY_ASSIGN(std::optional<cache::EntryHold> hold, cache::hold_entry(dir));
  if (!hold) return std::optional<FoundLayer>();  // pruned at once: made again
  blob.origin = BlobOrigin::kRegistryCache;
  return std::optional<FoundLayer>(FoundLayer{
      .blob_path = dir + "/" + kBlob, .blob = std::move(blob), .hold = *std::move(hold)});
}

}  // namespace

Result<std::optional<FoundLayer>> find_layer_by_inputs(const Digest& key,
                                                       const LayerWriteOptions& options,
                                                       LayerCacheOptions& cache) {
  if (cache.cache_dir.empty() || options.compression == Compression::kNone) {
    return std::optional<FoundLayer>();
  }
  STRATA_TRY_ASSIGN(std::optional<FoundLayer> local, find_local(key, options, cache));
  if (local || !cache.remote) return local;
  bool remote_failed = false;
  Result<std::optional<FoundLayer>> remote = find_remote(key, options, cache, remote_failed);
  if (remote.ok() || remote_failed) return remote;
  give_up(cache, remote.error());
  return std::optional<FoundLayer>();
}

Result<LayerBlob> copy_found_layer(const FoundLayer& found, const std::string& blobs_dir) {
  STRATA_TRY_ASSIGN(AtomicFile out, AtomicFile::create(blobs_dir + "/layer"));
  STRATA_TRY(copy_file_to(found.blob_path, out.fd()));
  struct stat st;
  if (::fstat(out.fd(), &st) != 0) return Error::sys("stat " + out.temp_path(), errno);
  if (st.st_size != found.blob.size) {
    return Error(ErrorCode::kDigestMismatch,
                 fmt::format("layer cache entry {} changed while this build used it: its blob "
                             "has {} bytes, not {}; build again",
                             dirname_of(found.blob_path), st.st_size, found.blob.size));
  }
  STRATA_TRY(out.commit(fmt::format("{}/{}", blobs_dir, found.blob.digest.hex)));
  return found.blob;
}

Result<void> note_layer_inputs(const Digest& key, const Json& inputs, const LayerBlob& blob,
                               const LayerWriteOptions& options, const std::string& blobs_dir,
                               LayerCacheOptions& cache) {
  if (options.compression == Compression::kNone) return Ok{};
  if (!cache.cache_dir.empty()) {
    Digest layer_key = layer_cache_key(blob.diff_id, options);
    if (path_exists(entry_dir(cache.cache_dir, layer_key))) {
      Result<void> noted = write_note(inputs_path(cache.cache_dir, key), layer_key);
      if (!noted.ok()) give_up(cache, noted.error());
    }
  }
  if (!cache.remote) return Ok{};
  return cache.remote->publish_layer_inputs(key, inputs, blob,
                                            fmt::format("{}/{}", blobs_dir, blob.digest.hex));
}

}  // namespace strata::builder
