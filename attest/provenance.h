// SLSA v1 provenance (https://slsa.dev/spec/v1.0/provenance) for an image build, as an in-toto
// Statement v1 (https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md),
// and the checks a verifier applies to any Statement. Built from values only: main() and the
// pipeline gather digests, versions and times; nothing here reads files or the clock.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "builder/base/digest.h"
#include "builder/base/json.h"
#include "specs/plan.h"

namespace strata::attest {

inline constexpr char kStatementType[] = "https://in-toto.io/Statement/v1";
inline constexpr char kSlsaProvenanceV1[] = "https://slsa.dev/provenance/v1";
// docs/provenance.md documents this build type; a change to the parameters' schema is a new
// version of the URI.
inline constexpr char kImageBuildType[] = "https://strata.dev/buildtypes/image/v1";
// strata run by a user on their own machine: at most SLSA Build L1. A mode with other
// security properties (a hosted, isolated runner) must use another id (docs/provenance.md).
inline constexpr char kLocalBuilderId[] = "https://strata.dev/builder/local/v1";
inline constexpr char kDeterminismProfile[] = "strata-det/2";

// The command-line options that change what strata writes (externalParameters).
struct BuildParameters {
  std::string compression;  // "gzip", "zstd" or "none"
  bool archive = false;     // --archive
  bool attach = false;      // --attach
  std::string sbom_format;  // "spdx" or "cyclonedx"
};

// A file a `files:` layer copied from the host, relative to the spec's directory.
// Its digest is packed: a build lists every file of its layers, 1,000,000 of them at most
// (docs/sbom.md "Memory").
struct InputFile {
  std::string path;
  PackedDigest sha256;
};

// A Debian package as strata.lock pins it: of a `rootfs: debs` build environment, or of the
// image's `debs:` layers.
struct LockedDeb {
  std::string name;
  std::string version;
  std::string architecture;
  std::string url;
  Digest sha256;
};

struct RunTimes {
  int64_t started_on = 0;  // seconds since the epoch, UTC
  int64_t finished_on = 0;
};

struct ProvenanceInputs {
  Digest manifest_digest;  // the subject
  std::string spec_path;   // as given on the command line
  Digest spec_sha256;
  BuildParameters parameters;
  std::vector<InputFile> input_files;  // any order; recorded sorted by path
  // When set, read instead of input_files: the caller's list, which for a 1,000,000-file
  // layer is some 150 MB, is then not copied.
  const std::vector<InputFile>* input_files_ref = nullptr;
  // The build environment's packages (rootfs: debs), in the lock's order (by name).
  std::vector<LockedDeb> environment_debs;
  // The image's `debs:` layers' packages (each once, by name), and the lock that pins them.
  std::vector<LockedDeb> image_debs;
  std::optional<InputFile> lock;
  std::string strata_version;
  Digest strata_sha256;  // the running binary (/proc/self/exe)
  // Libraries whose output bytes are part of the determinism profile: name -> version.
  std::map<std::string, std::string> library_versions;
  std::optional<RunTimes> times;  // --provenance-times; absent = byte-reproducible
  std::string builder_id = kLocalBuilderId;
};

// An in-toto ResourceDescriptor naming an image: {"name": NAME, "digest": {"sha256": HEX}},
// the subject of every statement strata makes about the image it built.
Json statement_subject(std::string_view name, const Digest& manifest_digest);

// The in-toto Statement: subject = spec.name with the manifest digest, predicate = SLSA v1
// provenance with buildType kImageBuildType, as canonical JSON text (written without holding
// the per-file dependencies as a tree). No wall-clock time and no random id unless `times` is
// set, so the same inputs give the same bytes. Fails on text that is not valid UTF-8.
Result<std::string> make_provenance(const specs::Plan& plan, const ProvenanceInputs& inputs);
// make_provenance's text written to `sink` front to back; nothing per input file is held but a
// pointer while they are sorted (docs/provenance.md "Memory"). Fails also when the sink fails.
Result<void> write_provenance(const specs::Plan& plan, const ProvenanceInputs& inputs,
                              TextSink& sink);

// The constraints in-toto and SLSA state but publish no schema for: _type, a non-empty subject
// whose digests are lowercase hex, predicateType, and for SLSA v1 buildType and builder.id as
// URIs, externalParameters an object, every ResourceDescriptor with uri, digest or content,
// RFC 3339 UTC timestamps. The error (kIo) names the first field that is wrong.
Result<void> check_statement(const Json& statement);

}  // namespace strata::attest
