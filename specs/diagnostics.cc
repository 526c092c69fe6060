#include "specs/diagnostics.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

namespace strata::specs {
namespace {

// Line `line` (1-based) of `source` without its newline, or nullopt past the end.
std::optional<std::string_view> source_line(std::string_view source, int line) {
  if (line < 1) return std::nullopt;
  size_t start = 0;
  for (int i = 1; i < line; ++i) {
    size_t nl = source.find('\n', start);
    if (nl == std::string_view::npos) return std::nullopt;
    start = nl + 1;
  }
  if (start > source.size() || (start == source.size() && line > 1)) return std::nullopt;
  size_t end = source.find('\n', start);
  std::string_view text = source.substr(start, end == std::string_view::npos ? end : end - start);
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  return text;
}

// The whitespace that puts a caret under byte column `column` of `text`: tabs are copied so
// terminals expand them the same way, and a UTF-8 sequence counts as one cell.
std::string caret_prefix(std::string_view text, int column) {
  std::string prefix;
  size_t limit = std::min<size_t>(text.size(), column > 0 ? column - 1 : 0);
  for (size_t i = 0; i < limit; ++i) {
    unsigned char c = text[i];
    if (c == '\t') {
      prefix += '\t';
    } else if ((c & 0xC0) != 0x80) {  // not a UTF-8 continuation byte
      prefix += ' ';
    }
  }
  if (column - 1 > static_cast<int>(text.size())) prefix.append(column - 1 - text.size(), ' ');
  return prefix;
}

}  // namespace

std::string format_diagnostic(const Diagnostic& d, std::string_view source) {
  std::string out =
      fmt::format("{}:{}:{}: error: {}", d.loc.file, d.loc.line, d.loc.column, d.message);
  std::optional<std::string_view> line = source_line(source, d.loc.line);
  if (line && !line->empty())
    out += fmt::format("\n{}\n{}^", *line, caret_prefix(*line, d.loc.column));
  return out;
}

std::string format_report(std::vector<Diagnostic> diagnostics, std::string_view source) {
  std::stable_sort(
      diagnostics.begin(), diagnostics.end(), [](const Diagnostic& a, const Diagnostic& b) {
        return std::pair(a.loc.line, a.loc.column) < std::pair(b.loc.line, b.loc.column);
      });
  std::string out;
  for (const Diagnostic& d : diagnostics) {
    if (!out.empty()) out += '\n';
    out += format_diagnostic(d, source);
  }
  if (diagnostics.size() > 1) {
    out += fmt::format("\n{} errors in {}", diagnostics.size(), diagnostics.front().loc.file);
  }
  return out;
}

Error report_error(std::vector<Diagnostic> diagnostics, std::string_view source) {
  return Error(ErrorCode::kSpec, format_report(std::move(diagnostics), source));
}

}  // namespace strata::specs
