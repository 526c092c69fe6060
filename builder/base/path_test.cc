#include "builder/base/path.h"

#include <gtest/gtest.h>

namespace strata {
namespace {

using Parts = std::vector<std::string>;

TEST(PathSegments, KeepsEmptyPieces) {
  EXPECT_EQ(path_segments("/a//b/"), (std::vector<std::string_view>{"", "a", "", "b", ""}));
  EXPECT_EQ(path_segments(""), (std::vector<std::string_view>{""}));
  EXPECT_EQ(path_segments("a"), (std::vector<std::string_view>{"a"}));
}

TEST(PathComponents, DropsEmptyAndDotKeepsDotDot) {
  EXPECT_EQ(path_components("/a//./b/"), (Parts{"a", "b"}));
  EXPECT_EQ(path_components("../x"), (Parts{"..", "x"}));
  EXPECT_EQ(path_components("./"), Parts{});
  EXPECT_EQ(path_components(""), Parts{});
}

TEST(SplitBeneath, AcceptsRelativePathsAndTheRoot) {
  EXPECT_EQ(*split_beneath("./a//b/"), (Parts{"a", "b"}));
  EXPECT_EQ(*split_beneath("."), Parts{});
  EXPECT_EQ(*split_beneath("./"), Parts{});
  // Odd but NUL-free names are plain components: dots that are not "." or "..", spaces,
  // backslashes, newlines, bytes that are not UTF-8.
  EXPECT_EQ(*split_beneath("...//.a/ b\\c/\n/\xff\xfe"),
            (Parts{"...", ".a", " b\\c", "\n", "\xff\xfe"}));
  EXPECT_EQ(*split_beneath("..a/a.."), (Parts{"..a", "a.."}));
}

TEST(SplitBeneath, RefusesAbsolutePathsAndDotDot) {
  EXPECT_EQ(split_beneath("/etc/passwd").error().message(), "absolute path '/etc/passwd'");
  EXPECT_EQ(split_beneath("//x").error().message(), "absolute path '//x'");
  EXPECT_EQ(split_beneath("../x").error().message(), "path '../x' leaves the root (..)");
  EXPECT_EQ(split_beneath("a/../../x").error().message(), "path 'a/../../x' leaves the root (..)");
  // Even a ".." that stays below the root: nothing lexical is trusted to undo a symlink.
  EXPECT_EQ(split_beneath("a/b/..").error().message(), "path 'a/b/..' leaves the root (..)");
  EXPECT_EQ(path_escape("a/.."), PathEscape::kDotDot);
  EXPECT_EQ(path_escape("/a"), PathEscape::kAbsolute);
  EXPECT_EQ(path_escape("a/..b"), PathEscape::kNone);
}

TEST(JoinPath, JoinsComponentsAndNames) {
  EXPECT_EQ(join_components(Parts{"a", "b"}), "a/b");
  EXPECT_EQ(join_components(Parts{}), "");
  EXPECT_EQ(join_path("", "x"), "x");
  EXPECT_EQ(join_path(".", "x"), "x");
  EXPECT_EQ(join_path("a/b", "x"), "a/b/x");
}

TEST(NormalForms, EachCallersForm) {
  EXPECT_EQ(relative_path("/etc/motd"), "etc/motd");
  EXPECT_EQ(relative_path("//"), "");
  EXPECT_EQ(archive_member_path("./usr/bin/"), "usr/bin");
  EXPECT_EQ(archive_member_path("/etc"), "etc");
  EXPECT_EQ(archive_member_path("././a"), "a");
  EXPECT_EQ(archive_member_path("./"), ".");
  EXPECT_EQ(archive_member_path(""), ".");
  EXPECT_EQ(normalize_absolute("/a//b/"), "/a/b");
  EXPECT_EQ(normalize_absolute("/"), "/");
  EXPECT_EQ(normalize_absolute("a/b"), std::nullopt);
  EXPECT_EQ(normalize_absolute("/a/../b"), std::nullopt);
  EXPECT_EQ(normalize_absolute("/a/./b"), std::nullopt);
  EXPECT_EQ(normal_path("/a/b/../c/"), "/a/c");
  EXPECT_EQ(normal_path("/"), "/");
  EXPECT_EQ(normal_path("a/./b//"), "a/b");
  EXPECT_EQ(absolute_normal_path(""), "");
  EXPECT_EQ(absolute_normal_path("/x/y/../z/"), "/x/z");
  EXPECT_TRUE(absolute_normal_path("rel").starts_with('/'));
}

}  // namespace
}  // namespace strata
