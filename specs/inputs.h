// Where a spec's local inputs are read from. `files:` entries and relative `path:` sources are
// named relative to the spec's directory and must resolve beneath its context: the spec's
// directory, or the wider directory given with `--context DIR`. A symlink may lead from one
// input to another inside the context, never out of it, so a repository cannot make a build
// read (and publish) the host's files through a link such as `etc -> /etc`. An absolute
// `path:` source names a host file explicitly and is pinned by its sha256 (docs/security.md).
#pragma once

#include <string>
#include <string_view>

#include "builder/base/result.h"
#include "specs/spec.h"

namespace strata::specs {

// The host path of `path` (relative to `dir`, which lies within `context`; both absolute),
// resolved with no symlink leading out of `context` (base/beneath.h resolve_beneath) and
// named from `context` as given. kSpec errors name the symlink or ".." that leads out, or the
// component that is missing.
Result<std::string> resolve_local_input(const std::string& context, const std::string& dir,
                                        std::string_view path);
Result<std::string> resolve_local_input(const Spec& spec, std::string_view path);

// `context` absolute and lexically normal ("" for the spec's own directory `dir`); kUsage
// when it does not contain `dir`.
Result<std::string> input_context(const std::string& context, const std::string& dir);

}  // namespace strata::specs
