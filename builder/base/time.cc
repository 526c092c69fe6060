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

std::optional<int64_t> parse_rfc3339_utc(std::string_view text) {
  auto digits = [&](size_t at, size_t n) -> std::optional<int> {
    if (at + n > text.size()) return std::nullopt;
    int v = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (text[i] < '0' || text[i] > '9') return std::nullopt;
      v = v * 10 + (text[i] - '0');
    }
    return v;
  };
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' ||
      text[16] != ':') {
    return std::nullopt;
  }
  std::optional<int> y = digits(0, 4), mo = digits(5, 2), d = digits(8, 2), h = digits(11, 2),
                     mi = digits(14, 2), sec = digits(17, 2);
  if (!y || !mo || !d || !h || !mi || !sec) return std::nullopt;
  size_t end = 19;
  if (text[end] == '.') {
    ++end;
    while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
  }
  if (end + 1 != text.size() || text[end] != 'Z') return std::nullopt;
  std::tm tm{};
  tm.tm_year = *y - 1900;
  tm.tm_mon = *mo - 1;
  tm.tm_mday = *d;
  tm.tm_hour = *h;
  tm.tm_min = *mi;
  tm.tm_sec = *sec;
  std::time_t t = timegm(&tm);
  // timegm normalises 02-30 into March: such a date is not one.
  if (rfc3339_utc(static_cast<int64_t>(t)) != fmt::format("{}Z", text.substr(0, 19))) {
    return std::nullopt;
  }
  return static_cast<int64_t>(t);
}

std::optional<int64_t> parse_duration_seconds(std::string_view text) {
  if (text.size() < 2 || text.size() > 12) return std::nullopt;
  int64_t n = 0;
  for (char c : text.substr(0, text.size() - 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  switch (text.back()) {
    case 's':
      return n;
    case 'm':
      return n * 60;
    case 'h':
      return n * 3600;
    case 'd':
      return n * 86400;
    case 'w':
      return n * 7 * 86400;
    default:
      return std::nullopt;
  }
}

}  // namespace strata
