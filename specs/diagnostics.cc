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

// A message or source line is quoted whole up to these sizes; past them, a window (a huge
// value must not turn one error into megabytes of stderr).
constexpr size_t kMaxMessage = 1024;
constexpr size_t kLineWindow = 120;  // bytes shown either side of the caret

// `pos` moved back to the start of the UTF-8 sequence it is in.
size_t char_start(std::string_view text, size_t pos) {
  while (pos > 0 && pos < text.size() && (static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80)
    --pos;
  return pos;
}

std::string clip_message(const std::string& message) {
  if (message.size() <= kMaxMessage) return message;
  return fmt::format("{}… ({} bytes in all)",
                     std::string_view(message).substr(0, char_start(message, kMaxMessage)),
                     message.size());
}

}  // namespace

std::string format_diagnostic(const Diagnostic& d, std::string_view source) {
  std::string out = fmt::format("{}:{}:{}: error: {}", d.loc.file, d.loc.line, d.loc.column,
                                clip_message(d.message));
  std::optional<std::string_view> line = source_line(source, d.loc.line);
  if (!line || line->empty()) return out;
  std::string_view text = *line;
  int column = d.loc.column;
  std::string before, after;
  size_t at = column > 0 ? static_cast<size_t>(column - 1) : 0;
  if (text.size() > 2 * kLineWindow) {
    size_t begin = at > kLineWindow ? char_start(text, at - kLineWindow) : 0;
    size_t end = char_start(text, std::min(text.size(), at + kLineWindow));
    if (begin > 0) before = "…";
    if (end < text.size()) after = "…";
    text = text.substr(begin, end - begin);
    column -= static_cast<int>(begin);
  }
  out += fmt::format("\n{}{}{}\n{}{}^", before, text, after, before.empty() ? "" : " ",
                     caret_prefix(text, column));
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
