// A Debian repository read the way apt reads it, for `strata lock`: InRelease (or Release
// and Release.gpg) fetched and its OpenPGP signature verified with gpgv against the spec's
// keyring, then each component's Packages index fetched and checked against the size and
// SHA256 the signed Release file gives it (docs/debian-packages.md, "What is verified").
#pragma once

#include <string>
#include <vector>

#include "builder/base/digest.h"
#include "builder/debian/index.h"
#include "builder/sources/fetcher.h"
#include "specs/spec.h"

namespace strata::builder::debian {

struct RepositoryIndex {
  // sha256 of the verified Release text (the signed part of InRelease).
  Digest release_sha256;
  // "debian-12": the Release file's Origin (lowercased) and the major part of its Version,
  // else its Codename; the purl's distro qualifier. `vendor` is the purl namespace.
  std::string distro;
  std::string vendor;
  std::vector<IndexPackage> packages;
};

struct RepositoryContext {
  sources::Fetcher* fetcher = nullptr;
  sources::FetchOptions fetch;
  std::string work_dir;  // scratch space, removed by the caller
  std::string gpgv = "/usr/bin/gpgv";
};

// Reads `repo` (the spec's repositories[index]) for `architecture`; `keyring` is the
// keyring's resolved absolute path. Errors (kVerification for a signature gpgv refuses,
// with its own words; kDigestMismatch for an index whose size or sha256 is not the Release
// file's; kInvalidInput for malformed text) name the repository's URL and suite.
Result<RepositoryIndex> read_repository(const specs::DebRepository& repo, size_t index,
                                        const std::string& keyring, const std::string& architecture,
                                        const RepositoryContext& ctx);

// What the Release file says of one index: "main/binary-amd64/Packages.xz" -> size, sha256.
struct ReleaseFile {
  std::string path;
  int64_t size = 0;
  Digest sha256;
};
Result<std::vector<ReleaseFile>> release_files(const Stanza& release, std::string_view what);
std::string release_distro(const Stanza& release, std::string* vendor);

// Runs gpgv (bounded: 60 s, the first 4 KiB of its output kept) on `signature` (and
// `signed_file` for a detached signature, else the signature is clearsigned and its text is
// written to `output`). kVerification with gpgv's output when it refuses.
Result<void> run_gpgv(const std::string& gpgv, const std::string& keyring,
                      const std::string& work_dir, const std::string& signature,
                      const std::string& signed_file, const std::string& output);

// The Debian architecture of a GOARCH name: amd64 -> amd64, 386 -> i386, arm -> armhf,
// ppc64le -> ppc64el, mips64le -> mips64el, mipsle -> mipsel; others unchanged.
std::string debian_architecture(const std::string& goarch);

}  // namespace strata::builder::debian
