#include "builder/layer/image_layers.h"

#include <gtest/gtest.h>

namespace strata::builder {
namespace {

specs::Accounts sample_accounts() {
  specs::Accounts a;
  a.groups = {{.name = "app", .gid = 65532, .members = {"app", "ops"}}, {.name = "ops", .gid = 10}};
  a.users = {
      {.name = "app", .uid = 65532, .gid = 65532, .home = "/home/app", .shell = "/sbin/nologin"}};
  return a;
}

TEST(Accounts, PasswdStartsWithRootThenSpecOrder) {
  EXPECT_EQ(render_passwd(sample_accounts()),
            "root:x:0:0:root:/root:/sbin/nologin\n"
            "app:x:65532:65532::/home/app:/sbin/nologin\n");
  EXPECT_EQ(render_group(sample_accounts()), "root:x:0:\napp:x:65532:app,ops\nops:x:10:\n");
}

TEST(Accounts, DeclaredRootReplacesTheDefault) {
  specs::Accounts a;
  a.users = {{.name = "toor", .uid = 0, .gid = 0, .home = "/", .shell = "/bin/sh"}};
  a.groups = {{.name = "wheel", .gid = 0}};
  EXPECT_EQ(render_passwd(a), "toor:x:0:0::/:/bin/sh\n");
  EXPECT_EQ(render_group(a), "wheel:x:0:\n");
}

std::vector<std::string> paths_of(std::vector<PlannedLayer>& layers, size_t i) {
  auto sorted = std::move(layers[i].tree).sorted_entries();
  std::vector<std::string> out;
  if (!sorted.ok()) return out;
  for (const auto& e : sorted.value()) out.push_back(e.path);
  return out;
}

TEST(PlanImageLayers, AccountsAndPathsFormTheLastLayer) {
  specs::Spec spec;
  spec.image.accounts = sample_accounts();
  spec.image.paths = {
      {.path = "/tmp", .type = specs::PathType::kDirectory, .mode = 01777},
      {.path = "/usr/bin/hi", .type = specs::PathType::kSymlink, .target = "hello"}};
  auto layers = plan_image_layers(spec, nullptr);
  ASSERT_TRUE(layers.ok()) << layers.error().to_string();
  ASSERT_EQ(layers->size(), 1u);
  EXPECT_EQ((*layers)[0].history.created_by, "strata: accounts and paths");
  EXPECT_EQ(paths_of(*layers, 0),
            (std::vector<std::string>{"etc", "etc/group", "etc/passwd", "home", "home/app", "tmp",
                                      "usr", "usr/bin", "usr/bin/hi"}));
}

TEST(PlanImageLayers, PathOverridingGeneratedPasswdIsLocatedError) {
  specs::Spec spec;
  spec.image.accounts = sample_accounts();
  spec.image.paths = {{.path = "/etc/passwd",
                       .type = specs::PathType::kFile,
                       .content = "x",
                       .loc = {"s.yaml", 9, 7}}};
  auto layers = plan_image_layers(spec, nullptr);
  ASSERT_FALSE(layers.ok());
  EXPECT_EQ(layers.error().to_string(),
            "s.yaml:9:7: error: /etc/passwd appears twice in one layer");
}

TEST(PlanImageLayers, EmptyImageIsAnError) {
  specs::Spec spec;
  spec.image.loc = {"s.yaml", 5, 1};
  auto layers = plan_image_layers(spec, nullptr);
  ASSERT_FALSE(layers.ok());
  EXPECT_EQ(layers.error().to_string(),
            "s.yaml:5:1: error: the image has no content: add image.layers, paths or accounts");
}

}  // namespace
}  // namespace strata::builder
