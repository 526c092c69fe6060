// Times in the formats strata writes: every document carries the spec's epoch, never the
// wall clock, in one notation.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace strata {

// RFC 3339 UTC with whole seconds: 1700000000 -> "2023-11-14T22:13:20Z" (RFC 3339 §5.6, as
// the OCI image spec's `created` and in-toto/SPDX timestamps require).
std::string rfc3339_utc(int64_t epoch_seconds);

// The inverse for what strata writes: "YYYY-MM-DDTHH:MM:SSZ" (fractional seconds allowed and
// dropped). nullopt for anything else, including other offsets and impossible dates.
std::optional<int64_t> parse_rfc3339_utc(std::string_view text);

// A duration for --older-than: a positive whole number and a unit, s, m, h, d or w
// ("90m", "30d"); nullopt otherwise.
std::optional<int64_t> parse_duration_seconds(std::string_view text);

}  // namespace strata
