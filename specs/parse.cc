// Placeholder until the spec parser lands.
#include "specs/parse.h"

namespace strata::specs {

Result<Spec> load_spec(const std::string& path) {
  return Error(ErrorCode::kSpec, "spec parsing not implemented yet: " + path);
}

Result<Spec> parse_spec(std::string_view, const std::string& file, const std::string&) {
  return Error(ErrorCode::kSpec, "spec parsing not implemented yet: " + file);
}

}  // namespace strata::specs
