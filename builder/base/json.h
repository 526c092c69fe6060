// Canonical JSON for every digested or signed document (docs/design.md determinism profile):
// UTF-8, keys sorted by byte value, compact, integers only, no trailing newline.
// nlohmann-json is header-only, so base can offer this without a new link dependency.
#pragma once

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

// Canonical JSON text held as a list of pieces. Large documents (an SBOM lists each of 20,000
// files) are assembled from parts serialized one at a time, so they never exist as a tree; the
// parts are moved into the document, not copied, and joined once into a string of exactly
// the document's size. Growing one string instead would copy it at each doubling and leave the
// old buffers behind in the heap.
class CanonicalText {
 public:
  CanonicalText() = default;
  // `text` must be canonical JSON (from canonical_json).
  explicit CanonicalText(std::string text);

  int64_t size_bytes() const { return size_bytes_; }
  // The text as one string, allocated once; each piece is freed as soon as it is copied.
  std::string str() &&;

 private:
  friend class CanonicalArrayWriter;
  friend Result<CanonicalText> canonical_object(const Json&, std::map<std::string, CanonicalText>);
  void append(std::string_view text);
  void append(CanonicalText&& text);

  std::vector<std::string> pieces_;
  int64_t size_bytes_ = 0;
};

// Canonical JSON text of an array built one element at a time: each element is serialized
// when it is pushed. The first element that fails to serialize is kept and returned by
// finish(); later pushes are ignored, so builders need not check every push.
class CanonicalArrayWriter {
 public:
  CanonicalArrayWriter();
  void push_back(const Json& element);
  void push_back_text(CanonicalText element);
  // "[e1,e2,...]": equal to canonical_json of the array of the pushed elements.
  Result<CanonicalText> finish() &&;

 private:
  CanonicalText text_;
  std::optional<Error> error_;
};

// Canonical JSON text of the object `members` with `member_texts` added as members. Members
// come out in byte order of their keys whichever argument holds them, so the text equals
// canonical_json of the object with those texts parsed in. `members` must be an object
// without the keys of `member_texts` (a bug otherwise). Fails as canonical_json does.
Result<CanonicalText> canonical_object(const Json& members,
                                       std::map<std::string, CanonicalText> member_texts);

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
