#include "specs/yaml_tree.h"

#include <gtest/gtest.h>

namespace strata::specs {
namespace {

TEST(YamlTree, KeepsKindsTextAndLocations) {
  auto tree = parse_yaml_tree("a: 1\nb:\n  - x\n  - {c: ''}\nd:\n", "f.yaml", "policy");
  ASSERT_TRUE(tree.ok()) << tree.error().to_string();
  ASSERT_EQ(tree->kind, YamlNode::Kind::kMapping);
  ASSERT_EQ(tree->entries.size(), 3u);
  EXPECT_EQ(tree->entries[0].key, "a");
  EXPECT_EQ(tree->entries[0].value.scalar, "1");
  EXPECT_EQ(tree->entries[0].value.loc.column, 4);
  const YamlNode& b = tree->entries[1].value;
  ASSERT_EQ(b.kind, YamlNode::Kind::kSequence);
  EXPECT_EQ(b.items[0].loc.line, 3);
  EXPECT_EQ(b.items[1].entries[0].key, "c");
  EXPECT_EQ(b.items[1].entries[0].value.kind, YamlNode::Kind::kScalar);
  // An empty value is null, pointed at by its key.
  EXPECT_EQ(tree->entries[2].value.kind, YamlNode::Kind::kNull);
  EXPECT_EQ(tree->entries[2].value.loc.line, 5);
  EXPECT_EQ(tree->entries[2].value.loc.column, 1);
}

TEST(YamlTree, ErrorsNameTheFileKind) {
  auto empty = parse_yaml_tree("", "f.yaml", "policy");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code(), ErrorCode::kSpec);
  EXPECT_EQ(empty.error().message(), "f.yaml:1:1: error: the policy is empty");
  auto two = parse_yaml_tree("a: 1\n---\nb: 2\n", "f.yaml", "policy");
  ASSERT_FALSE(two.ok());
  EXPECT_EQ(two.error().message().substr(0, 68),
            "f.yaml:2:1: error: a policy is one YAML document; found a second one");
  auto key = parse_yaml_tree("[a]: 1\n", "f.yaml", "policy");
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().message().substr(0, 50),
            "f.yaml:1:1: error: expected a string key, got a se");
}

}  // namespace
}  // namespace strata::specs
