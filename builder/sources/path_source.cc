#include "builder/sources/path_source.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <cerrno>

#include "builder/base/error.h"
#include "builder/tar/tar_writer.h"
#include "builder/tar/tree.h"
#include "specs/inputs.h"

namespace strata::builder::sources {

Result<Digest> write_directory_tar(const std::string& dir, int fd) {
  // Uncompressed, mtime 0, modes normalized: a checkout's umask and mtimes do not change it.
  FdBlobOutput out(fd, "the directory tar");
  return builder::write_directory_tar(dir, HostCopyOptions{}, 0, out);
}

Result<Digest> path_digest(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Error::sys("stat " + path, errno);
  if (S_ISREG(st.st_mode)) return sha256_file(path);
  if (!S_ISDIR(st.st_mode)) return Error::io(path + " is neither a regular file nor a directory");
  return directory_tar_digest(path, HostCopyOptions{}, 0);
}

Result<void> pin_path_sources(specs::Spec& spec) {
  for (specs::Source& source : spec.sources) {
    if (source.path.empty() || !source.sha256.hex.empty()) continue;
    STRATA_TRY_ASSIGN_CONTEXT(std::string host, specs::resolve_local_input(spec, source.path),
                              fmt::format("source '{}'", source.name));
    STRATA_TRY_ASSIGN_CONTEXT(source.sha256, path_digest(host),
                              fmt::format("source '{}' (path {})", source.name, source.path));
    source.pinned_by_content = true;
  }
  return Ok{};
}

}  // namespace strata::builder::sources
