// A small, seedable, well-mixed generator for the check's variations (splitmix64): the
// values only need to differ between runs and entries, not to be secret.
#pragma once

#include <cstdint>

namespace strata::builder {

inline uint64_t mix_seed(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace strata::builder
