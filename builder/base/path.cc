#include "builder/base/path.h"

#include <fmt/format.h>

#include <system_error>

namespace strata {

std::vector<std::string_view> path_segments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) {
      out.push_back(path.substr(start));
      return out;
    }
    out.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
}

std::vector<std::string> path_components(std::string_view path) {
  std::vector<std::string> out;
  for (std::string_view part : path_segments(path)) {
    if (!part.empty() && part != ".") out.emplace_back(part);
  }
  return out;
}

PathEscape path_escape(std::string_view path) {
  if (path.starts_with('/')) return PathEscape::kAbsolute;
  for (std::string_view part : path_segments(path)) {
    if (part == "..") return PathEscape::kDotDot;
  }
  return PathEscape::kNone;
}

Result<std::vector<std::string>> split_beneath(std::string_view path) {
  switch (path_escape(path)) {
    case PathEscape::kAbsolute:
      return Error::io(fmt::format("absolute path '{}'", path));
    case PathEscape::kDotDot:
      return Error::io(fmt::format("path '{}' leaves the root (..)", path));
    case PathEscape::kNone:
      break;
  }
  return path_components(path);
}

std::string join_components(std::span<const std::string> components) {
  std::string out;
  for (const std::string& c : components) {
    if (!out.empty()) out += '/';
    out += c;
  }
  return out;
}

std::string join_path(std::string_view dir, std::string_view name) {
  if (dir.empty() || dir == ".") return std::string(name);
  return fmt::format("{}/{}", dir, name);
}

std::string relative_path(std::string_view path) {
  size_t start = path.find_first_not_of('/');
  return start == std::string_view::npos ? std::string() : std::string(path.substr(start));
}

std::string archive_member_path(std::string_view name) {
  for (;;) {
    if (name.starts_with("./")) {
      name.remove_prefix(2);
    } else if (name.starts_with('/')) {
      name.remove_prefix(1);
    } else {
      break;
    }
  }
  while (!name.empty() && name.back() == '/') name.remove_suffix(1);
  if (name.empty() || name == ".") return ".";
  return std::string(name);
}

std::optional<std::string> normalize_absolute(std::string_view path) {
  if (!path.starts_with('/')) return std::nullopt;
  std::string out;
  for (std::string_view part : path_segments(path)) {
    if (part == "." || part == "..") return std::nullopt;
    if (!part.empty()) out += fmt::format("/{}", part);
  }
  return out.empty() ? "/" : out;
}

std::string normal_path(const std::filesystem::path& p) {
  std::string out = p.lexically_normal().string();
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

std::string absolute_normal_path(const std::string& path) {
  if (path.empty()) return path;
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(path, ec);
  if (ec) return path;
  return normal_path(abs);
}

bool is_within(std::string_view path, std::string_view dir) {
  if (dir.empty()) return false;
  if (dir == "/") return path.starts_with('/');
  return path == dir ||
         (path.size() > dir.size() && path.starts_with(dir) && path[dir.size()] == '/');
}

std::string dirname_of(std::string_view path) {
  auto slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

std::string basename_of(std::string_view path) {
  auto slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

}  // namespace strata
