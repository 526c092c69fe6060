// Path text: splitting into components, joining, and the lexical normal forms strata uses.
// The one place these rules live, so a fix to how a path is taken apart reaches every caller
// (opening beneath a root is builder/base/beneath.h).
#pragma once

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "builder/base/result.h"

namespace strata {

// The text between '/'s, empty pieces included: "/a//b/" -> {"", "a", "", "b", ""}. The
// views point into `path`.
std::vector<std::string_view> path_segments(std::string_view path);

// The components of `path`, empty and "." ones dropped and ".." kept: "/a//./b/" ->
// {"a", "b"}, "../x" -> {"..", "x"}. Whether `path` was absolute is not recorded.
std::vector<std::string> path_components(std::string_view path);

// Why a path cannot name something below a root directory.
enum class PathEscape { kNone, kAbsolute, kDotDot };
PathEscape path_escape(std::string_view path);

// The components of a path that must stay below a root (a tar entry, a hardlink target):
// path_components, or kIo "absolute path 'P'" / "path 'P' leaves the root (..)". "." and
// "./" give {} (the root itself).
Result<std::vector<std::string>> split_beneath(std::string_view path);

// "a/b" from {"a", "b"}; "" from {}.
std::string join_components(std::span<const std::string> components);

// `name` in `dir`: "dir/name", or `name` alone when `dir` is "" or ".".
std::string join_path(std::string_view dir, std::string_view name);

// `path` without its leading '/'s: "/etc/motd" -> "etc/motd", "/" -> "".
std::string relative_path(std::string_view path);

// A tar member's name as layers compare it: leading "./" and '/' and trailing '/' removed,
// "." for the root: "./usr/bin/" -> "usr/bin", "/etc" -> "etc", "./" -> ".".
std::string archive_member_path(std::string_view name);

// "/a//b/" -> "/a/b", "/" -> "/". nullopt for a relative path or one with "." or ".."
// components.
std::optional<std::string> normalize_absolute(std::string_view path);

// `p` lexically normal (std::filesystem), without a trailing '/' except for "/".
std::string normal_path(const std::filesystem::path& p);

// `path` made absolute against the working directory and lexically normal (normal_path);
// "" stays "", and `path` itself is returned when the working directory cannot be read.
std::string absolute_normal_path(const std::string& path);

// Whether `path` is `dir` or lies below it, component-wise ("/a/bc" is not within "/a/b").
// Both lexically normal, without a trailing '/'; "/" holds every absolute path, "" nothing.
bool is_within(std::string_view path, std::string_view dir);

// The directory part of a path ("." when there is none) and the last component.
std::string dirname_of(std::string_view path);
std::string basename_of(std::string_view path);

}  // namespace strata
