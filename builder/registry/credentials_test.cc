// Where credentials come from: the file chain, the keys each file may use, the helpers.
#include "builder/registry/credentials.h"

#include <gtest/gtest.h>

#include "builder/base/base64.h"
#include "builder/base/fs.h"
#include "tests/support/test_util.h"

namespace strata::builder::registry {
namespace {

Json auth(const std::string& user, const std::string& pass) {
  return {{"auth", base64_encode(user + ":" + pass)}};
}

HelperRunner no_helpers() {
  return [](const std::string& name, const std::string&) -> Result<std::optional<std::string>> {
    return Error::io("unexpected helper " + name);
  };
}

TEST(Credentials, TheChainIsPodmans) {
  CredentialOptions o{.xdg_runtime_dir = "/run/user/7", .home = "/home/u", .uid = 7};
  std::vector<AuthFile> files = auth_files(o);
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files[0].path, "/run/user/7/containers/auth.json");
  EXPECT_EQ(files[1].path, "/home/u/.config/containers/auth.json");
  EXPECT_EQ(files[2].path, "/home/u/.docker/config.json");
  EXPECT_TRUE(files[2].docker);
  o.xdg_runtime_dir.clear();
  o.docker_config = "/etc/dc";
  o.xdg_config_home = "/cfg";
  files = auth_files(o);
  EXPECT_EQ(files[0].path, "/run/containers/7/auth.json");
  EXPECT_EQ(files[1].path, "/cfg/containers/auth.json");
  EXPECT_EQ(files[2].path, "/etc/dc/config.json");
  // An explicit file replaces the chain, --authfile before REGISTRY_AUTH_FILE.
  o.registry_auth_file = "/env.json";
  EXPECT_EQ(auth_files(o).size(), 1u);
  EXPECT_EQ(auth_files(o)[0].path, "/env.json");
  o.authfile = "/flag.json";
  EXPECT_EQ(auth_files(o)[0].path, "/flag.json");
}

TEST(Credentials, TheMostSpecificKeyWins) {
  Json doc = {{"auths",
               {{"reg.io", auth("host", "1")},
                {"reg.io/team", auth("ns", "2")},
                {"reg.io/team/app", auth("repo", "3")},
                {"other.io", auth("x", "y")}}}};
  AuthFile f{"/a.json", false};
  auto user = [&](std::string_view repo) {
    auto c = lookup_credentials(doc, f, "reg.io", repo, no_helpers());
    return c.ok() && *c ? (*c)->username : std::string("none");
  };
  EXPECT_EQ(user("team/app"), "repo");
  EXPECT_EQ(user("team/lib"), "ns");
  EXPECT_EQ(user("solo"), "host");
  Result<std::optional<Credentials>> c =
      lookup_credentials(doc, f, "reg.io", "team/app", no_helpers());
  EXPECT_EQ((*c)->password, "3");
  EXPECT_EQ((*c)->origin, "/a.json (key \"reg.io/team/app\")");
  // Docker's config.json knows hosts only.
  AuthFile docker{"/d.json", true};
  auto d = lookup_credentials(doc, docker, "reg.io", "team/app", no_helpers());
  EXPECT_EQ((*d)->username, "host");
}

TEST(Credentials, DockerHubGoesByEveryName) {
  for (const char* key :
       {"https://index.docker.io/v1/", "docker.io", "index.docker.io", "registry-1.docker.io"}) {
    Json doc = {{"auths", {{key, auth("hub", "pw")}}}};
    auto c = lookup_credentials(doc, {"/f", true}, "docker.io", "library/debian", no_helpers());
    ASSERT_TRUE(c.ok()) << key;
    ASSERT_TRUE(c->has_value()) << key;
    EXPECT_EQ((*c)->username, "hub") << key;
  }
  // A legacy key with a scheme names the host only.
  Json doc = {{"auths", {{"https://reg.io/v2/", auth("u", "p")}}}};
  EXPECT_TRUE(lookup_credentials(doc, {"/f", false}, "reg.io", "a", no_helpers())->has_value());
}

TEST(Credentials, HelpersAnswerForHostsAndTheStore) {
  std::vector<std::pair<std::string, std::string>> calls;
  HelperRunner helpers = [&](const std::string& name,
                             const std::string& server) -> Result<std::optional<std::string>> {
    calls.emplace_back(name, server);
    if (name == "none") return std::optional<std::string>();
    if (name == "tok") return std::optional<std::string>(R"({"Username":"<token>","Secret":"rt"})");
    return std::optional<std::string>(R"({"ServerURL":"x","Username":"hu","Secret":"hs"})");
  };
  Json doc = {{"auths", {{"reg.io", Json::object()}}},
              {"credHelpers", {{"reg.io", "pass"}, {"docker.io", "tok"}}},
              {"credsStore", "none"}};
  auto c = lookup_credentials(doc, {"/f", true}, "reg.io", "a", helpers);
  ASSERT_TRUE(c.ok() && c->has_value());
  EXPECT_EQ((*c)->username, "hu");
  EXPECT_EQ((*c)->password, "hs");
  EXPECT_EQ((*c)->origin, "docker-credential-pass");
  auto hub = lookup_credentials(doc, {"/f", true}, "docker.io", "library/x", helpers);
  EXPECT_EQ((*hub)->identity_token, "rt");
  EXPECT_EQ(calls.back().second, "https://index.docker.io/v1/");
  // Not in credHelpers: the store; a store with nothing: no credentials.
  auto other = lookup_credentials(doc, {"/f", true}, "other.io", "a", helpers);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->has_value());
  EXPECT_EQ(calls.back().first, "none");
}

