#include "builder/cli/self_digest.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include "builder/base/fd.h"
#include "builder/base/fs.h"

namespace strata::builder::cli {
namespace {

constexpr char kSelf[] = "/proc/self/exe";

Result<std::string> identity() {
  struct stat st;
  if (::stat(kSelf, &st) != 0) return Error::sys(fmt::format("stat {}", kSelf), errno);
  return fmt::format("strata-self/1 {} {} {} {}.{} {}.{}", st.st_dev, st.st_ino, st.st_size,
                     st.st_mtim.tv_sec, st.st_mtim.tv_nsec, st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
}

}  // namespace

Result<Digest> own_digest(const std::string& cache_dir) {
  if (cache_dir.empty()) return sha256_file(kSelf);
  STRATA_TRY_ASSIGN(std::string before, identity());
  std::string note = fmt::format("{}/self/{}", cache_dir, sha256_of(before).hex);
  if (Result<std::string> text = read_file_limited(note, 128); text.ok()) {
    if (text->ends_with('\n')) text->pop_back();
    if (Result<Digest> d = Digest::parse(*text); d.ok()) return *d;
  }
  STRATA_TRY_ASSIGN(Digest digest, sha256_file(kSelf));
  // Noted only if the binary stayed the same file while it was read.
  STRATA_TRY_ASSIGN(std::string after, identity());
  if (after == before && make_dirs(cache_dir + "/self").ok()) {
    (void)write_file_atomic(note, digest.str() + "\n");
  }
  return digest;
}

}  // namespace strata::builder::cli
