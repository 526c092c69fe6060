#include "builder/debian/deb822.h"

#include <fmt/format.h>
#include <strings.h>

namespace strata::builder::debian {

std::string_view trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

namespace {}  // namespace

std::optional<std::string> Stanza::get(std::string_view name) const {
  for (const auto& [key, value] : fields) {
    if (key.size() == name.size() && strncasecmp(key.data(), name.data(), key.size()) == 0) {
      return std::string(trim(value));
    }
  }
  return std::nullopt;
}

std::string Stanza::get_or(std::string_view name, std::string fallback) const {
  std::optional<std::string> v = get(name);
  return v ? *v : std::move(fallback);
}

Result<std::vector<Stanza>> parse_deb822(std::string_view text, std::string_view what,
                                         size_t max_stanzas) {
  std::vector<Stanza> out;
  Stanza current;
  size_t line_no = 0;
  auto flush = [&]() -> Result<void> {
    if (current.fields.empty()) return Ok{};
    if (out.size() == max_stanzas) {
      return Error(ErrorCode::kInvalidInput,
                   fmt::format("{}: more than {} paragraphs", what, max_stanzas));
    }
    out.push_back(std::move(current));
    current = Stanza{};
    return Ok{};
  };
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    ++line_no;
    std::string_view content = line;
    if (!content.empty() && content.back() == '\r') content.remove_suffix(1);
    if (trim(content).empty()) {
      STRATA_TRY(flush());
      continue;
    }
    if (content.front() == '#') continue;
    if (content.front() == ' ' || content.front() == '\t') {
      if (current.fields.empty()) {
        return Error(
            ErrorCode::kInvalidInput,
            fmt::format("{}: line {}: a continuation line with no field before it", what, line_no));
      }
      current.fields.back().second += "\n";
      current.fields.back().second += content;
      current.text += content;
      current.text += '\n';
      continue;
    }
    size_t colon = content.find(':');
    if (colon == std::string_view::npos || colon == 0 ||
        content.substr(0, colon).find_first_of(" \t") != std::string_view::npos) {
      return Error(ErrorCode::kInvalidInput,
                   fmt::format("{}: line {}: expected 'Field: value'", what, line_no));
    }
    current.fields.emplace_back(std::string(content.substr(0, colon)),
                                std::string(content.substr(colon + 1)));
    current.text += content;
    current.text += '\n';
  }
  STRATA_TRY(flush());
  return out;
}

std::vector<std::string> field_lines(std::string_view value) {
  std::vector<std::string> out;
  while (!value.empty()) {
    size_t end = value.find('\n');
    std::string_view line = trim(value.substr(0, end));
    if (!line.empty()) out.emplace_back(line);
    if (end == std::string_view::npos) break;
    value.remove_prefix(end + 1);
  }
  return out;
}

std::vector<std::string> field_words(std::string_view value) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < value.size()) {
    size_t b = value.find_first_not_of(" \t\r\n", i);
    if (b == std::string_view::npos) break;
    size_t e = value.find_first_of(" \t\r\n", b);
    if (e == std::string_view::npos) e = value.size();
    out.emplace_back(value.substr(b, e - b));
    i = e;
  }
  return out;
}

}  // namespace strata::builder::debian
