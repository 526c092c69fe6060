#include "builder/check/inputs.h"

#include <fmt/format.h>

#include <algorithm>

#include "builder/base/check.h"
#include "builder/base/fs.h"
#include "builder/base/path.h"

namespace strata::builder {
namespace {

namespace fs = std::filesystem;

// Relative inputs resolve against the spec's directory (spec.dir is absolute); absolute ones
// are not copied (see local_inputs).
void add_relative(std::vector<std::string>& out, const std::string& dir, const std::string& p) {
  if (p.empty() || p.starts_with('/')) return;
  out.push_back(normal_path(fs::path(dir) / p));
}

}  // namespace

std::vector<std::string> local_inputs(const specs::Spec& spec) {
  std::vector<std::string> out;
  add_relative(out, spec.dir, basename_of(spec.file));
  for (const specs::Source& s : spec.sources) add_relative(out, spec.dir, s.path);
  // A registry image is no local input: the second build reads it from the cache.
  for (const std::optional<specs::ImageRef>* image : {&spec.environment.image, &spec.image.base}) {
    if (*image && !(*image)->registry) add_relative(out, spec.dir, (*image)->path);
  }
  bool debs = false;
  for (const specs::LayerSpec& layer : spec.image.layers) {
    for (const specs::FileMapping& f : layer.files) add_relative(out, spec.dir, f.src);
    debs = debs || !layer.debs.empty();
  }
  // `debs:` layers read the lock beside the spec (builder/debian/lock.h), and the lock was
  // made with the repositories' keyrings.
  if (debs) add_relative(out, spec.dir, "strata.lock");
  for (const specs::DebRepository& r : spec.debian.repositories) {
    add_relative(out, spec.dir, r.keyring);
  }
  add_relative(out, spec.dir, spec.vex.file);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Result<std::string> copy_root(const std::vector<std::string>& inputs) {
  STRATA_CHECK(!inputs.empty());
  fs::path root = fs::path(inputs.front()).parent_path();
  for (const std::string& input : inputs) {
    fs::path parent = fs::path(input).parent_path();
    fs::path common;
    auto a = root.begin();
    auto b = parent.begin();
    for (; a != root.end() && b != parent.end() && *a == *b; ++a, ++b) common /= *a;
    root = common;
  }
  std::string out = normal_path(root);
  if (out.empty() || out == "/") {
    return Error(ErrorCode::kUsage,
                 fmt::format("--check: the spec's local inputs ({} and {}) have no common "
                             "directory below /; --check copies that directory",
                             inputs.front(), inputs.back()));
  }
  return out;
}

}  // namespace strata::builder
