#include "specs/inputs.h"

#include <fmt/format.h>

#include <cstdlib>

#include "builder/base/beneath.h"
#include "builder/base/path.h"

namespace strata::specs {

Result<std::string> resolve_local_input(const std::string& context, const std::string& dir,
                                        std::string_view path) {
  STRATA_CHECK(is_within(dir, context));
  // The spec's directory as a path below the context, then the input below that: ".." in the
  // input resolves the way the kernel would, and may not climb above the context.
  std::string below = dir.substr(context.size());
  while (below.starts_with('/')) below.erase(0, 1);
  Result<std::string> host = resolve_beneath(context, join_path(below, path));
  if (host.ok()) {
    // Named from `context` as given rather than its canonical form, so that names relative
    // to the spec's directory (provenance's input files) do not depend on links above it.
    char* real = ::realpath(context.c_str(), nullptr);
    std::string canonical = real ? real : context;
    ::free(real);
    if (is_within(*host, canonical)) return context + host->substr(canonical.size());
    return host;
  }
  if (host.error().code() != ErrorCode::kInvalidInput) {
    return Error(ErrorCode::kSpec, host.error().message());
  }
  std::string hint = context == dir ? "local inputs stay inside the spec's directory; "
                                      "--context DIR widens it"
                                    : "local inputs stay inside --context " + context;
  return Error(ErrorCode::kSpec, fmt::format("{} ({})", host.error().message(), hint));
}

Result<std::string> resolve_local_input(const Spec& spec, std::string_view path) {
  return resolve_local_input(spec.context.empty() ? spec.dir : spec.context, spec.dir, path);
}

Result<std::string> input_context(const std::string& context, const std::string& dir) {
  if (context.empty()) return dir;
  std::string abs = absolute_normal_path(context);
  if (!is_within(dir, abs)) {
    return Error(ErrorCode::kUsage,
                 fmt::format("--context {} does not contain the spec's directory {}", abs, dir));
  }
  return abs;
}

}  // namespace strata::specs
