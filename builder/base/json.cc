#include "builder/base/json.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

namespace strata {
namespace {

// CanonicalText packs text into buffers of this size, below glibc's 128 KiB mmap threshold:
// freed ones are reused by the next document rather than left behind. A buffer is never grown
// past its capacity, so it is never copied.
constexpr size_t kPieceBytes = 64 * 1024;

bool has_float(const Json& v) {
  if (v.is_number_float()) return true;
  if (v.is_structured()) {
    for (const auto& item : v) {
      if (has_float(item)) return true;
    }
  }
  return false;
}

// Compact, UTF-8 left as is, invalid UTF-8 an error rather than replaced.
Result<std::string> dump_strict(const Json& value) {
  try {
    return value.dump(-1, ' ', /*ensure_ascii=*/false, Json::error_handler_t::strict);
  } catch (const Json::exception& e) {
    return Error(ErrorCode::kInternal, fmt::format("serializing JSON: {}", e.what()));
  }
}

}  // namespace

Result<std::string> canonical_json(const Json& value) {
  // Not a STRATA_CHECK: documents read from elsewhere are canonicalized too (a base image's
  // config, a manifest `strata diff` loads), so a float here can be the input's, not a bug.
  if (has_float(value))
    return Error(ErrorCode::kInvalidInput, "canonical JSON allows integers only");
  return dump_strict(value);
}

CanonicalText::CanonicalText(std::string text) {
  size_bytes_ = static_cast<int64_t>(text.size());
  pieces_.push_back(std::move(text));
}

void CanonicalText::append(std::string_view text) {
  if (pieces_.empty() || pieces_.back().capacity() - pieces_.back().size() < text.size()) {
    pieces_.emplace_back().reserve(std::max(kPieceBytes, text.size()));
  }
  pieces_.back() += text;
  size_bytes_ += static_cast<int64_t>(text.size());
}

void CanonicalText::append(CanonicalText&& text) {
  // A short text is copied, so a small object does not become a piece per member.
  if (text.size_bytes_ < static_cast<int64_t>(kPieceBytes / 16)) {
    for (const std::string& piece : text.pieces_) append(std::string_view(piece));
  } else {
    for (std::string& piece : text.pieces_) pieces_.push_back(std::move(piece));
    size_bytes_ += text.size_bytes_;
  }
  text.pieces_.clear();
  text.size_bytes_ = 0;
}

std::string CanonicalText::str() && {
  std::string out;
  out.reserve(static_cast<size_t>(size_bytes_));
  for (std::string& piece : pieces_) {
    out += piece;
    std::string().swap(piece);
  }
  pieces_.clear();
  size_bytes_ = 0;
  return out;
}

CanonicalArrayWriter::CanonicalArrayWriter() { text_.append("["); }

void CanonicalArrayWriter::push_back(const Json& element) {
  if (error_) return;
  Result<std::string> text = canonical_json(element);
  if (!text.ok()) {
    error_ = std::move(text).error();
    return;
  }
  if (text_.size_bytes() > 1) text_.append(",");
  text_.append(*text);
}

void CanonicalArrayWriter::push_back_text(CanonicalText element) {
  if (error_) return;
  if (text_.size_bytes() > 1) text_.append(",");
  text_.append(std::move(element));
}

Result<CanonicalText> CanonicalArrayWriter::finish() && {
  if (error_) return std::move(*error_);
  text_.append("]");
  return std::move(text_);
}

Result<CanonicalText> canonical_object(const Json& members,
                                       std::map<std::string, CanonicalText> member_texts) {
  STRATA_CHECK(members.is_object());
  for (auto it = members.begin(); it != members.end(); ++it) {
    STRATA_TRY_ASSIGN(std::string text, canonical_json(it.value()));
    bool added = member_texts.emplace(it.key(), CanonicalText(std::move(text))).second;
    STRATA_CHECK(added);
  }
  CanonicalText out;
  out.append("{");
  for (auto& [key, text] : member_texts) {
    if (out.size_bytes() > 1) out.append(",");
    // Escaped exactly as nlohmann's dump escapes an object key: as a JSON string.
    STRATA_TRY_ASSIGN(std::string quoted, dump_strict(Json(key)));
    out.append(quoted);
    out.append(":");
    out.append(std::move(text));
  }
  out.append("}");
  return out;
}

const Json& member(const Json& object, std::string_view key) {
  static const Json kNull;
  if (!object.is_object()) return kNull;
  auto it = object.find(key);
  return it == object.end() ? kNull : *it;
}

std::string string_member(const Json& object, std::string_view key) {
  const Json& v = member(object, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}

namespace {

// The deepest nesting of arrays and objects in `text`, outside strings; stops counting past
// `limit`. Malformed text is the parser's to report.
int nesting_depth(std::string_view text, int limit) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > limit) return deepest;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

}  // namespace

Result<Json> parse_json(std::string_view text, std::string_view what) {
  if (nesting_depth(text, kMaxJsonDepth) > kMaxJsonDepth) {
    return Error(ErrorCode::kInvalidInput,
                 fmt::format("parsing {}: arrays and objects nest more than {} levels deep", what,
                             kMaxJsonDepth));
  }
  try {
    return Json::parse(text);
  } catch (const Json::exception& e) {
    return Error(ErrorCode::kIo, fmt::format("parsing {}: {}", what, e.what()));
  }
}

}  // namespace strata
