// The strata/v1 spec as typed values (docs/design.md "The spec"). Every node keeps the Loc of its
// YAML node so later stages can point errors at the spec. No YAML types leak out of specs/.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "builder/base/digest.h"
#include "builder/base/error.h"
#include "specs/registry_ref.h"

namespace strata::specs {

inline constexpr int64_t kDefaultEpoch = 315532800;  // 1980-01-01T00:00:00Z

// A name that refers to another spec entry (a source or a package), with where it was written.
struct Ref {
  std::string name;
  Loc loc;
};

// An image pinned by digest: a local OCI layout (directory or archive), "./dir@sha256:<hex>",
// or a registry image, "docker://HOST/REPO[:TAG]@sha256:<hex>" (docs/registries.md).
struct ImageRef {
  // A local image: as written, relative to the spec's directory. A registry image: empty
  // until registry::resolve_spec_images has pulled it, then the local layout it is in.
  std::string path;
  // The image manifest's digest. A registry image's pin may name an index: until it is
  // resolved this is the pin, then the manifest chosen for the platform (registry->digest
  // keeps the pin).
  Digest digest;
  std::optional<RegistryRef> registry;
  Loc loc;

  // How messages and provenance name the image: the path as written, or the normalised
  // reference with its pin ("docker.io/library/debian:12@sha256:…").
  std::string name() const { return registry ? registry->str() : path; }
};

struct Source {
  std::string name;
  std::string url;   // http://, https:// or file:// ; empty when `path` is set
  std::string path;  // relative to the spec's directory; empty when `url` is set
  // Empty only for a relative `path:` written without one, until the build pins it by its
  // contents (sources::pin_path_sources), which sets pinned_by_content.
  Digest sha256;
  bool pinned_by_content = false;
  int64_t strip = 0;
  Loc loc;
};

enum class RootfsKind { kHost, kImage, kDebs };

struct Environment {
  RootfsKind rootfs = RootfsKind::kHost;
  std::optional<ImageRef> image;  // set iff rootfs == kImage
  // rootfs == kDebs: Debian packages (with the repository's Essential set and every
  // dependency) that `strata lock` resolves into strata.lock's `environment` section; the
  // build assembles the root filesystem from them (docs/build-environments.md).
  std::vector<Ref> debs;
  std::map<std::string, std::string> env;
  Loc loc;
};

struct Package {
  std::string name;
  std::string version;
  std::string license;  // SPDX license expression, may be empty
  std::vector<Ref> sources;
  std::vector<Ref> depends;
  std::vector<std::string> steps;
  std::map<std::string, std::string> env;  // added to environment.env for this package
  int64_t timeout_s = 3600;
  // The size limit of each of the step's tmpfs mounts (/tmp and $HOME); 0: the sandbox's
  // default (sandbox::kDefaultTmpfsSizeBytes, 1 GiB). Not part of the cache key: it changes
  // whether a build fits, not what it produces.
  int64_t tmpfs_size_bytes = 0;
  Loc loc;
};

// One `files:` entry of a layer: a file or directory next to the spec, copied to `dest`.
struct FileMapping {
  std::string src;               // relative to the spec's directory, as written
  std::string dest;              // absolute, normalized ("/etc/motd"); "/" allowed for dirs
  std::optional<uint32_t> mode;  // permission bits for regular files (and dirs if dir_mode unset)
  std::optional<uint32_t> dir_mode;  // permission bits for directories copied from a src dir
  int64_t uid = 0;
  int64_t gid = 0;
  Loc loc;
};

struct LayerSpec {
  std::vector<Ref> packages;
  // Debian packages (docs/debian-packages.md): names resolved, with their dependencies, by
  // `strata lock` into strata.lock beside the spec; the build unpacks the locked .debs.
  std::vector<Ref> debs;
  std::vector<FileMapping> files;
  // Commands run in the sandbox over the image so far, each with /bin/sh -c, in order; their
  // changes are the layer (docs/run-layers.md). A run layer holds nothing else.
  std::vector<Ref> run;
  std::string comment;  // optional, recorded in the config history
  Loc loc;
};

enum class PathType { kDirectory, kFile, kSymlink, kHardlink };

// An entry of `image.paths`: created in the image by strata itself.
struct PathEntry {
  std::string path;  // absolute, normalized
  PathType type = PathType::kDirectory;
  std::optional<uint32_t> mode;  // default: 0755 directory, 0644 file
  int64_t uid = 0;
  int64_t gid = 0;
  std::string content;  // kFile: inline content
  std::string target;   // kSymlink: link text as written; kHardlink: absolute path of an entry
  Loc loc;
};

struct Group {
  std::string name;
  int64_t gid = 0;
  std::vector<std::string> members;
  Loc loc;
};

struct User {
  std::string name;
  int64_t uid = 0;
  int64_t gid = 0;
  std::string gecos;
  std::string home;   // default "/"
  std::string shell;  // default "/sbin/nologin"
  Loc loc;
};

struct Accounts {
  std::vector<Group> groups;
  std::vector<User> users;
  Loc loc;
};

// image.config; fields map 1:1 onto the OCI config's "config" object.
struct ImageConfig {
  std::optional<std::vector<std::string>> entrypoint;
  std::optional<std::vector<std::string>> cmd;
  std::map<std::string, std::string> env;
  std::string workdir;
  std::string user;
  std::map<std::string, std::string> labels;
  std::vector<std::string> ports;    // "8080/tcp", "53/udp", "80" (tcp)
  std::vector<std::string> volumes;  // absolute paths
  std::string stop_signal;
  Loc loc;
};

struct Image {
  std::optional<ImageRef> base;  // nullopt = scratch
  std::vector<LayerSpec> layers;
  Accounts accounts;
  std::vector<PathEntry> paths;
  ImageConfig config;
  std::map<std::string, std::string> annotations;
  std::string os = "linux";
  std::string architecture;  // GOARCH; empty = the build host's (filled in by the plan)
  Loc loc;
};

// One Debian repository of the `debian:` section: the archive's root URL, a suite (a
// distribution name under dists/), its components and the keyring its Release file must be
// signed by (relative to the spec's directory, or absolute).
struct DebRepository {
  // `- host` in the list: the host's apt sources, read by `strata lock` (the other fields
  // are then empty).
  bool host = false;
  std::string url;
  std::string suite;
  std::vector<std::string> components;  // default {"main"}
  std::string keyring;
  Loc loc;
};

struct Debian {
  std::vector<DebRepository> repositories;
  // The Debian architecture of the packages ("amd64", "arm64"); empty: the one of
  // image.architecture (debian::debian_architecture).
  std::string architecture;
  Loc loc;
};

// One statement of the `vex:` section (docs/vex.md): what the image's makers say about one
// vulnerability, for the image as a whole or for some of its packages. Written out as an
// OpenVEX v0.2.0 statement (attest/vex.h); the fields keep OpenVEX's names.
struct VexStatement {
  std::string vulnerability;         // "CVE-2024-3094", "GHSA-xxxx-xxxx-xxxx" or an OSV id
  std::vector<std::string> aliases;  // other ids of the same vulnerability
  std::vector<Ref> packages;         // names of `packages:` entries
  std::vector<Ref> debs;             // names listed in `debs:` layers
  // "not_affected", "affected", "fixed" or "under_investigation", as OpenVEX writes them.
  std::string status;
  std::string justification;     // not_affected only: one of OpenVEX's five
  std::string impact_statement;  // not_affected only; it or justification is required
  std::string action_statement;  // affected only, and required there
  std::string status_notes;
  Loc loc;
};

struct Vex {
  // `vex: FILE`: the YAML file holding the statements, as written (relative to the spec's
  // directory); empty when they are written inline.
  std::string file;
  std::vector<VexStatement> statements;
  Loc loc;
};

struct Spec {
  std::string file;  // the spec file's path as given on the command line
  std::string dir;   // directory that relative paths in the spec resolve against
  // The directory local inputs must stay beneath (specs/inputs.h): `dir`, or --context.
  std::string context;
  std::string name;
  std::string version = "latest";
  int64_t epoch = kDefaultEpoch;
  std::vector<Source> sources;
  Environment environment;
  std::vector<Package> packages;
  Debian debian;
  Image image;
  Vex vex;  // no statements: no OpenVEX document is written
};

}  // namespace strata::specs
