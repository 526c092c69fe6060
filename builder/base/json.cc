#include "builder/base/json.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

namespace strata {
namespace {

// CanonicalWriter hands the sink text in pieces of about this size: below glibc's 128 KiB mmap
// threshold, and large enough that a staged file sees few write(2) calls.
constexpr size_t kBufferBytes = 64 * 1024;

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

Result<void> StringSink::write(std::string_view text) {
  text_ += text;
  return Ok{};
}

CanonicalWriter::CanonicalWriter(TextSink& sink) : sink_(sink) { buffer_.reserve(kBufferBytes); }

void CanonicalWriter::fail(Error error) {
  if (!error_) error_ = std::move(error);
  buffer_.clear();
}

void CanonicalWriter::flush() {
  if (error_ || buffer_.empty()) return;
  Result<void> written = sink_.write(buffer_);
  buffer_.clear();
  if (!written.ok()) fail(std::move(written).error());
}

void CanonicalWriter::raw(std::string_view text) {
  if (error_) return;
  buffer_ += text;
  if (buffer_.size() >= kBufferBytes) flush();
}

void CanonicalWriter::value(const Json& value) {
  if (error_) return;
  Result<std::string> text = canonical_json(value);
  if (!text.ok()) return fail(std::move(text).error());
  raw(*text);
}

void CanonicalWriter::object(const Json& members,
                             const std::map<std::string, ValueWriter>& writers) {
  STRATA_CHECK(members.is_object());
  raw("{");
  auto small = members.begin();
  auto large = writers.begin();
  bool first = true;
  // Two sorted sequences merged: nlohmann's object and std::map both order keys by byte.
  while (small != members.end() || large != writers.end()) {
    bool take_small = large == writers.end() ||
                      (small != members.end() && std::string_view(small.key()) < large->first);
    const std::string& key = take_small ? small.key() : large->first;
    STRATA_CHECK(take_small || small == members.end() || small.key() != large->first);
    if (!first) raw(",");
    first = false;
    // Escaped exactly as nlohmann's dump escapes an object key: as a JSON string.
    Result<std::string> quoted = dump_strict(Json(key));
    if (!quoted.ok()) return fail(std::move(quoted).error());
    raw(*quoted);
    raw(":");
    if (take_small) {
      value(small.value());
      ++small;
    } else {
      large->second(*this);
      ++large;
    }
  }
  raw("}");
}

Result<void> CanonicalWriter::finish() {
  flush();
  if (error_) return std::move(*error_);
  return Ok{};
}

CanonicalArray::CanonicalArray(CanonicalWriter& out) : out_(out) { out_.raw("["); }

void CanonicalArray::push_back(const Json& element) { next().value(element); }

CanonicalWriter& CanonicalArray::next() {
  if (!empty_) out_.raw(",");
  empty_ = false;
  return out_;
}

void CanonicalArray::close() { out_.raw("]"); }

Result<std::string> canonical_text(const std::function<void(CanonicalWriter&)>& write) {
  StringSink sink;
  CanonicalWriter out(sink);
  write(out);
  STRATA_TRY(out.finish());
  return std::move(sink.text());
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
