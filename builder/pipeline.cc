#include "builder/pipeline.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <future>
#include <set>

#include "builder/base/fs.h"
#include "builder/base/interrupt.h"
#include "builder/base_image/base_image.h"
#include "builder/debian/debs_stage.h"
#include "builder/layer/image_layers.h"
#include "builder/layer/layer_blob.h"
#include "builder/layer/layer_cache.h"
#include "builder/layer/layer_inputs.h"
#include "builder/layer/lower_layers.h"
#include "builder/oci/pinned_image.h"
#include "builder/oci/staged_layout.h"
#include "builder/run_layer/run_layer.h"

namespace strata::builder {
namespace {

// A layer with an input key (builder/layer/layer_inputs.h): found whole in the layer cache,
// or written and then noted under its key.
struct InputKeyed {
  Digest key;
  Json inputs;  // the key's preimage
  std::optional<FoundLayer> found;
  // A found layer's `files:` entries and their records: the host files the provenance lists.
  LayerEntries file_entries;
  FileRecords file_records;
};

struct SortedLayer {
  LayerEntries entries;  // none for a layer found whole
  oci::HistoryEntry history;
  // A run layer's result: what keeps its entries' content files (builder/run_layer/).
  std::shared_ptr<const run_layer::RunLayer> run;
  std::optional<InputKeyed> keyed;

