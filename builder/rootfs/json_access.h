// Reading documents from images strata did not write: lookups that never throw, whatever
// the JSON's shape (nlohmann's value() and operator[] throw on a type mismatch).
#pragma once

#include <string>
#include <string_view>

#include "builder/base/json.h"

namespace strata::builder::rootfs {

// j[key] when j is an object holding key, else a null value.
inline const Json& member(const Json& j, std::string_view key) {
  static const Json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

// j[key] when it is a string, else "".
inline std::string string_member(const Json& j, std::string_view key) {
  const Json& v = member(j, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}

}  // namespace strata::builder::rootfs