TEST(Credentials, FilesAreReadInOrderAndBadOnesNamed) {
  TempDir dir = strata::testing::make_temp_dir();
  CredentialOptions o{.xdg_runtime_dir = dir.path() + "/run", .home = dir.path() + "/home"};
  ASSERT_TRUE(make_dirs(dir.path() + "/home/.docker").ok());
  ASSERT_TRUE(write_file(dir.path() + "/home/.docker/config.json",
                         Json({{"auths", {{"reg.io", auth("docker", "d")}}}}).dump())
                  .ok());
  auto c = find_credentials(o, "reg.io", "a", no_helpers());
  ASSERT_TRUE(c.ok() && c->has_value()) << (c.ok() ? "none" : c.error().message());
  EXPECT_EQ((*c)->username, "docker");
  ASSERT_TRUE(make_dirs(dir.path() + "/run/containers").ok());
  ASSERT_TRUE(write_file(dir.path() + "/run/containers/auth.json",
                         Json({{"auths", {{"reg.io", auth("podman", "p")}}}}).dump())
                  .ok());
  EXPECT_EQ((*find_credentials(o, "reg.io", "a", no_helpers()))->username, "podman");
  ASSERT_TRUE(write_file(dir.path() + "/run/containers/auth.json", "{not json").ok());
  auto bad = find_credentials(o, "reg.io", "a", no_helpers());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find(dir.path() + "/run/containers/auth.json"),
            std::string::npos);
  ASSERT_TRUE(write_file(dir.path() + "/run/containers/auth.json",
                         R"({"auths":{"reg.io":{"auth":"bm9jb2xvbg=="}}})")
                  .ok());
  auto no_colon = find_credentials(o, "reg.io", "a", no_helpers());
  ASSERT_FALSE(no_colon.ok());
  EXPECT_NE(no_colon.error().message().find("not base64 of \"user:password\""), std::string::npos);
}

TEST(Credentials, AProgramHelperRunsFromPath) {
  TempDir dir = strata::testing::make_temp_dir();
  std::string helper = dir.path() + "/docker-credential-test";
  ASSERT_TRUE(write_file(helper,
                         "#!/bin/sh\nread server\nif [ \"$1\" = get ] && [ \"$server\" = reg.io ]; "
                         "then echo '{\"Username\":\"u\",\"Secret\":\"s\"}'; else echo "
                         "'credentials not found' >&2; exit 1; fi\n",
                         0755)
                  .ok());
  HelperRunner run = program_helper_runner(dir.path() + ":/usr/bin:/bin");
  Result<std::optional<std::string>> out = run("test", "reg.io");
  ASSERT_TRUE(out.ok()) << out.error().message();
  ASSERT_TRUE(out->has_value());
  EXPECT_NE((*out)->find("\"Secret\":\"s\""), std::string::npos);
  Result<std::optional<std::string>> none = run("test", "other.io");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  Result<std::optional<std::string>> missing = run("absent", "reg.io");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message(), "docker-credential-absent is not on PATH");
}

}  // namespace
}  // namespace strata::builder::registry
