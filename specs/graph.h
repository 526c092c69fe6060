// The package dependency graph of a spec: a deterministic build order and its cycles.
#pragma once

#include <cstddef>
#include <vector>

#include "specs/diagnostics.h"
#include "specs/spec.h"

namespace strata::specs {

struct PackageOrder {
  // Indices into the packages vector, every package after all it depends on; among packages
  // that are ready at the same time, the one declared first comes first. Packages on a cycle
  // (and those depending on one) are missing when `cycles` is not empty.
  std::vector<size_t> order;
  // One "dependency cycle: a -> b -> a" per cycle found, located at the `depends` entry that
  // closes it.
  std::vector<Diagnostic> cycles;
};

// Orders `packages` by their `depends`; unknown names in depends are ignored (the parser
// reports them). Pure.
PackageOrder order_packages(const std::vector<Package>& packages);

}  // namespace strata::specs
