#include <gtest/gtest.h>

#include "specs/parse.h"

TEST(SpecParse, Placeholder) { EXPECT_FALSE(strata::specs::parse_spec("", "x", ".").ok()); }
