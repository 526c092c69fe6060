// The build pipeline (docs/architecture.md): sources and packages -> layers -> base image ->
// image layout -> attestations, from a Plan. The only code that knows the whole sequence; see
// build_image in pipeline.cc. The spec and plan stages run before it, in the command
// (builder/cli/cmd_build.cc: specs::load_spec, then specs::make_plan), because
// validate, shell and verify stop after them or start from them.
#pragma once

#include <functional>
#include <string>

#include "builder/attestations/attestations.h"
#include "builder/build/packages_stage.h"
#include "builder/oci/layout_writer.h"
#include "builder/tar/tar_writer.h"
#include "specs/plan.h"

namespace strata::builder {

class RemoteLayerCache;  // builder/layer/layer_cache.h

// Everything from the command line that changes what is built or where it goes. main()
// fills it once; no stage reads the environment or the clock.
struct BuildOptions {
  std::string output_root = "out";  // the layout goes to OUTPUT_ROOT/NAME
  Compression compression = Compression::kGzip;
  // The layers' byte contract. strata build always writes kCurrentProfile (and records it in
  // provenance); strata verify passes strata-det/1 to rebuild an image recorded with it.
  DeterminismProfile profile = kCurrentProfile;
  bool write_archive = false;  // also OUTPUT_ROOT/NAME.tar (oci-archive + docker-archive)
  // Copy unchanged compressed layers from the cache (CACHE/layers, docs/cache.md "Layer
  // blobs") and keep new ones there. strata verify turns it off: a rebuild that checks a
  // digest compresses every layer afresh.
  bool layer_cache = true;
  // run: layers always take the copy path, never an overlayfs (STRATA_RUN_LAYER_COPY=1;
  // docs/run-layers.md). The layers are the same either way.
  bool run_layer_copy = false;
  // Provenance, SBOM and signature beside the layout (strata build always sets this); unset,
  // only the layout (and archive) are written.
  std::optional<AttestOptions> attest;
  // Sources and package builds: where the cache is, offline or not, --jobs, the host's
  // identity. The outside world is reached through `fetcher` and `runner` (tests pass
  // fakes); both must be set when the spec has sources or packages.
  PackageStageOptions packages;
  sources::Fetcher* fetcher = nullptr;
  sandbox::Runner* runner = nullptr;
  // --cache-registry: layer blobs asked for after a local layer cache miss and shared after
  // (docs/cache.md "Layer blobs in a registry cache"); only with layer_cache.
  RemoteLayerCache* remote_layer_cache = nullptr;
  build::BuildObserver observer;
  // Receives warnings the build has for its user (one line each, without "warning: "): a
  // Debian package's maintainer scripts, which are not run. Unset: not reported.
  std::function<void(std::string)> warn;
  // Called once, with the lock file's path, when another build of the same output name holds
  // its lock and this one waits for it (staging to publish is one build at a time per name).
  std::function<void(const std::string& lock_path)> on_output_wait;
};

struct BuildResult {
  std::string layout_dir;
  std::string archive_path;       // empty unless requested
  AttestationPaths attestations;  // empty unless options.attest
  PackageStageResult packages;    // the verified sources and built packages
  size_t debs = 0;                // Debian packages unpacked into `debs:` layers
  oci::WrittenImage image;
};

// Runs every check build_image makes before it writes anything (the pinned images: image.base
// and environment.image exist and hold the pinned manifest, the base's platform; layer
// contents: duplicate paths, paths below files, dangling hardlinks, unreadable sources).
// Writes nothing. Registry images not pulled yet (ImageRef::path empty) are not opened.
Result<void> check_image(const specs::Plan& plan);

// Builds the image the plan describes. On failure nothing under output_root is created or
// changed: the layout, the archive and the attestation files are staged in one temporary
// directory under the lock OUTPUT_ROOT/.NAME.lock and published as one set
// (oci/staged_layout.h); SIGINT/SIGTERM (base/interrupt.h) fail the build between stages.
Result<BuildResult> build_image(const specs::Plan& plan, const BuildOptions& options);

}  // namespace strata::builder
