// What every folder's tests share: scratch directories (under $TMPDIR, removed afterwards),
// sorted listings of a tree, and checking a JSON document against a vendored schema.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "builder/base/fs.h"
#include "builder/base/json.h"

namespace strata::testing {

// Where tests make scratch directories: $TMPDIR if set and not empty, else /tmp; no trailing '/'.
std::string temp_root();

// A fresh directory PARENT/PREFIXxxxxxx (PARENT defaults to temp_root()), removed when the
// value goes. A machine that cannot make one cannot run the tests: prints why and aborts.
TempDir make_temp_dir(std::string_view prefix = "strata-test-", const std::string& parent = "");

// Every path below `dir`, relative and sorted ("a", "a/b"): what a failed step left behind.
std::vector<std::string> list_paths(const std::string& dir);

// The source tree ($STRATA_SOURCE_DIR, which ctest sets); empty when unset.
std::string source_dir();

// Validates `doc` against SCHEMA (a file name in tests/schemas/) with
// tests/tools/validate_json_schema.py; a failure reports the validator's output.
void expect_schema_valid(const Json& doc, const std::string& schema);

}  // namespace strata::testing

// Every folder's tests say `testing::X` from inside their own namespace, where `testing` may
// name that folder's helper namespace; these make the shared helpers visible there too.
namespace strata::builder::testing {
using strata::testing::list_paths;
using strata::testing::make_temp_dir;
}  // namespace strata::builder::testing
namespace strata::attest::testing {
using strata::testing::expect_schema_valid;
using strata::testing::make_temp_dir;
}  // namespace strata::attest::testing
namespace strata::specs::testing {
using strata::testing::make_temp_dir;
}  // namespace strata::specs::testing
