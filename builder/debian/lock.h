// strata.lock: the Debian packages a spec's `debs:` layers resolve to, written by
// `strata lock` beside the spec and the only thing `strata build` reads about them
// (docs/debian-packages.md, "The lock"). JSON with sorted keys, two-space indented, one
// newline at the end: the same inputs give the same bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "builder/base/digest.h"
#include "builder/base/json.h"
#include "builder/sources/fetcher.h"
#include "specs/spec.h"

namespace strata::builder::debian {

inline constexpr char kLockFileName[] = "strata.lock";

struct LockedPackage {
  std::string name;
  std::string version;
  std::string architecture;
  std::string url;
  int64_t size = 0;
  Digest sha256;
  Digest release;                    // sha256 of the verified Release file it was listed under
  std::string distro;                // "debian-12"
  std::string vendor;                // "debian": the purl namespace
  std::vector<std::string> depends;  // locked packages that satisfy its dependencies
};

struct LockedRepository {
  std::string url;
  std::string suite;
  Digest release;
  std::string distro;
};

// The packages of a `rootfs: debs` build environment: the spec's environment.debs, the
// repositories' Essential set and their dependencies, resolved on their own (a package may
// be in the environment and in a layer, with the same or another version).
struct LockedEnvironment {
  std::map<std::string, std::string> roots;  // as Lock::roots, for environment.debs
  std::vector<LockedPackage> packages;       // sorted by name
};

struct Lock {
  // What the lock was made from: the spec's debian section and every layer's debs. A build
  // whose spec gives other inputs refuses the lock.
  Json inputs;
  // Each requested name and the package chosen for it (a virtual name maps to its provider).
  std::map<std::string, std::string> roots;
  std::vector<LockedRepository> repositories;
  std::vector<LockedPackage> packages;  // sorted by name
  // Only for a spec with `rootfs: debs`; absent from the file otherwise.
  std::optional<LockedEnvironment> environment;
};

// The identity of a locked environment: sha256 of the canonical JSON of its section of the
// lock (every package's name, version, architecture, URL, size and sha256 among it). The
// rootfs cache and package cache keys use it (docs/build-environments.md).
Digest environment_digest(const LockedEnvironment& environment);

// The inputs of `spec` for `architecture` (a Debian architecture name), as a lock records them.
Json lock_inputs(const specs::Spec& spec, const std::string& architecture);
// The Debian architecture a spec's packages are for: debian.architecture, else the one of
// image.architecture.
std::string spec_architecture(const specs::Spec& spec);

std::string render_lock(const Lock& lock);
Result<Lock> parse_lock(std::string_view text, const std::string& what);
std::string lock_path(const specs::Spec& spec);

// The lock beside the spec, checked against the spec. Errors (kSpec) say to run `strata lock
// SPEC`: no lock, a malformed one, or one made for other inputs.
Result<Lock> load_lock(const specs::Spec& spec);

struct LockOptions {
  std::string cache_dir;  // scratch space goes under CACHE/debian
  sources::Fetcher* fetcher = nullptr;
  sources::FetchOptions fetch;
  // The lock there is now: its versions are kept where the repositories still have them,
  // except for every package with update_all, or the packages named in `update`.
  std::optional<Lock> previous;
  bool update_all = false;
  std::set<std::string> update;
  std::string gpgv = "/usr/bin/gpgv";
  // Where the host's apt sources are read for a `host` repository (docs/debian-packages.md).
  std::string apt_etc = "/etc/apt";
  // One line per host apt source skipped, and why.
  std::function<void(std::string)> warn;
};

// Reads every repository (verified, debian/repository.h), resolves every layer's debs and
// returns the lock. Writes nothing but scratch files, removed before it returns.
Result<Lock> make_lock(const specs::Spec& spec, const LockOptions& options);

// The locked packages each spec layer holds: the layer's debs and what they depend on,
// recursively, less what an earlier layer holds; each layer's list sorted by name.
std::vector<std::vector<const LockedPackage*>> layer_packages(const specs::Spec& spec,
                                                              const Lock& lock);

}  // namespace strata::builder::debian
