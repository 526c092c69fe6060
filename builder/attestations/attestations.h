// The attestations stage (docs/design.md "Attestations"): provenance, SBOM and the optional DSSE
// envelope of a built image, written into the output's staging directory and published with
// the layout as one set (oci/staged_layout.h); with --attach also stored in the staged layout
// as OCI 1.1 artifacts. attest/ builds the documents; this file gathers the values and does
// the writing.
#pragma once

#include <future>
#include <optional>
#include <string>
#include <vector>

#include "attest/openssl.h"
#include "attest/provenance.h"
#include "attest/sbom.h"
#include "builder/base/fs.h"
#include "builder/oci/layout_writer.h"
#include "builder/tar/tree.h"
#include "specs/plan.h"

namespace strata::builder {

enum class SbomFormat { kSpdx, kCycloneDx };
// "spdx" or "cyclonedx" (kSpec error otherwise).
Result<SbomFormat> parse_sbom_format(std::string_view name);

// The wall clock, behind an interface so tests can fix it (docs/style.md §1).
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t now_seconds() = 0;
};

// What main() gathers for the attestations: digests of the spec and of the running binary,
// the options that shape them, the signing key, and the clock (only for --provenance-times).
struct AttestOptions {
  std::string spec_path;  // as given on the command line
  Digest spec_sha256;
  std::string strata_version;
  Digest strata_sha256;  // of /proc/self/exe
  // When valid, what strata_sha256 is, being computed beside the build (a large binary takes
  // a while to hash) and waited for when the provenance is made.
  std::shared_future<Result<Digest>> strata_sha256_pending;
  SbomFormat sbom_format = SbomFormat::kSpdx;
  std::optional<attest::PrivateKey> sign_key;
  bool attach = false;     // also store them in the layout (OCI 1.1 artifacts)
  Clock* clock = nullptr;  // non-null: record startedOn/finishedOn (--provenance-times)
};

struct AttestationInputs {
  const specs::Plan& plan;
  const AttestOptions& options;
  const oci::WrittenImage& image;
  size_t base_layers = 0;  // image.layers starts with this many from the base image
  std::vector<attest::InputFile> input_files;  // host files the layers copied
  attest::BuildParameters parameters;
  std::optional<attest::RunTimes> times;  // from options.clock, read by the pipeline
  std::string output_base;    // OUTPUT_ROOT/NAME: published as OUTPUT_BASE.provenance.json etc.
  std::string staging_dir;    // where they are written (by their file names) until published
  std::string staged_layout;  // the staged layout directory (for --attach)
  std::vector<attest::SbomDeb> debs;  // the Debian packages of `debs:` layers, for the SBOM
  // The packages of a `rootfs: debs` build environment, for the provenance (not the SBOM: it
  // describes the image, and these are not in it).
  std::vector<attest::LockedDeb> environment_debs;
  // strata.lock, when the spec has Debian packages: listed in the provenance with them.
  std::optional<attest::InputFile> lock;
};

// Paths of the files the stage writes (empty when not written).
struct AttestationPaths {
  std::string provenance;
  std::string envelope;
  std::string sbom;
  std::string openvex;           // NAME.openvex.json: the spec has `vex:` statements
  std::string openvex_envelope;  // NAME.openvex.dsse.json: and a signing key
  std::string sigstore_bundle;   // NAME.sigstore.json: the provenance envelope as a bundle

  // Every path written, in the order above.
  std::vector<std::string> all() const;
};

// The file names (OUTPUT_BASE's last component + suffix) the stage may publish beside the
// layout, whether or not this build writes them: publishing removes the ones it did not
// write, so none describes another build.
std::vector<std::string> attestation_file_names(const std::string& output_base);

// Builds the provenance (and envelope and Sigstore bundle, with a key), the SBOM and, when
// the spec has `vex:` statements, the OpenVEX document (and its envelope, with a key); writes
// them (fsynced) into in.staging_dir under their published names' last component, and with
// options.attach adds them to the staged layout as artifacts whose subject is the image manifest
// (an envelope instead of what it signs; the bundle, a copy of the provenance envelope, is not
// attached). Returns the paths they will be published at.
Result<AttestationPaths> stage_attestations(const AttestationInputs& in);

// After publishing: the provenance at `provenance_path` names `manifest_digest` as its
// subject, and the layout at `layout_dir` (tag `tag`) is that manifest. kVerification
// naming both digests otherwise.
Result<void> check_published_set(const std::string& layout_dir, const std::string& tag,
                                 const std::string& provenance_path, const Digest& manifest_digest);

// The spec's own files among `entries` (regular entries copied from the host, other than
// package outputs under one of `package_dirs`), named relative to `spec_dir`, with the
// content digests the writer recorded for them in `files` (entries and files correspond one
// to one, in tar order). Package outputs are not inputs: their sources are, and the cache
// path they sit under must not reach the provenance. One pass over the entries, whose error
// (a host directory that changed since the layer was written) is returned; then they are
// freed (docs/sbom.md "What a build holds per file").
Result<void> collect_input_files(const std::string& spec_dir,
                                 const std::vector<std::string>& package_dirs,
                                 LayerEntries&& entries, const FileRecords& files,
                                 std::vector<attest::InputFile>& out);

}  // namespace strata::builder
