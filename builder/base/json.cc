#include "builder/base/json.h"

#include <fmt/format.h>

namespace strata {
namespace {

bool has_float(const Json& v) {
  if (v.is_number_float()) return true;
  if (v.is_structured()) {
    for (const auto& item : v) {
      if (has_float(item)) return true;
    }
  }
  return false;
}

}  // namespace

Result<std::string> canonical_json(const Json& value) {
  if (has_float(value)) return Error(ErrorCode::kInternal, "canonical JSON allows integers only");
  try {
    return value.dump(-1, ' ', /*ensure_ascii=*/false, Json::error_handler_t::strict);
  } catch (const Json::exception& e) {
    return Error(ErrorCode::kInternal, fmt::format("serializing JSON: {}", e.what()));
  }
}

const Json& member(const Json& object, std::string_view key) {
  static const Json kNull;
  if (!object.is_object()) return kNull;
  auto it = object.find(key);
  return it == object.end() ? kNull : *it;
}

Result<Json> parse_json(std::string_view text, std::string_view what) {
  try {
    return Json::parse(text);
  } catch (const Json::exception& e) {
    return Error(ErrorCode::kIo, fmt::format("parsing {}: {}", what, e.what()));
  }
}

}  // namespace strata
