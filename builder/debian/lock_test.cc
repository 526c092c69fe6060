#include "builder/debian/lock.h"

#include <gtest/gtest.h>

#include "specs/parse.h"

namespace strata::builder::debian {
namespace {

Lock sample_lock() {
  Lock lock;
  lock.inputs = {{"architecture", "amd64"}};
  lock.roots = {{"app", "app"}, {"libfoo", "libfoo"}, {"mta", "exim4"}};
  lock.repositories = {{.url = "http://h/debian",
                        .suite = "stable",
                        .release = sha256_of("r"),
                        .distro = "debian-12"}};
  auto p = [](std::string name, std::vector<std::string> deps) {
    return LockedPackage{.name = name,
                         .version = "1.0-1",
                         .architecture = "amd64",
                         .url = "http://h/debian/pool/" + name + ".deb",
                         .size = 1234,
                         .sha256 = sha256_of(name),
                         .release = sha256_of("r"),
                         .distro = "debian-12",
                         .vendor = "debian",
                         .depends = std::move(deps)};
  };
  lock.packages = {p("app", {"libc6", "libfoo"}), p("exim4", {"libc6"}), p("libc6", {}),
                   p("libfoo", {"libc6"})};
  return lock;
}

TEST(Lock, RoundTripsByteForByte) {
  std::string text = render_lock(sample_lock());
  auto parsed = parse_lock(text, "strata.lock");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(render_lock(*parsed), text);
  EXPECT_EQ(text.back(), '\n');
  EXPECT_NE(text.find("\"sha256\": \"sha256:"), std::string::npos);
}

TEST(Lock, RefusesInconsistentLocks) {
  Lock lock = sample_lock();
  lock.packages[0].depends.push_back("ghost");
  auto r = parse_lock(render_lock(lock), "strata.lock");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("'ghost', which the lock does not hold"), std::string::npos);
  EXPECT_FALSE(parse_lock("{", "strata.lock").ok());
  EXPECT_FALSE(parse_lock("{\"lockVersion\": 2}", "strata.lock").ok());
}

TEST(Lock, LayersHoldTheirClosureOnce) {
  auto spec = specs::parse_spec(R"(apiVersion: strata/v1
name: t
debian:
  repositories:
    - {url: "http://h/debian", suite: stable, keyring: k.gpg}
image:
  layers:
    - debs: [libfoo]
    - debs: [app, mta]
)",
                                "spec.yaml", "/tmp", {.check_files = false});
  ASSERT_TRUE(spec.ok()) << spec.error().message();
  Lock lock = sample_lock();  // layer_packages points into it
  auto layers = layer_packages(*spec, lock);
  ASSERT_EQ(layers.size(), 2u);
  ASSERT_EQ(layers[0].size(), 2u);
  EXPECT_EQ(layers[0][0]->name, "libc6");
  EXPECT_EQ(layers[0][1]->name, "libfoo");
  ASSERT_EQ(layers[1].size(), 2u);
  EXPECT_EQ(layers[1][0]->name, "app");
  EXPECT_EQ(layers[1][1]->name, "exim4");
  Json inputs = lock_inputs(*spec, "amd64");
  EXPECT_EQ(inputs["debs"], Json::parse(R"([["libfoo"], ["app", "mta"]])"));
  EXPECT_EQ(inputs["repositories"][0]["components"], Json::parse(R"(["main"])"));
}

TEST(Lock, EnvironmentSectionRoundTripsAndKeysTheTree) {
  Lock lock = sample_lock();
  std::string without = render_lock(lock);
  EXPECT_EQ(without.find("\"environment\""), std::string::npos) << "no section, no key";
  LockedEnvironment env{.roots = {{"app", "app"}}, .packages = sample_lock().packages};
  lock.environment = env;
  std::string text = render_lock(lock);
  auto parsed = parse_lock(text, "strata.lock");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  ASSERT_TRUE(parsed->environment.has_value());
  EXPECT_EQ(render_lock(*parsed), text);
  Digest digest = environment_digest(env);
  EXPECT_EQ(environment_digest(parsed->environment.value()), digest);
  env.packages[1].sha256 = sha256_of("another exim4");
  EXPECT_NE(environment_digest(env), digest) << "every .deb's hash is in the identity";
  lock.environment->packages[0].depends.push_back("ghost");
  auto bad = parse_lock(render_lock(lock), "strata.lock");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("strata.lock: environment: package 'app' depends on "
                                       "'ghost'"),
            std::string::npos)
      << bad.error().message();
}

TEST(Lock, EnvironmentNamesAreInputsOnlyWithRootfsDebs) {
  const char* kSpec = R"(apiVersion: strata/v1
name: t
debian:
  repositories: [host]
environment:
  rootfs: debs
  debs: [build-essential, autoconf]
image: {}
)";
  auto spec = specs::parse_spec(kSpec, "spec.yaml", "/tmp", {.check_files = false});
  ASSERT_TRUE(spec.ok()) << spec.error().message();
  EXPECT_EQ(lock_inputs(*spec, "amd64")["environment"],
            Json::parse(R"(["build-essential", "autoconf"])"));
  spec->environment = {};
  EXPECT_FALSE(lock_inputs(*spec, "amd64").contains("environment"));
}

}  // namespace
}  // namespace strata::builder::debian
