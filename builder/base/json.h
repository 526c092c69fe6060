// Canonical JSON for every digested or signed document (docs/design.md determinism profile):
// UTF-8, keys sorted by byte value, compact, integers only, no trailing newline.
// nlohmann-json is header-only, so base can offer this without a new link dependency.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "builder/base/result.h"

namespace strata {

using Json = nlohmann::json;  // std::map-backed: keys iterate in byte order

// Serializes canonically. Fails on invalid UTF-8, or (kInvalidInput) on non-integer numbers,
// which would make the bytes depend on the serializer's float formatting.
Result<std::string> canonical_json(const Json& value);

// Receives a document's text in order: a staged file, a hash, a string. Returning an Error
// stops the document (CanonicalWriter keeps it).
class TextSink {
 public:
  virtual ~TextSink() = default;
  virtual Result<void> write(std::string_view text) = 0;
};

// A TextSink that keeps the text: for small documents and tests.
class StringSink final : public TextSink {
 public:
  Result<void> write(std::string_view text) override;
  std::string& text() { return text_; }

 private:
  std::string text_;
};

// Writes canonical JSON to a sink, front to back, through a fixed buffer: a document that lists
// every file of a 1,000,000-file layer (an SBOM, a provenance) is never held as a tree or as
// text, only the element being written (docs/sbom.md "Memory"). The caller writes values in
// document order; the first error (a value that does not serialize, a failed sink write) is
// kept and returned by finish(), and everything after it is ignored, so writers need not check
// every call (they may test ok() to stop early).
class CanonicalWriter {
 public:
  explicit CanonicalWriter(TextSink& sink);
  CanonicalWriter(const CanonicalWriter&) = delete;
  CanonicalWriter& operator=(const CanonicalWriter&) = delete;

  // canonical_json(value).
  void value(const Json& value);
  // Text that is already canonical JSON (or punctuation between values).
  void raw(std::string_view text);
  // A member's value written by the caller.
  using ValueWriter = std::function<void(CanonicalWriter&)>;
  // The object of `members` (an object) and of `writers`' members, each written when its key
  // comes: all keys in byte order, as canonical_json orders them. `members` must not hold a
  // key of `writers` (a bug otherwise).
  void object(const Json& members, const std::map<std::string, ValueWriter>& writers);

  bool ok() const { return !error_.has_value(); }
  // Hands the buffered text to the sink; the first error, if any.
  Result<void> finish();

 private:
  void fail(Error error);
  void flush();

  TextSink& sink_;
  std::string buffer_;
  std::optional<Error> error_;
};

// An array written element by element into a CanonicalWriter: "[" on construction, the
// separators, "]" on close().
class CanonicalArray {
 public:
  explicit CanonicalArray(CanonicalWriter& out);
  void push_back(const Json& element);
  // Starts an element the caller writes into the returned writer.
  CanonicalWriter& next();
  void close();

 private:
  CanonicalWriter& out_;
  bool empty_ = true;
};

// The document `write` writes, as one string (for small documents and tests).
Result<std::string> canonical_text(const std::function<void(CanonicalWriter&)>& write);

// The member `key` of `object` by reference; a null Json when `object` is not an object or
// lacks the key. Unlike Json::value(), which returns a copy, it never copies: the reader of
// a 20,000-file provenance must not duplicate its tree once per level it descends.
const Json& member(const Json& object, std::string_view key);
// member(object, key) when it is a string, else "".
std::string string_member(const Json& object, std::string_view key);
// How deeply arrays and objects may nest in a parsed document. Every document strata reads
// nests a handful of levels; serializing, comparing or walking a tree is recursive, so a
// hostile document nested 100,000 deep must be refused before it becomes one.
inline constexpr int kMaxJsonDepth = 128;
// Parses `text`; `what` names the document in the error. Nesting deeper than kMaxJsonDepth is
// an error (kInvalidInput), found before any tree is built.
Result<Json> parse_json(std::string_view text, std::string_view what);

}  // namespace strata
