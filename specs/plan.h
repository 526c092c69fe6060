// The plan stage (docs/design.md "The pipeline" step 1): a parsed Spec with every default filled
// and its packages in build order. Pure: no I/O, no clock, no environment.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "builder/base/result.h"
#include "specs/spec.h"

namespace strata::specs {

inline constexpr char kDefaultHome[] = "/";
inline constexpr char kDefaultShell[] = "/sbin/nologin";
inline constexpr uint32_t kDefaultDirMode = 0755;
inline constexpr uint32_t kDefaultFileMode = 0644;
inline constexpr uint32_t kSymlinkMode = 0777;

struct Plan {
  Spec spec;  // defaults filled (see make_plan)
  // Topological order of spec.packages (indices): every package after what it depends on;
  // packages ready at the same time keep their declaration order. Deterministic.
  std::vector<size_t> package_order;
};

// Fills the defaults a Spec leaves open and orders the packages:
// - image.architecture = host_architecture (a GOARCH name, see goarch_for_machine) if unset;
// - users: home "/" and shell "/sbin/nologin" if unset;
// - paths: mode 0755 for directories, 0644 for files, 0777 for symlinks if unset;
// - config.ports: "80" becomes "80/tcp" (the OCI ExposedPorts key form).
// Errors (kSpec): a dependency cycle, a depends entry naming no package, an empty or
// unknown architecture. The parser reports these first, so a Spec from load_spec only fails
// here on a bad host_architecture.
Result<Plan> make_plan(Spec spec, std::string host_architecture);

}  // namespace strata::specs
