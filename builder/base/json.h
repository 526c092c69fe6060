// Canonical JSON for every digested or signed document (DESIGN.md determinism profile):
// UTF-8, keys sorted by byte value, compact, integers only, no trailing newline.
// nlohmann-json is header-only, so base can offer this without a new link dependency.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "builder/base/result.h"

namespace strata {

using Json = nlohmann::json;  // std::map-backed: keys iterate in byte order

// Serializes canonically. Fails on invalid UTF-8 or non-integer numbers, which would make the
// bytes depend on the serializer's float formatting.
Result<std::string> canonical_json(const Json& value);
// The member `key` of `object` by reference; a null Json when `object` is not an object or
// lacks the key. Unlike Json::value(), which returns a copy, it never copies: the reader of
// a 20,000-file provenance must not duplicate its tree once per level it descends.
const Json& member(const Json& object, std::string_view key);
// Parses `text`; `what` names the document in the error.
Result<Json> parse_json(std::string_view text, std::string_view what);

}  // namespace strata
