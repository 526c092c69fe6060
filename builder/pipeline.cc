#include "builder/pipeline.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/base/fs.h"
#include "builder/image_layers.h"

namespace strata::builder {
namespace {

struct SortedLayer {
  std::vector<LayerEntry> entries;
  oci::HistoryEntry history;
};

// Orders every layer's entries. Duplicate paths and dangling hardlinks surface here, before
// any output exists.
Result<std::vector<SortedLayer>> sort_layers(std::vector<PlannedLayer> planned) {
  std::vector<SortedLayer> out;
  for (PlannedLayer& layer : planned) {
    STRATA_TRY_ASSIGN(std::vector<LayerEntry> entries, std::move(layer.tree).sorted_entries());
    out.push_back({std::move(entries), std::move(layer.history)});
  }
  return out;
}

Result<std::vector<LayerBlob>> write_layers(const std::vector<SortedLayer>& layers,
                                            const std::string& blobs_dir,
                                            const LayerWriteOptions& options) {
  std::vector<LayerBlob> blobs;
  for (size_t i = 0; i < layers.size(); ++i) {
    auto blob = write_layer_blob(layers[i].entries, options, blobs_dir);
    if (!blob.ok()) return std::move(blob).error().context(fmt::format("writing layer {}", i + 1));
    blobs.push_back(*std::move(blob));
  }
  return blobs;
}

// Creates the directory that will hold the layout; remembers whether it existed so a failed
// build can remove what it created.
class OutputParent {
 public:
  static Result<OutputParent> prepare(const std::string& dir) {
    struct stat st;
    bool existed = ::stat(dir.c_str(), &st) == 0;
    STRATA_TRY(make_dirs(dir));
    return OutputParent(dir, existed);
  }
  OutputParent(OutputParent&& o) noexcept
      : dir_(std::move(o.dir_)), created_(std::exchange(o.created_, false)) {}
  ~OutputParent() {
    // rmdir only removes directories left empty, so a failure leaves no new directory behind.
    if (created_) {
      for (std::string d = dir_; d != "." && d != "/" && ::rmdir(d.c_str()) == 0;)
        d = dirname_of(d);
    }
  }
  void keep() { created_ = false; }

 private:
  OutputParent(std::string dir, bool existed) : dir_(std::move(dir)), created_(!existed) {}
  std::string dir_;
  bool created_;
};

}  // namespace

Result<void> check_image(const specs::Plan& plan) {
  STRATA_TRY_ASSIGN(std::vector<PlannedLayer> planned, plan_image_layers(plan.spec));
  STRATA_TRY(sort_layers(std::move(planned)));
  return Ok{};
}

Result<BuildResult> build_image(const specs::Plan& plan, const BuildOptions& options) {
  const specs::Spec& spec = plan.spec;
  BuildResult result{.layout_dir = fmt::format("{}/{}", options.output_root, spec.name)};

  // 1. Layers: spec.image becomes one ordered entry list per OCI layer (all checks first).
  STRATA_TRY_ASSIGN(std::vector<PlannedLayer> planned, plan_image_layers(spec));
  STRATA_TRY_ASSIGN(std::vector<SortedLayer> layers, sort_layers(std::move(planned)));

  // 2. Staging: a temporary directory beside the final layout, removed on any failure.
  STRATA_TRY_ASSIGN(OutputParent parent, OutputParent::prepare(dirname_of(result.layout_dir)));
  STRATA_TRY_ASSIGN(TempDir staging, TempDir::create(dirname_of(result.layout_dir),
                                                     "." + basename_of(spec.name) + ".tmp-"));
  // mkdtemp makes 0700 directories; the published layout is as readable as any output.
  if (::chmod(staging.path().c_str(), 0755) != 0) {
    return Error::sys(fmt::format("chmod {}", staging.path()), errno);
  }
  STRATA_TRY_ASSIGN(std::string blobs_dir, oci::prepare_layout_dir(staging.path()));

  // 3. Layer blobs: each layer streamed once into blobs/sha256 (tar -> DiffID -> compress).
  LayerWriteOptions layer_options{.compression = options.compression, .mtime = spec.epoch};
  STRATA_TRY_ASSIGN(std::vector<LayerBlob> blobs, write_layers(layers, blobs_dir, layer_options));

  // 4. Documents: config, manifest, index.json, oci-layout and Docker's manifest.json.
  std::vector<oci::HistoryEntry> history;
  for (const SortedLayer& l : layers) history.push_back(l.history);
  Json config = oci::make_config(spec.image, spec.epoch, blobs, history);
  oci::LayoutNaming naming{.name = spec.name,
                           .tag = spec.version,
                           .os = spec.image.os,
                           .architecture = spec.image.architecture};
  STRATA_TRY_ASSIGN(result.image,
                    oci::write_layout_documents(staging.path(), config, std::move(blobs),
                                                spec.image.annotations, naming));

  // 5. Archive (optional): a deterministic tar of the staged layout, committed with it.
  std::optional<AtomicFile> archive;
  if (options.write_archive) {
    result.archive_path = result.layout_dir + ".tar";
    STRATA_TRY_ASSIGN(AtomicFile file, AtomicFile::create(result.archive_path));
    FdBlobOutput out(file.fd(), file.temp_path());
    STRATA_TRY(oci::write_layout_archive(staging.path(), out, spec.epoch));
    archive.emplace(std::move(file));
  }

  // 6. Publish: the staged layout replaces OUTPUT_ROOT/NAME in one rename.
  STRATA_TRY(publish_dir(staging.path(), result.layout_dir));
  staging.release();
  if (archive) STRATA_TRY(archive->commit(result.archive_path));
  parent.keep();
  return result;
}

}  // namespace strata::builder
