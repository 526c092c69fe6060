#include "builder/cli/format.h"

#include <fmt/format.h>
#include <sys/stat.h>

namespace strata::builder::cli {

std::string short_digest(const Digest& d) { return "sha256:" + d.hex.substr(0, 12); }

std::string human_size(int64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = -1;
  while (value >= 1024 && unit < 3) {
    value /= 1024;
    ++unit;
  }
  return fmt::format("{:.1f} {}", value, kUnits[unit]);
}

void print_json(const Json& result) {
  fmt::print("{}\n", result.dump(-1, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace));
}

std::pair<std::string, std::string> split_tag(const std::string& image) {
  struct stat st;
  size_t colon = image.rfind(':');
  if (::stat(image.c_str(), &st) == 0 || colon == std::string::npos ||
      image.find('/', colon) != std::string::npos) {
    return {image, ""};
  }
  return {image.substr(0, colon), image.substr(colon + 1)};
}

}  // namespace strata::builder::cli