  const FoundLayer* found() const { return keyed && keyed->found ? &*keyed->found : nullptr; }
};

// Orders every layer's entries. Duplicate paths and dangling hardlinks surface here, before
// any output exists. Where a layer's host directories are walked at each pass
// (LayerEntries), so do the host files no layer can hold: with `check`, in a pass of their
// own; in a build, in place_over_lower_layers' pass over each layer but the last, and in
// the last one's first pass, its write (or a pass of its own when others are written first).
Result<std::vector<SortedLayer>> sort_layers(std::vector<PlannedLayer> planned, bool check) {
  std::vector<SortedLayer> out;
  for (PlannedLayer& layer : planned) {
    STRATA_TRY_ASSIGN(LayerEntries entries, std::move(layer.tree).entries());
    if (check && entries.streamed()) STRATA_TRY(entries.check());
    out.push_back({std::move(entries), std::move(layer.history)});
  }
  return out;
}

// One layer's blob into blobs_dir: copied when it was found whole, else written through the
// layer cache (and noted under its input key, when it has one).
Result<LayerBlob> write_layer(const SortedLayer& layer, const std::string& blobs_dir,
                              const LayerWriteOptions& options, LayerCacheOptions& cache) {
  if (const FoundLayer* found = layer.found()) return copy_found_layer(*found, blobs_dir);
  STRATA_TRY_ASSIGN(LayerBlob blob,
                    write_layer_blob_cached(layer.entries, options, blobs_dir, cache));
  if (layer.keyed) {
    STRATA_TRY(
        note_layer_inputs(layer.keyed->key, layer.keyed->inputs, blob, options, blobs_dir, cache));
  }
  return blob;
}

Result<std::vector<LayerBlob>> write_layers(const std::vector<SortedLayer>& layers,
                                            const std::string& blobs_dir,
                                            const LayerWriteOptions& options,
                                            LayerCacheOptions& cache) {
  std::vector<LayerBlob> blobs;
  for (size_t i = 0; i < layers.size(); ++i) {
    auto blob = write_layer(layers[i], blobs_dir, options, cache);
    if (!blob.ok()) return std::move(blob).error().context(fmt::format("writing layer {}", i + 1));
    blobs.push_back(*std::move(blob));
  }
  return blobs;
}

// The values the attestations stage needs beyond the plan: which host files went in, the
// output-shaping options and, with --provenance-times, when the build ran. The layers'
// entries are consumed (nothing after the attestations reads them).
Result<AttestationInputs> attestation_inputs(const specs::Plan& plan, const BuildOptions& options,
                                             const BuildResult& result,
                                             std::vector<SortedLayer>& layers,
                                             const std::vector<debian::DebLayer>& debs,
                                             const std::optional<debian::Lock>& lock,
                                             const oci::StagedLayout& staged,
                                             std::optional<int64_t> started_on) {
  AttestationInputs in{
      .plan = plan,
      .options = *options.attest,
      .image = result.image,
      .parameters = {.compression = std::string(compression_name(options.compression)),
                     .archive = options.write_archive,
                     .attach = options.attest->attach,
                     .sbom_format =
                         options.attest->sbom_format == SbomFormat::kSpdx ? "spdx" : "cyclonedx"},
      .output_base = result.layout_dir,
      .staging_dir = staged.staging_dir(),
      .staged_layout = staged.dir()};
  // The image's layers are the base image's (if any) followed by strata's own.
  size_t base_count = result.image.layers.size() - layers.size();
  in.base_layers = base_count;
  std::vector<std::string> package_dirs;
  for (const auto& [name, output] : result.packages.outputs) {
    if (!output.dir.empty()) package_dirs.push_back(output.dir);  // not a deferred one
  }
  // The .debs' file contents, in the debs stage's scratch directory, are not input files
  // either: each .deb is a dependency of its own.
  for (const debian::DebLayer& d : debs) {
    if (d.contents) package_dirs.push_back(d.contents->path());
  }
  for (size_t i = 0; i < layers.size(); ++i) {
    if (layers[i].run) continue;  // made by its commands, not copied from the host
    if (layers[i].found()) {      // its own entries were never made: its files: entries were
      InputKeyed& k = *layers[i].keyed;
      STRATA_TRY(collect_input_files(plan.spec.dir, package_dirs, std::move(k.file_entries),
                                     k.file_records, in.input_files));
      continue;
    }
    STRATA_TRY(collect_input_files(plan.spec.dir, package_dirs, std::move(layers[i].entries),
                                   result.image.layers[base_count + i].files, in.input_files));
  }
  for (size_t i = 0; i < debs.size(); ++i) {
    for (const debian::DebPackage& p : debs[i].packages) {
      in.debs.push_back({.name = p.locked.name,
                         .version = p.locked.version,
                         .architecture = p.locked.architecture,
                         .vendor = p.locked.vendor,
                         .distro = p.locked.distro,
                         .url = p.locked.url,
                         .sha256 = p.locked.sha256,
                         .license = p.license,
                         .layer = i,
                         .files = p.files,
                         .depends = p.locked.depends});
    }
  }
  // The lock that pins them, as the spec's directory names it.
  if (lock) {
    Result<Digest> lock_sha256 = sha256_file(debian::lock_path(plan.spec));
    if (lock_sha256.ok())
      in.lock = attest::InputFile{debian::kLockFileName, PackedDigest::of(*lock_sha256)};
  }
  // The build environment's packages, when packages were built in them (rootfs: debs).
  if (lock && lock->environment && !plan.spec.packages.empty()) {
    for (const debian::LockedPackage& p : lock->environment->packages) {
      in.environment_debs.push_back({.name = p.name,
                                     .version = p.version,
                                     .architecture = p.architecture,
                                     .url = p.url,
                                     .sha256 = p.sha256});
    }
  }
  if (started_on) {
    in.times = attest::RunTimes{.started_on = *started_on,
                                .finished_on = options.attest->clock->now_seconds()};
  }
  return in;
}

// The base image, opened and verified against its pinned digest and the image's platform.
Result<std::optional<base_image::BaseImage>> load_base(const specs::Spec& spec) {
  if (!spec.image.base) return std::optional<base_image::BaseImage>();
  auto loaded = base_image::load_base_image(*spec.image.base, spec.dir);
  if (!loaded.ok()) return std::move(loaded).error().at(spec.image.base->loc);
  base_image::BaseImage base = *std::move(loaded);
  STRATA_TRY(base_image::check_base_platform(base, spec.image.os, spec.image.architecture));
  return std::optional<base_image::BaseImage>(std::move(base));
}

// environment.image opened and checked against its pin. The rootfs cache does not open the
// image on a hit, so without this a missing image or a wrong pin could go unnoticed, or be
// found only after the sources were fetched.
Result<void> check_environment_image(const specs::Spec& spec) {
  if (!spec.environment.image) return Ok{};
  auto view = oci::open_pinned_image(*spec.environment.image, spec.dir);
  if (!view.ok()) return std::move(view).error().at(spec.environment.image->loc);
  return Ok{};
}

// A `run:` layer's entries: its commands run over the layers below (builder/run_layer/).
Result<void> run_layer_entries(const specs::Spec& spec, size_t index,
                               const std::optional<base_image::BaseImage>& base,
                               std::vector<SortedLayer>& layers, const BuildOptions& options) {
  STRATA_CHECK(options.runner != nullptr);
  run_layer::RunLayerRequest r{.layer = &spec.image.layers[index],
                               .index = index,
                               .epoch = spec.epoch,
                               .profile = options.profile,
                               .cache_dir = options.packages.cache_dir,
                               .use_cache = options.layer_cache,
                               .force_copy = options.run_layer_copy,
                               .runner = options.runner};
  if (base) {
    for (const base_image::BaseLayer& l : base->layers)
      r.base.push_back({l.source_path, l.blob.diff_id});
  }
  for (size_t i = 0; i < index; ++i) r.layers.push_back(&layers[i].entries);
  STRATA_TRY_ASSIGN(run_layer::RunLayer run, run_layer::build_run_layer(r));
  layers[index].entries = run.entries;
  layers[index].run = std::make_shared<const run_layer::RunLayer>(std::move(run));
  return Ok{};
}

// Each layer placed over the layers below it (the base's, then the spec's earlier ones), so
// a package or file installing into lib/ on a base where lib -> usr/lib lands in usr/lib.
Result<void> place_over_lower_layers(const specs::Spec& spec,
                                     const std::optional<base_image::BaseImage>& base,
                                     std::vector<SortedLayer>& layers,
                                     const BuildOptions& options) {
  LowerLayers lower;
  if (base) {
    for (const base_image::BaseLayer& l : base->layers) {
      auto added = lower.add_blob(l.source_path, "the base image", l.blob.diff_id);
      if (!added.ok()) return std::move(added).error().context("base image " + base->ref.name());
    }
  }
  for (size_t i = 0; i < layers.size(); ++i) {
    // A layer found whole is below the others as its blob lists its files (no whiteouts:
    // it is a layer of packages and files).
    if (const FoundLayer* found = layers[i].found()) {
      std::vector<LayerEntry> read;
      read.reserve(found->blob.files.size());
      for (const LayerFile& f : found->blob.files) {
        read.push_back({.path = f.path, .type = f.type, .link_target = f.link_target});
      }
      lower.add_entries(read, fmt::format("layer {}", i + 1));  // a list: held anyway
      continue;
    }
    // A run layer's paths are the ones its commands changed, already resolved by the kernel.
    if (i < spec.image.layers.size() && !spec.image.layers[i].run.empty()) {
      STRATA_TRY(run_layer_entries(spec, i, base, layers, options));
    } else {
      STRATA_TRY_ASSIGN(layers[i].entries, place_layer(std::move(layers[i].entries), lower));
    }
    if (i + 1 < layers.size()) {
      STRATA_TRY(lower.add_layer(layers[i].entries, fmt::format("layer {}", i + 1)));
    } else if (i > 0 && layers[i].entries.streamed()) {
      STRATA_TRY(layers[i].entries.check());  // see sort_layers
    }
  }
  return Ok{};
}

// Sources and packages: fetched and verified, built in the sandbox or taken from the cache.
// With `defer`, an output no package depends on that the remote cache holds is only looked
// up (PackageOutput::deferred): the layers made from it may be found without it.
Result<PackageStageResult> build_packages(const specs::Plan& plan, const BuildOptions& options,
                                          bool defer) {
  if (plan.spec.sources.empty() && plan.spec.packages.empty()) return PackageStageResult{};
  STRATA_CHECK(options.fetcher != nullptr && options.runner != nullptr);
  PackageStageOptions packages = options.packages;
  packages.defer_remote_outputs = defer;
  return build_spec_packages(plan, packages, *options.fetcher, *options.runner, options.observer);
}

// The deferred outputs that the layers not found whole are made from, fetched: false when
// one's entry did not verify (the remote cache warned).
Result<bool> materialize_needed(const specs::Spec& spec, PackageStageResult& packages,
                                const std::vector<std::optional<InputKeyed>>& keyed) {
  std::set<std::string> needed;
  for (size_t i = 0; i < spec.image.layers.size(); ++i) {
    if (i < keyed.size() && keyed[i] && keyed[i]->found) continue;
    for (const specs::Ref& r : spec.image.layers[i].packages) needed.insert(r.name);
  }
  for (auto& [name, output] : packages.outputs) {
    if (!output.deferred || needed.count(name) == 0) continue;
    STRATA_CHECK(packages.materialize != nullptr);
    STRATA_TRY_ASSIGN(bool fetched, packages.materialize(output));
    if (!fetched) return false;
  }
  return true;
}

bool has_debs(const specs::Spec& spec) {
  if (spec.environment.rootfs == specs::RootfsKind::kDebs) return true;  // strata.lock's too
  for (const specs::LayerSpec& l : spec.image.layers) {
    if (!l.debs.empty()) return true;
  }
  return false;
}

// The Debian packages of `debs:` layers: the lock checked against the spec, each locked .deb
// fetched into the content store, verified and read (debian/debs_stage.h).
Result<std::vector<debian::DebLayer>> build_debs(const specs::Spec& spec,
                                                 const std::optional<debian::Lock>& lock,
                                                 const BuildOptions& options) {
  if (!lock) return std::vector<debian::DebLayer>();
  STRATA_CHECK(options.fetcher != nullptr);
  sources::SourceOptions o{.cache_dir = options.packages.cache_dir,
                           .offline = options.packages.offline,
                           .fetch = options.packages.fetch};
  return debian::prepare_deb_layers(spec, *lock, o, *options.fetcher, options.warn);
}

// Which of the spec's layers have an input key (docs/cache.md "Layers by their inputs"), and
// which of those the layer cache holds whole: the layers of packages and files from the
// bottom up to the first debs: or run: layer, in a spec with no run: layer above them (its
// commands need the entries of every layer below), when layers are compressed and cached.
Result<std::vector<std::optional<InputKeyed>>> find_layers_by_inputs(
    const specs::Spec& spec, const PackageStageResult& packages,
    const std::optional<base_image::BaseImage>& base, const LayerWriteOptions& options,
    LayerCacheOptions& cache) {
  const std::vector<specs::LayerSpec>& spec_layers = spec.image.layers;
  std::vector<std::optional<InputKeyed>> out(spec_layers.size());
  if (cache.cache_dir.empty() || options.compression == Compression::kNone) return out;
  size_t keyed = 0;
  while (keyed < spec_layers.size() && spec_layers[keyed].run.empty() &&
         spec_layers[keyed].debs.empty()) {
    ++keyed;
  }
  for (size_t i = keyed; i < spec_layers.size(); ++i) {
    if (!spec_layers[i].run.empty()) keyed = 0;
  }
  if (keyed == 0) return out;
  // The layers' files: entries alone (no package is added without its tree).
  STRATA_TRY_ASSIGN(std::vector<PlannedLayer> planned, plan_image_layers(spec, nullptr));
  LayerInputs in;
  if (base) {
    for (const base_image::BaseLayer& l : base->layers) in.lower.push_back(l.blob.diff_id);
  }
  // Every key first: a layer's key names the layers below by their keys, not by what they
  // hold.
  for (size_t i = 0; i < keyed; ++i) {
    InputKeyed k;
    in.packages.clear();
    for (const specs::Ref& r : spec_layers[i].packages) {
      in.packages.push_back(packages.outputs.at(r.name).digest);
    }
    STRATA_TRY_ASSIGN(k.file_entries, std::move(planned[i].tree).entries());
    STRATA_TRY_ASSIGN(in.files, entries_digest(k.file_entries, &k.file_records));
    k.inputs = layer_inputs_document(in, options);
    STRATA_TRY_ASSIGN(k.key, layer_input_key(in, options));
    in.lower.push_back(k.key);
    out[i] = std::move(k);
  }
  // Then the lookups, a few at once: reading one layer back (a decompression and two hashes)
  // overlaps another's download. Each has its own copy of the cache options; a cache one of
  // them gave up on is given up on for the build.
  const size_t at_once = static_cast<size_t>(std::max<int64_t>(2, options.jobs));
  for (size_t first = 0; first < keyed; first += at_once) {
    size_t end = std::min(keyed, first + at_once);
    std::vector<LayerCacheOptions> copies(end - first, cache);
    std::vector<std::future<Result<std::optional<FoundLayer>>>> lookups;
    for (size_t i = first; i < end; ++i) {
      lookups.push_back(std::async(std::launch::async, [&, i] {
        return find_layer_by_inputs(out[i]->key, options, copies[i - first]);
      }));
    }
    std::optional<Error> failed;
    for (size_t i = first; i < end; ++i) {
      Result<std::optional<FoundLayer>> found = lookups[i - first].get();
      if (!found.ok() && !failed)
        failed = std::move(found).error().context(fmt::format("layer {}", i + 1));
      if (found.ok()) out[i]->found = *std::move(found);
      if (!out[i]->found) {
        // The layer is written from entries made again: holding these as well would keep
        // every file of it twice until the build ends.
        out[i]->file_entries = {};
        out[i]->file_records.clear();  // the writer lists them
      }
      if (copies[i - first].cache_dir.empty()) cache.cache_dir.clear();
    }
    if (failed) return *std::move(failed);
    if (cache.cache_dir.empty()) break;
  }
  return out;
}

// spec.image as one ordered entry list per OCI layer, package outputs at their paths, each
// layer placed over the ones below it; a layer found whole by its inputs (`keyed`) has none.
Result<std::vector<SortedLayer>> layer_entries(const specs::Spec& spec,
                                               const PackageStageResult& packages,
                                               std::vector<debian::DebLayer>& debs,
                                               const std::optional<base_image::BaseImage>& base,
                                               std::vector<std::optional<InputKeyed>> keyed,
                                               const BuildOptions& options) {
  PackageTrees trees;
  for (const auto& [name, output] : packages.outputs) trees[name] = output.dir;
  DebEntries deb_entries;
  for (debian::DebLayer& l : debs) deb_entries.push_back(std::move(l.entries));
  std::vector<bool> found(keyed.size());
  for (size_t i = 0; i < keyed.size(); ++i) found[i] = keyed[i] && keyed[i]->found;
  STRATA_TRY_ASSIGN(std::vector<PlannedLayer> planned,
                    plan_image_layers(spec, &trees, &deb_entries, &found));
  STRATA_TRY_ASSIGN(std::vector<SortedLayer> layers,
                    sort_layers(std::move(planned), /*check=*/false));
  for (size_t i = 0; i < keyed.size(); ++i) layers[i].keyed = std::move(keyed[i]);
  STRATA_TRY(place_over_lower_layers(spec, base, layers, options));
  return layers;
}

// The image's layer blobs, written into blobs_dir: the base image's copied byte for byte,
// and each of ours streamed once (tar -> DiffID -> compress).
struct ImageBlobs {
  std::vector<LayerBlob> base;
  std::vector<LayerBlob> own;
};
Result<ImageBlobs> write_image_blobs(const std::optional<base_image::BaseImage>& base,
                                     const std::vector<SortedLayer>& layers,
                                     const std::string& blobs_dir, const LayerWriteOptions& options,
                                     LayerCacheOptions& cache) {
  ImageBlobs blobs;
  if (base) {
    STRATA_TRY_ASSIGN(blobs.base, base_image::copy_base_layers(*base, blobs_dir));
  }
  STRATA_TRY_ASSIGN(blobs.own, write_layers(layers, blobs_dir, options, cache));
  return blobs;
}

// Config, manifest, index.json, oci-layout and Docker's manifest.json. The config is the
// spec's over the base image's; the spec's annotations win over the base's.
Result<oci::WrittenImage> write_documents(const specs::Spec& spec,
                                          const std::optional<base_image::BaseImage>& base,
                                          const std::vector<SortedLayer>& layers, ImageBlobs blobs,
                                          const std::string& layout_dir) {
  std::vector<oci::HistoryEntry> history;
  for (const SortedLayer& l : layers) history.push_back(l.history);
  Json config = oci::make_config(spec.image, spec.epoch, blobs.own, history);
  std::map<std::string, std::string> annotations = spec.image.annotations;
  if (base) {
    config = base_image::extend_config(base->config, config);
    annotations.insert(base->annotations.begin(), base->annotations.end());
  }
  // The image's layers are the base image's followed by ours.
  std::vector<LayerBlob> all = std::move(blobs.base);
  all.insert(all.end(), std::make_move_iterator(blobs.own.begin()),
             std::make_move_iterator(blobs.own.end()));
  oci::LayoutNaming naming{.name = spec.name,
                           .tag = spec.version,
                           .os = spec.image.os,
                           .architecture = spec.image.architecture};
  return oci::write_layout_documents(layout_dir, config, std::move(all), annotations, naming);
}

// The files published beside the layout (all of them, written or not: the ones a build does
// not write are removed, so none describes another build), and whom to tell about a wait.
oci::StageOptions stage_options(const specs::Spec& spec, const BuildOptions& options) {
  oci::StageOptions o{.companions = attestation_file_names(spec.name),
                      .on_wait = options.on_output_wait};
  o.companions.push_back(spec.name + ".tar");
  return o;
}

}  // namespace

Result<void> check_image(const specs::Plan& plan) {
  // A registry image not pulled yet is checked when a build pulls it: validate stays offline.
  auto pulled = [](const std::optional<specs::ImageRef>& ref) {
    return !ref || !ref->registry || !ref->path.empty();
  };
  if (pulled(plan.spec.image.base)) STRATA_TRY(load_base(plan.spec));
  if (pulled(plan.spec.environment.image)) STRATA_TRY(check_environment_image(plan.spec));
  if (has_debs(plan.spec)) STRATA_TRY(debian::load_lock(plan.spec));
  STRATA_TRY_ASSIGN(std::vector<PlannedLayer> planned, plan_image_layers(plan.spec, nullptr));
  STRATA_TRY(sort_layers(std::move(planned), /*check=*/true));
  return Ok{};
}

Result<BuildResult> build_image(const specs::Plan& plan, const BuildOptions& options) {
  const specs::Spec& spec = plan.spec;
  BuildResult result{.layout_dir = fmt::format("{}/{}", options.output_root, spec.name)};
  std::optional<int64_t> started_on;
  if (options.attest && options.attest->clock) started_on = options.attest->clock->now_seconds();

  // 1. Pinned images: the base (image.base) and the environment (environment.image) checked
  //    against their digests and the image's platform first, so a wrong pin costs no build.
  STRATA_TRY_ASSIGN(std::optional<base_image::BaseImage> base, load_base(spec));
  STRATA_TRY(check_environment_image(spec));
  //    The lock of the `debs:` layers, which must match the spec (strata lock writes it).
  std::optional<debian::Lock> lock;
  if (has_debs(spec)) {
    STRATA_TRY_ASSIGN(lock, debian::load_lock(spec));
  }
  // 2. Sources and packages: fetched, verified, built in the sandbox or taken from the cache
  //    (nothing under output_root is touched before step 4).
  //    Outputs whose layers the remote cache may hold whole are only looked up, for now.
  bool defer = options.layer_cache && options.remote_layer_cache != nullptr &&
               options.compression != Compression::kNone;
  STRATA_TRY_ASSIGN(result.packages, build_packages(plan, options, defer));
  //    Debian packages: the locked .debs fetched, verified against the lock and read.
  STRATA_TRY_ASSIGN(std::vector<debian::DebLayer> debs, build_debs(spec, lock, options));
  for (const debian::DebLayer& l : debs) result.debs += l.packages.size();
  // 3. Layers: those the layer cache has whole by their inputs found first (docs/cache.md
  //    "Layers by their inputs"); the others as one ordered entry list per OCI layer, every
  //    check made, each placed over the layers below it (merged-/usr symlinks followed as
  //    dpkg does).
  LayerWriteOptions layer_options{.compression = options.compression,
                                  .mtime = spec.epoch,
                                  .jobs = options.packages.jobs,
                                  .profile = options.profile};
  LayerCacheOptions layer_cache{
      .cache_dir = options.layer_cache ? options.packages.cache_dir : "",
      .remote = options.layer_cache ? options.remote_layer_cache : nullptr,
      .warn = options.warn};
  STRATA_TRY_ASSIGN(std::vector<std::optional<InputKeyed>> keyed,
                    find_layers_by_inputs(spec, result.packages, base, layer_options, layer_cache));
  STRATA_TRY_ASSIGN(bool complete, materialize_needed(spec, result.packages, keyed));
  if (!complete) {
    // A remote entry named an output its blob is not (warned): the packages are taken or
    // built again without deferring any, and the input keys computed from what they are.
    STRATA_TRY_ASSIGN(result.packages, build_packages(plan, options, false));
    STRATA_TRY_ASSIGN(
        keyed, find_layers_by_inputs(spec, result.packages, base, layer_options, layer_cache));
  }
  STRATA_TRY_ASSIGN(std::vector<SortedLayer> layers,
                    layer_entries(spec, result.packages, debs, base, std::move(keyed), options));
  // 4. Staging: an empty layout in a temporary directory beside OUTPUT_ROOT/NAME, under the
  //    lock on the name (a concurrent build of it waits), removed on any failure.
  STRATA_TRY(check_interrupted());
  STRATA_TRY_ASSIGN(oci::StagedLayout staged,
                    oci::StagedLayout::create(result.layout_dir, stage_options(spec, options)));
  // 5. Layer blobs: the base image's reused; ours copied from the layer cache when they
  //    were found or their bytes are there (docs/cache.md "Layer blobs"), else streamed once
  //    into blobs/sha256.
  STRATA_TRY_ASSIGN(ImageBlobs blobs, write_image_blobs(base, layers, staged.blobs_dir(),
                                                        layer_options, layer_cache));
  STRATA_TRY(check_interrupted());
  // 6. Documents: config, manifest, index.json, oci-layout and Docker's manifest.json.
  STRATA_TRY_ASSIGN(result.image,
                    write_documents(spec, base, layers, std::move(blobs), staged.dir()));
  // 7. Attestations: provenance, SBOM and signature staged beside the layout; with --attach
  //    also in it as OCI 1.1 artifacts (before the archive, which then holds them).
  if (options.attest) {
    STRATA_TRY_ASSIGN(AttestationInputs in, attestation_inputs(plan, options, result, layers, debs,
                                                               lock, staged, started_on));
    STRATA_TRY_ASSIGN(result.attestations, stage_attestations(std::move(in)));
  }
  // 8. Archive (optional): a deterministic tar of the staged layout.
  if (options.write_archive) {
    result.archive_path = result.layout_dir + ".tar";
    STRATA_TRY(staged.stage_archive(result.archive_path, spec.epoch));
  }
  // 9. Publish: the whole set at once (journaled; the old companions go first, the layout
  //    replaces OUTPUT_ROOT/NAME in one rename, the new companions follow), then read back:
  //    the provenance's subject is the published layout's manifest.
  STRATA_TRY(check_interrupted());
  STRATA_TRY(staged.publish(result.image.manifest.digest));
  if (options.attest) {
    STRATA_TRY(check_published_set(result.layout_dir, spec.version, result.attestations.provenance,
                                   result.image.manifest.digest));
  }
  return result;
}

}  // namespace strata::builder
