#include "builder/base/time.h"

#include <fmt/format.h>

#include <ctime>

#include "builder/base/check.h"

namespace strata {

std::string rfc3339_utc(int64_t epoch_seconds) {
  std::time_t t = static_cast<std::time_t>(epoch_seconds);
  std::tm tm{};
  STRATA_CHECK(gmtime_r(&t, &tm) != nullptr);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

}  // namespace strata
