// Small helpers for human-readable CLI output.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "builder/base/digest.h"
#include "builder/base/json.h"

namespace strata::builder::cli {

// "sha256:0123456789ab" (12 hex digits).
std::string short_digest(const Digest& d);
// "512 B", "1.5 KiB", "12.0 MiB".
std::string human_size(int64_t bytes);
// Prints the one JSON result of --json on stdout (compact, keys sorted, a newline). Names
// from tars and foreign configs need not be UTF-8: invalid bytes become U+FFFD rather than
// failing (or throwing out of nlohmann's dump).
void print_json(const Json& result);
// IMAGE[:TAG] -> {path, tag}: "out/hello:2.12" names a tag unless the whole string is an
// existing path or the last ':' is inside a directory name.
std::pair<std::string, std::string> split_tag(const std::string& image);

}  // namespace strata::builder::cli
