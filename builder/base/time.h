// Times in the formats strata writes: every document carries the spec's epoch, never the
// wall clock, in one notation.
#pragma once

#include <cstdint>
#include <string>

namespace strata {

// RFC 3339 UTC with whole seconds: 1700000000 -> "2023-11-14T22:13:20Z" (RFC 3339 §5.6, as
// the OCI image spec's `created` and in-toto/SPDX timestamps require).
std::string rfc3339_utc(int64_t epoch_seconds);

}  // namespace strata
