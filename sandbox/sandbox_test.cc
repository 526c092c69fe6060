#include "sandbox/sandbox.h"

#include <gtest/gtest.h>

TEST(Sandbox, Placeholder) {}
