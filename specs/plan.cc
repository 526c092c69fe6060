#include "specs/plan.h"

#include <fmt/format.h>

#include <algorithm>

#include "specs/graph.h"
#include "specs/values.h"

namespace strata::specs {
namespace {

Result<void> check_depends(const std::vector<Package>& packages) {
  for (const Package& p : packages) {
    for (const Ref& dep : p.depends) {
      bool known = std::any_of(packages.begin(), packages.end(),
                               [&](const Package& q) { return q.name == dep.name; });
      if (!known) {
        return Error::spec(
            dep.loc, fmt::format("package '{}' depends on unknown package '{}'", p.name, dep.name));
      }
    }
  }
  return Ok{};
}

Result<void> fill_architecture(Image& image, const std::string& host_architecture) {
  if (image.architecture.empty()) image.architecture = host_architecture;
  const std::vector<std::string>& names = goarch_names();
  if (std::find(names.begin(), names.end(), image.architecture) == names.end()) {
    return Error(ErrorCode::kSpec,
                 fmt::format("'{}' is not a GOARCH architecture name", image.architecture));
  }
  return Ok{};
}

void fill_image_defaults(Image& image) {
  for (User& user : image.accounts.users) {
    if (user.home.empty()) user.home = kDefaultHome;
    if (user.shell.empty()) user.shell = kDefaultShell;
  }
  for (PathEntry& path : image.paths) {
    if (path.mode) continue;
    if (path.type == PathType::kDirectory) path.mode = kDefaultDirMode;
    if (path.type == PathType::kFile) path.mode = kDefaultFileMode;
    if (path.type == PathType::kSymlink) path.mode = kSymlinkMode;
  }
  for (std::string& port : image.config.ports) {
    Result<std::string> normalized = normalize_port(port);
    if (normalized.ok()) port = *normalized;
  }
}

}  // namespace

Result<Plan> make_plan(Spec spec, std::string host_architecture) {
  STRATA_TRY(check_depends(spec.packages));
  PackageOrder order = order_packages(spec.packages);
  if (!order.cycles.empty()) {
    const Diagnostic& first = order.cycles.front();
    return Error::spec(first.loc, first.message);
  }
  STRATA_TRY(fill_architecture(spec.image, host_architecture));
  fill_image_defaults(spec.image);
  return Plan{.spec = std::move(spec), .package_order = std::move(order.order)};
}

}  // namespace strata::specs
