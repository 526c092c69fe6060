// STRATA_CHECK: aborts with file:line when an invariant (a bug, not a user mistake) breaks.
#pragma once

#include <cstdio>
#include <cstdlib>

#define STRATA_CHECK(cond)                                                                \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      std::fprintf(stderr, "strata: internal error: %s:%d: check failed: %s\n", __FILE__, \
                   __LINE__, #cond);                                                      \
      std::abort();                                                                       \
    }                                                                                     \
  } while (0)
