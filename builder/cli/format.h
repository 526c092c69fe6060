// Small helpers for human-readable CLI output.
#pragma once

#include <cstdint>
#include <string>

#include "builder/base/digest.h"

namespace strata::builder::cli {

// "sha256:0123456789ab" (12 hex digits).
std::string short_digest(const Digest& d);
// "512 B", "1.5 KiB", "12.0 MiB".
std::string human_size(int64_t bytes);

}  // namespace strata::builder::cli
