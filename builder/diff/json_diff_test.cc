#include "builder/diff/json_diff.h"

#include <gtest/gtest.h>

namespace strata::builder::diff {
namespace {

std::vector<std::string> pointers(const Json& a, const Json& b) {
  std::vector<FieldDiff> out;
  diff_json("config", a, b, "", out);
  std::vector<std::string> p;
  for (const FieldDiff& f : out) p.push_back(f.pointer);
  return p;
}

TEST(JsonDiff, EqualDocumentsHaveNoDifferences) {
  Json j = {{"a", {1, 2}}, {"b", {{"c", "d"}}}};
  EXPECT_TRUE(pointers(j, j).empty());
}

TEST(JsonDiff, ObjectsByKeyArraysByIndex) {
  Json a = {{"config", {{"Env", {"A=1", "B=2"}}, {"User", "0"}}}, {"gone", 1}};
  Json b = {{"config", {{"Env", {"A=1", "B=3", "C=4"}}, {"User", "0"}}}, {"new", true}};
  EXPECT_EQ(pointers(a, b),
            (std::vector<std::string>{"/config/Env/1", "/config/Env/2", "/gone", "/new"}));
  std::vector<FieldDiff> out;
  diff_json("config", a, b, "", out);
  EXPECT_EQ(*out[0].a, "B=2");
  EXPECT_EQ(*out[0].b, "B=3");
  EXPECT_FALSE(out[1].a.has_value());
  EXPECT_FALSE(out[2].b.has_value());
  EXPECT_EQ(out[0].document, "config");
}

TEST(JsonDiff, DifferentTypesDifferAsAWhole) {
  EXPECT_EQ(pointers({{"x", {1}}}, {{"x", {{"y", 1}}}}), std::vector<std::string>{"/x"});
  EXPECT_EQ(pointers(Json(1), Json("1")), std::vector<std::string>{""});
}

TEST(JsonDiff, PointerTokensAreEscaped) {
  Json a = {{"annotations", {{"org.example/a~b", "1"}}}};
  Json b = {{"annotations", {{"org.example/a~b", "2"}}}};
  EXPECT_EQ(pointers(a, b), std::vector<std::string>{"/annotations/org.example~1a~0b"});
}

TEST(SemanticConfig, DropsTimesHistoryLayersAndEmptyValues) {
  Json a = {{"created", "2023-11-14T22:13:20Z"},
            {"history", {{{"created_by", "strata"}}}},
            {"rootfs", {{"type", "layers"}, {"diff_ids", {"sha256:1"}}}},
            {"config", {{"Env", {"PATH=/bin"}}, {"Labels", Json::object()}}},
            {"os", "linux"}};
  Json b = {{"created", "2024-01-01T00:00:00Z"},
            {"container_config", {{"Cmd", {"/bin/sh"}}}},
            {"config", {{"Env", {"PATH=/bin"}}, {"Volumes", nullptr}}},
            {"os", "linux"}};
  EXPECT_TRUE(pointers(semantic_config(a), semantic_config(b)).empty());
  b["config"]["User"] = "app";
  EXPECT_EQ(pointers(semantic_config(a), semantic_config(b)),
            std::vector<std::string>{"/config/User"});
}

}  // namespace
}  // namespace strata::builder::diff
