// Field-by-field comparison of two JSON documents (index, manifest, config) as a list of
// JSON Pointer paths, and the normalisation --semantic applies to configs first.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "builder/base/json.h"
#include "builder/diff/image_diff.h"

namespace strata::builder::diff {

// Appends one FieldDiff per differing leaf of `a` and `b` below `pointer` (RFC 6901, "" is
// the whole document). Objects are compared key by key, arrays index by index (an element
// one side lacks is absent there); values of different JSON types differ as a whole.
void diff_json(std::string_view document, const Json& a, const Json& b, const std::string& pointer,
               std::vector<FieldDiff>& out);

// "a/b~c" -> "a~1b~0c" (RFC 6901 reference token escaping).
std::string escape_pointer_token(std::string_view token);

// The config as --semantic compares it: without `created`, `history`, `rootfs` (layer
// identity is compared through the merged filesystem instead) and Docker's builder records
// (`container`, `container_config`, `docker_version`); null values and empty objects and
// arrays dropped at every depth, so `"Env": []` equals no Env.
Json semantic_config(const Json& config);

}  // namespace strata::builder::diff
