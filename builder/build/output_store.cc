#include "builder/build/output_store.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <cerrno>

#include "builder/base/json.h"
#include "builder/base/owner.h"
#include "builder/tar/tar_writer.h"

namespace strata::builder::build {
namespace {

constexpr char kRecordName[] = "output.json";
constexpr char kPreimageName[] = "key.json";

std::string last_key_path(const std::string& root, const std::string& spec,
                          const std::string& package) {
  return fmt::format("{}/last/{}.json", root, sha256_of(spec + "\n" + package).hex);
}

}  // namespace

Result<Digest> tree_digest(const std::string& dir) {
  return directory_tar_digest(dir, {.keep_modes = true}, 0);
}

Result<OutputStore> OutputStore::open(const std::string& cache_dir) {
  std::string root = cache_dir + "/packages";
  STRATA_TRY(make_dirs(root + "/tmp"));
  // Work directories (NAME-@PID.START-XXXXXX) of builds that are gone, and atomic files of
  // the store itself: nobody will finish them. A live build's are left alone (base/owner.h).
  constexpr std::string_view kAnyName[] = {""};
  constexpr std::string_view kAtomic[] = {kAtomicFilePrefix};
  remove_stale_temporaries(root + "/tmp", kAnyName);
  remove_stale_temporaries(root, kAtomic);
  STRATA_TRY(make_dirs(root + "/last"));
  remove_stale_temporaries(root + "/last", kAtomic);
  return OutputStore(std::move(root));
}

Result<TempDir> OutputStore::make_work_dir(std::string_view name) const {
  return TempDir::create(root_ + "/tmp", fmt::format("{}-", name));
}

Result<std::optional<PackageOutput>> OutputStore::lookup(const std::string& name,
                                                         const Digest& key) {
  std::string entry = entry_dir(key);
  // Held before it is read: a prune cannot remove it between the check and the use.
  STRATA_TRY_ASSIGN(std::optional<cache::EntryHold> hold, cache::hold_entry(entry));
  if (!hold) return std::optional<PackageOutput>();
  auto record_text = read_file(entry + "/" + kRecordName);
  if (!record_text.ok()) return std::optional<PackageOutput>();
  PackageOutput out{.name = name,
                    .cache_key = key,
                    .dir = entry + "/out",
                    .from_cache = true,
                    .hold = *std::move(hold)};
  auto record = parse_json(*record_text, entry);
  auto recorded =
      record.ok() ? Digest::parse(record->value("digest", "")) : Result<Digest>(record.error());
  auto actual = tree_digest(out.dir);
  if (!recorded.ok() || !actual.ok() || *recorded != *actual) {
    // A damaged entry (truncated file, edited output, missing record) is never used.
    STRATA_TRY(remove_tree(entry));
    return std::optional<PackageOutput>();
  }
  out.digest = *actual;
  cache::touch_last_use(entry + "/" + kRecordName);
  return std::optional<PackageOutput>(std::move(out));
}

Result<PackageOutput> OutputStore::commit(const std::string& name, const Digest& key,
                                          const Json& preimage, TempDir work) {
  STRATA_TRY_ASSIGN(Digest digest, tree_digest(work.path() + "/out"));
  Json record = {{"name", name}, {"key", key.str()}, {"digest", digest.str()}};
  STRATA_TRY_ASSIGN(std::string text, canonical_json(record));
  // The record is written last inside the work dir, and the whole dir is renamed: an entry
  // either has its record or does not exist.
  for (const char* scratch : {"src", "home"}) STRATA_TRY(remove_tree(work.path() + "/" + scratch));
  STRATA_TRY_ASSIGN(std::string preimage_text, canonical_json(preimage));
  STRATA_TRY(write_file_atomic(work.path() + "/" + kPreimageName, preimage_text));
  STRATA_TRY(write_file_atomic(work.path() + "/" + kRecordName, text));
  std::string entry = entry_dir(key);
  if (::rename(work.path().c_str(), entry.c_str()) != 0) {
    if (errno != EEXIST && errno != ENOTEMPTY) {
      return Error::sys(fmt::format("store package {} in {}", name, entry), errno);
    }
    // A concurrent build stored this key first: use its (verified) entry.
    STRATA_TRY_ASSIGN(std::optional<PackageOutput> existing, lookup(name, key));
    if (existing) return *std::move(existing);
    return Error::io(fmt::format("store package {}: {} is in the way", name, entry));
  }
  work.release();
  STRATA_TRY(fsync_dir(root_));
  // Between the rename and this hold only a prune down to less than this (now the newest)
  // entry could take it; then this build fails and says why rather than use a missing tree.
  STRATA_TRY_ASSIGN(std::optional<cache::EntryHold> hold, cache::hold_entry(entry));
  if (!hold)
    return Error::io(fmt::format("store package {}: {} was removed meanwhile", name, entry));
  return PackageOutput{
      .name = name, .cache_key = key, .digest = digest, .dir = entry + "/out", .hold = *hold};
}

std::optional<LastKey> OutputStore::last_key(const std::string& spec,
                                             const std::string& package) const {
  Result<std::string> text = read_file(last_key_path(root_, spec, package));
  if (!text.ok()) return std::nullopt;
  Result<Json> record = parse_json(*text, "last key");
  if (!record.ok()) return std::nullopt;
  Result<Digest> key = Digest::parse(string_member(*record, "key"));
  if (!key.ok()) return std::nullopt;
  return LastKey{.key = *key, .preimage = member(*record, "preimage")};
}

Result<void> OutputStore::remember(const std::string& spec, const std::string& package,
                                   const Digest& key, const Json& preimage) const {
  Json record = {{"spec", spec}, {"package", package}, {"key", key.str()}, {"preimage", preimage}};
  STRATA_TRY_ASSIGN(std::string text, canonical_json(record));
  return write_file_atomic(last_key_path(root_, spec, package), text);
}

}  // namespace strata::builder::build
