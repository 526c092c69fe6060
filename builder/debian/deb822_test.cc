#include "builder/debian/deb822.h"

#include <gtest/gtest.h>

namespace strata::builder::debian {
namespace {

TEST(Deb822, ParagraphsAndContinuations) {
  auto s = parse_deb822(
      "Package: a\nVersion: 1.0\nDescription: short\n long line\n .\n"
      "\n\n# comment\nPackage: b\r\nversion: 2\n",
      "test");
  ASSERT_TRUE(s.ok()) << s.error().message();
  ASSERT_EQ(s->size(), 2u);
  EXPECT_EQ((*s)[0].get_or("Package"), "a");
  EXPECT_EQ((*s)[0].get_or("Description"), "short\n long line\n .");
  EXPECT_EQ((*s)[1].get_or("Version"), "2");  // field names ignore case
  EXPECT_FALSE((*s)[1].get("Depends"));
  EXPECT_EQ((*s)[0].text, "Package: a\nVersion: 1.0\nDescription: short\n long line\n .\n");
}

TEST(Deb822, MalformedLinesAreErrors) {
  auto s = parse_deb822("Package: a\nnot a field\n", "Packages");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message(), "Packages: line 2: expected 'Field: value'");
  auto c = parse_deb822(" continued\n", "Release");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message().find("continuation line"), std::string::npos);
  auto many = parse_deb822("A: 1\n\nA: 2\n\nA: 3\n", "x", 2);
  EXPECT_FALSE(many.ok());
}

TEST(Deb822, LinesAndWords) {
  EXPECT_EQ(field_lines("\n abc 1 x\n def 2 y\n"),
            (std::vector<std::string>{"abc 1 x", "def 2 y"}));
  EXPECT_EQ(field_words(" main  contrib\tnon-free "),
            (std::vector<std::string>{"main", "contrib", "non-free"}));
}

}  // namespace
}  // namespace strata::builder::debian
