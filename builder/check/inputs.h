// What `strata build --check` copies: the local files and directories a spec reads, and the
// one directory that holds them all.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "builder/base/path.h"
#include "builder/base/result.h"
#include "specs/spec.h"

namespace strata::builder {

// The local files and directories the spec reads, absolute and lexically normal, sorted: the
// spec file, `path:` sources, `files:` sources, the environment and base image layouts, the
// lock and keyrings of `debs:` layers and the `vex:` file.
// Inputs written as absolute paths (and URL sources) are left out: a copied spec still names
// the same absolute path, so the second build reads them where they are.
std::vector<std::string> local_inputs(const specs::Spec& spec);

// The smallest directory that contains every input: the longest common prefix of their
// parent directories. kUsage when that is "/" (the inputs are too scattered to copy).
Result<std::string> copy_root(const std::vector<std::string>& inputs);

}  // namespace strata::builder
