// Reading yaml-cpp nodes into typed values while collecting located diagnostics. Private to
// specs/: the only header that names yaml-cpp types. Nothing here throws.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "specs/diagnostics.h"
#include "specs/spec.h"

namespace strata::specs::internal {

// A node and where to point at it.
struct Value {
  YAML::Node node;
  Loc loc;  // the value's position; the key's when the value is empty (see MapReader::get)
};

// One key of a mapping.
struct Field : Value {
  std::string key;
  Loc key_loc;
};

// One key of a string-to-string mapping such as `env` or `labels`.
struct Entry {
  std::string key;
  Loc key_loc;
  std::string value;
  Loc loc;
};

// Collects the diagnostics of one spec file.
class Reader {
 public:
  Reader(std::string file, std::vector<Diagnostic>* out) : file_(std::move(file)), out_(out) {}

  // yaml-cpp marks are 0-based; Loc is 1-based.
  Loc loc(const YAML::Mark& mark) const { return {file_, mark.line + 1, mark.column + 1}; }
  Loc loc(const YAML::Node& node) const { return loc(node.Mark()); }
  void error(const Loc& loc, std::string message) { out_->push_back({loc, std::move(message)}); }
  const std::string& file() const { return file_; }

 private:
  std::string file_;
  std::vector<Diagnostic>* out_;
};

// "a string", "a sequence", "a mapping" or "nothing" for error messages.
std::string_view kind_of(const YAML::Node& node);

// A mapping whose keys are checked once, on construction: a non-mapping is reported as
// "expected a mapping, got …" (an empty value counts as an empty mapping), unknown keys as
// "unknown key 'k'" with a did-you-mean, and repeated keys as "duplicate key 'k'".
// The keys of a mapping one level down, for "did you mean": an unknown key that is one of
// `keys` was probably meant under `parent` and indented too little.
struct NestedKeys {
  std::string parent;
  std::vector<std::string> keys;
};

class MapReader {
 public:
  // `nested`: an unknown key that is no typo of `keys` but one of a nested mapping's keys is
  // reported as "unknown key 'config'; did you mean image.config? (indent it under image:)".
  MapReader(Reader& reader, const Value& value, std::vector<std::string> keys,
            const std::vector<NestedKeys>& nested = {});

  bool ok() const { return ok_; }
  const Loc& loc() const { return loc_; }
  Reader& reader() const { return reader_; }
  // The first occurrence of `key`, if present.
  std::optional<Field> get(std::string_view key) const;
  // Like get(), but reports "missing required key 'key'" at the mapping when absent.
  std::optional<Field> require(std::string_view key) const;

 private:
  Reader& reader_;
  Loc loc_;
  bool ok_ = false;
  std::vector<Field> fields_;
};

// Readers for one value. Each reports a wrong kind as "expected a string, got a sequence"
// (and malformed text likewise) at value.loc and returns nullopt / empty.
std::optional<std::string> read_string(Reader& reader, const Value& value);
// A decimal integer in [min, max].
std::optional<int64_t> read_int(Reader& reader, const Value& value, int64_t min, int64_t max);
// The items of a sequence; an empty value is an empty sequence.
std::vector<Value> read_sequence(Reader& reader, const Value& value);
// A sequence of strings, each with its location.
std::vector<Ref> read_string_list(Reader& reader, const Value& value);
// A mapping of scalars to scalars (values may be any scalar: `DEBUG: 1` is "1"); repeated
// keys are reported.
std::vector<Entry> read_string_map(Reader& reader, const Value& value);

}  // namespace strata::specs::internal
