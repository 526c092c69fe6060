// Small helpers for human-readable CLI output.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "builder/base/digest.h"

namespace strata::builder::cli {

// "sha256:0123456789ab" (12 hex digits).
std::string short_digest(const Digest& d);
// "512 B", "1.5 KiB", "12.0 MiB".
std::string human_size(int64_t bytes);
// IMAGE[:TAG] -> {path, tag}: "out/hello:2.12" names a tag unless the whole string is an
// existing path or the last ':' is inside a directory name.
std::pair<std::string, std::string> split_tag(const std::string& image);

}  // namespace strata::builder::cli
