// Checks that span sections: what packages and layers refer to must be declared, and the
// depends graph must be acyclic.
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "specs/graph.h"
#include "specs/internal/sections.h"
#include "specs/suggest.h"

namespace strata::specs::internal {
namespace {

void check_layers(Reader& r, const Spec& spec, const std::vector<std::string>& packages) {
  // package -> the layer it was first put in, and where
  std::map<std::string, std::pair<size_t, Loc>> placed;
  for (size_t i = 0; i < spec.image.layers.size(); ++i) {
    const LayerSpec& layer = spec.image.layers[i];
    check_refs(r, layer.packages, packages, "package");
    for (const Ref& ref : layer.packages) {
      auto [it, inserted] = placed.emplace(ref.name, std::pair(i, ref.loc));
      bool declared = std::find(packages.begin(), packages.end(), ref.name) != packages.end();
      if (!inserted && declared && it->second.first != i) {
        r.error(ref.loc, fmt::format("package '{}' is already in an earlier layer (line {})",
                                     ref.name, it->second.second.line));
      }
    }
  }
}

// `debs:` layers need a `debian:` section, and a package is listed in one layer only.
void check_debs(Reader& r, const Spec& spec) {
  // So does a `rootfs: debs` environment (its packages are resolved apart from the layers').
  if (!spec.environment.debs.empty() && spec.debian.repositories.empty()) {
    r.error(spec.environment.debs.front().loc,
            "'rootfs: debs' needs a 'debian:' section naming the repositories to take them from");
  }
  std::map<std::string, Loc> placed;
  for (const LayerSpec& layer : spec.image.layers) {
    if (!layer.debs.empty() && spec.debian.repositories.empty() && placed.empty()) {
      r.error(layer.debs.front().loc,
              "'debs' needs a 'debian:' section naming the repositories to take them from");
    }
    for (const Ref& ref : layer.debs) {
      auto [it, inserted] = placed.emplace(ref.name, ref.loc);
      if (!inserted) {
        r.error(ref.loc,
                fmt::format("deb '{}' is already listed (line {})", ref.name, it->second.line));
      }
    }
  }
}

}  // namespace

void check_refs(Reader& r, const std::vector<Ref>& refs, const std::vector<std::string>& declared,
                std::string_view what) {
  std::set<std::string> seen;
  for (const Ref& ref : refs) {
    if (std::find(declared.begin(), declared.end(), ref.name) == declared.end()) {
      r.error(ref.loc,
              fmt::format("unknown {} '{}'{}", what, ref.name, did_you_mean(ref.name, declared)));
    } else if (!seen.insert(ref.name).second) {
      r.error(ref.loc, fmt::format("{} '{}' is listed twice", what, ref.name));
    }
  }
}

void check_references(Reader& r, const Spec& spec) {
  std::vector<std::string> sources, packages;
  for (const Source& s : spec.sources) sources.push_back(s.name);
  for (const Package& p : spec.packages) packages.push_back(p.name);
  for (const Package& p : spec.packages) {
    check_refs(r, p.sources, sources, "source");
    check_refs(r, p.depends, packages, "package");
  }
  for (Diagnostic& cycle : order_packages(spec.packages).cycles) {
    r.error(cycle.loc, std::move(cycle.message));
  }
  check_layers(r, spec, packages);
  check_debs(r, spec);
  check_vex(r, spec, spec.vex.statements);
}

}  // namespace strata::specs::internal
