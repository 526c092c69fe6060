// The WWW-Authenticate parser on what registries send, and on what they get wrong.
#include "builder/registry/challenge.h"

#include <gtest/gtest.h>

namespace strata::builder::registry {
namespace {

TEST(Challenge, BearerWithAQuotedCommaInTheScope) {
  std::vector<Challenge> c = parse_challenges(
      {R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push")"});
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "bearer");
  EXPECT_EQ(c[0].param("realm"), "https://auth.docker.io/token");
  EXPECT_EQ(c[0].param("service"), "registry.docker.io");
  EXPECT_EQ(c[0].param("scope"), "repository:samalba/my-app:pull,push");
}

TEST(Challenge, SeveralChallengesInOneHeaderAndAcrossHeaders) {
  std::vector<Challenge> c = parse_challenges(
      {R"(Basic realm="Registry Realm", Bearer realm="https://t/x",error="insufficient_scope")",
       "Negotiate abc+/==", R"(Digest realm="d", qop="auth, auth-int")"});
  ASSERT_EQ(c.size(), 4u);
  EXPECT_EQ(c[0].scheme, "basic");
  EXPECT_EQ(c[0].param("realm"), "Registry Realm");
  EXPECT_EQ(c[1].scheme, "bearer");
  EXPECT_EQ(c[1].param("error"), "insufficient_scope");
  EXPECT_EQ(c[2].scheme, "negotiate");
  EXPECT_EQ(c[2].param("token68"), "abc+/==");
  EXPECT_EQ(c[3].param("qop"), "auth, auth-int");
  EXPECT_TRUE(find_challenge(c, "bearer").has_value());
  EXPECT_FALSE(find_challenge(c, "hoba").has_value());
}

TEST(Challenge, CaseSpacesTokensAndQuotedPairs) {
  std::vector<Challenge> c =
      parse_challenges({R"(BEARER  Realm = "https://a/\"t\"" , Service=reg.io ,, scope=x)"});
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].param("realm"), "https://a/\"t\"");
  EXPECT_EQ(c[0].param("service"), "reg.io");
  EXPECT_EQ(c[0].param("scope"), "x");
}

TEST(Challenge, ASchemeAloneAndMalformedHeaders) {
  EXPECT_EQ(parse_challenges({"Basic"}).size(), 1u);
  EXPECT_EQ(parse_challenges({"Basic, Bearer realm=\"r\""}).size(), 2u);
  EXPECT_TRUE(parse_challenges({""}).empty());
  EXPECT_TRUE(parse_challenges({"=x"}).empty());
  // An unterminated quote ends the parse; what came before it stays.
  std::vector<Challenge> c = parse_challenges({R"(Bearer realm="https://a", scope="x)"});
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].param("realm"), "https://a");
  EXPECT_EQ(c[0].param("scope"), "");
  // A long hostile header is parsed in linear time without trouble.
  std::string huge = "Bearer " + std::string(1 << 20, ',');
  EXPECT_EQ(parse_challenges({huge}).size(), 1u);
}

}  // namespace
}  // namespace strata::builder::registry
