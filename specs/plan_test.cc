// The plan stage: defaults and the deterministic package order.
#include "specs/plan.h"

#include <gtest/gtest.h>

#include "specs/parse.h"
#include "tests/support/spec_report.h"

namespace strata::specs {
namespace {

Spec parse_ok(std::string_view body) {
  std::string yaml = std::string(testing::kHead) + std::string(body);
  Result<Spec> spec = parse_spec(yaml, "p.yaml", "/");
  EXPECT_TRUE(spec.ok()) << spec.error().message();
  return spec.ok() ? *spec : Spec{};
}

std::vector<std::string> order_names(const Plan& plan) {
  std::vector<std::string> names;
  for (size_t i : plan.package_order) names.push_back(plan.spec.packages[i].name);
  return names;
}

TEST(Plan, PackagesComeAfterWhatTheyDependOn) {
  Spec spec = parse_ok(R"(packages:
  - {name: app, depends: [lib, zlib], steps: [make]}
  - {name: lib, depends: [zlib], steps: [make]}
  - {name: tools, steps: [make]}
  - {name: zlib, steps: [make]}
image: {}
)");
  Result<Plan> plan = make_plan(spec, "amd64");
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  // zlib before lib before app; tools is ready from the start and was declared before zlib.
  EXPECT_EQ(order_names(*plan), (std::vector<std::string>{"tools", "zlib", "lib", "app"}));
}

TEST(Plan, IndependentPackagesKeepDeclarationOrder) {
  Spec spec = parse_ok(
      "packages:\n  - {name: c, steps: [x]}\n  - {name: a, steps: [x]}\n"
      "  - {name: b, steps: [x]}\nimage: {}\n");
  Result<Plan> plan = make_plan(spec, "amd64");
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->package_order, (std::vector<size_t>{0, 1, 2}));
}

TEST(Plan, OrderIsTheSameOnEveryRun) {
  Spec spec = parse_ok(R"(packages:
  - {name: d, depends: [b, c], steps: [x]}
  - {name: c, depends: [a], steps: [x]}
  - {name: b, depends: [a], steps: [x]}
  - {name: a, steps: [x]}
image: {}
)");
  std::vector<size_t> first = make_plan(spec, "amd64")->package_order;
  EXPECT_EQ(first, (std::vector<size_t>{3, 1, 2, 0}));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(make_plan(spec, "amd64")->package_order, first);
}

TEST(Plan, CycleIsALocatedError) {
  Spec spec;
  spec.packages = {Package{.name = "a", .depends = {{"b", {"p.yaml", 4, 20}}}},
                   Package{.name = "b", .depends = {{"a", {"p.yaml", 5, 20}}}}};
  Result<Plan> plan = make_plan(spec, "amd64");
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.error().to_string(), "p.yaml:5:20: error: dependency cycle: a -> b -> a");
}

TEST(Plan, UnknownDependencyIsAnError) {
  Spec spec;
  spec.packages = {Package{.name = "a", .depends = {{"nope", {"p.yaml", 4, 20}}}}};
  Result<Plan> plan = make_plan(spec, "amd64");
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.error().to_string(),
            "p.yaml:4:20: error: package 'a' depends on unknown package 'nope'");
}

TEST(Plan, DefaultsAreFilled) {
  Spec spec = parse_ok(R"(image:
  accounts:
    users: [{name: app, uid: 10}, {name: web, uid: 11, home: /srv, shell: /bin/sh}]
  paths:
    - {path: /d, type: directory}
    - {path: /f, type: file}
    - {path: /s, type: symlink, target: f}
    - {path: /m, type: file, mode: "0600"}
  config: {ports: ["80", 53/udp]}
)");
  Result<Plan> plan = make_plan(spec, "arm64");
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  const Image& image = plan->spec.image;
  EXPECT_EQ(image.architecture, "arm64");
  EXPECT_EQ(image.accounts.users[0].home, "/");
  EXPECT_EQ(image.accounts.users[0].shell, "/sbin/nologin");
  EXPECT_EQ(image.accounts.users[1].home, "/srv");
  EXPECT_EQ(image.accounts.users[1].shell, "/bin/sh");
  EXPECT_EQ(image.paths[0].mode, 0755u);
  EXPECT_EQ(image.paths[1].mode, 0644u);
  EXPECT_EQ(image.paths[2].mode, 0777u);
  EXPECT_EQ(image.paths[3].mode, 0600u);
  EXPECT_EQ(image.config.ports, (std::vector<std::string>{"80/tcp", "53/udp"}));
}

TEST(Plan, SpecArchitectureWinsOverTheHost) {
  Spec spec = parse_ok("image: {architecture: riscv64}\n");
  EXPECT_EQ(make_plan(spec, "amd64")->spec.image.architecture, "riscv64");
}

TEST(Plan, UnknownHostArchitectureIsAnError) {
  Result<Plan> plan = make_plan(parse_ok("image: {}\n"), "x86_64");
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.error().message(), "'x86_64' is not a GOARCH architecture name");
}

}  // namespace
}  // namespace strata::specs
