#include "specs/internal/yaml_reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <set>

#include "specs/suggest.h"

namespace strata::specs::internal {
namespace {

std::optional<std::string> read_key(Reader& reader, const YAML::Node& key) {
  if (key.IsScalar()) return key.Scalar();
  reader.error(reader.loc(key), fmt::format("expected a string key, got {}", kind_of(key)));
  return std::nullopt;
}

// "; did you mean PARENT.KEY? (indent it under PARENT:)" for a key of a nested mapping (an
// exact key beats a near one: top-level `base:` is image.base, not a typo of `name`), else
// "; did you mean 'X'?" for a typo of a key of this mapping, else "".
std::string did_you_mean_nested(const std::string& key, const std::vector<std::string>& keys,
                                const std::vector<NestedKeys>& nested) {
  for (const NestedKeys& n : nested) {
    if (std::find(n.keys.begin(), n.keys.end(), key) != n.keys.end()) {
      return fmt::format("; did you mean {}.{}? (indent it under {}:)", n.parent, key, n.parent);
    }
  }
  return did_you_mean(key, keys);
}

}  // namespace

std::string_view kind_of(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return "a string";
    case YAML::NodeType::Sequence:
      return "a sequence";
    case YAML::NodeType::Map:
      return "a mapping";
    default:
      return "nothing";
  }
}

MapReader::MapReader(Reader& reader, const Value& value, std::vector<std::string> keys,
                     const std::vector<NestedKeys>& nested)
    : reader_(reader), loc_(value.loc) {
  if (value.node.IsNull()) {
    ok_ = true;
    return;
  }
  if (!value.node.IsMap()) {
    reader.error(value.loc, fmt::format("expected a mapping, got {}", kind_of(value.node)));
    return;
  }
  ok_ = true;
  std::set<std::string> seen;
  for (auto it = value.node.begin(); it != value.node.end(); ++it) {
    std::optional<std::string> key = read_key(reader, it->first);
    if (!key) continue;
    Loc key_loc = reader.loc(it->first);
    if (std::find(keys.begin(), keys.end(), *key) == keys.end()) {
      reader.error(key_loc, fmt::format("unknown key '{}'{}", *key,
                                        did_you_mean_nested(*key, keys, nested)));
      continue;
    }
    if (!seen.insert(*key).second) {
      reader.error(key_loc, fmt::format("duplicate key '{}'", *key));
      continue;
    }
    // yaml-cpp marks an empty value at the start of the next token, often on the next line,
    // so errors about it point at its key instead.
    Loc loc = it->second.IsNull() ? key_loc : reader.loc(it->second);
    fields_.push_back(Field{{it->second, loc}, *key, key_loc});
  }
}

std::optional<Field> MapReader::get(std::string_view key) const {
  for (const Field& field : fields_) {
    if (field.key == key) return field;
  }
  return std::nullopt;
}

std::optional<Field> MapReader::require(std::string_view key) const {
  std::optional<Field> field = get(key);
  if (!field && ok_) reader_.error(loc_, fmt::format("missing required key '{}'", key));
  return field;
}

std::optional<std::string> read_string(Reader& reader, const Value& value) {
  if (value.node.IsScalar()) return value.node.Scalar();
  reader.error(value.loc, fmt::format("expected a string, got {}", kind_of(value.node)));
  return std::nullopt;
}

std::optional<int64_t> read_int(Reader& reader, const Value& value, int64_t min, int64_t max) {
  if (!value.node.IsScalar()) {
    reader.error(value.loc, fmt::format("expected an integer, got {}", kind_of(value.node)));
    return std::nullopt;
  }
  const std::string& text = value.node.Scalar();
  int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  // Leading zeros are refused: YAML 1.1 readers take "0644" as octal, YAML 1.2 as decimal.
  std::string_view digits = std::string_view(text).substr(!text.empty() && text[0] == '-');
  bool leading_zero = digits.size() > 1 && digits[0] == '0';
  if (ec == std::errc::result_out_of_range || (ec == std::errc() && (n < min || n > max))) {
    reader.error(value.loc,
                 fmt::format("expected an integer from {} to {}, got {}", min, max, text));
    return std::nullopt;
  }
  if (ec == std::errc() && end == text.data() + text.size() && leading_zero) {
    reader.error(value.loc,
                 fmt::format("expected an integer without leading zeros, got '{}'", text));
    return std::nullopt;
  }
  if (ec != std::errc() || end != text.data() + text.size()) {
    reader.error(value.loc, fmt::format("expected an integer, got '{}'", text));
    return std::nullopt;
  }
  return n;
}

std::vector<Value> read_sequence(Reader& reader, const Value& value) {
  std::vector<Value> items;
  if (value.node.IsNull()) return items;
  if (!value.node.IsSequence()) {
    reader.error(value.loc, fmt::format("expected a sequence, got {}", kind_of(value.node)));
    return items;
  }
  for (auto it = value.node.begin(); it != value.node.end(); ++it) {
    items.push_back({*it, it->IsNull() ? value.loc : reader.loc(*it)});
  }
  return items;
}

std::vector<Ref> read_string_list(Reader& reader, const Value& value) {
  std::vector<Ref> out;
  for (const Value& item : read_sequence(reader, value)) {
    if (std::optional<std::string> text = read_string(reader, item)) {
      out.push_back({*text, item.loc});
    }
  }
  return out;
}

std::vector<Entry> read_string_map(Reader& reader, const Value& value) {
  std::vector<Entry> out;
  if (value.node.IsNull()) return out;
  if (!value.node.IsMap()) {
    reader.error(value.loc, fmt::format("expected a mapping, got {}", kind_of(value.node)));
    return out;
  }
  std::set<std::string> seen;
  for (auto it = value.node.begin(); it != value.node.end(); ++it) {
    std::optional<std::string> key = read_key(reader, it->first);
    if (!key) continue;
    Loc key_loc = reader.loc(it->first);
    if (!seen.insert(*key).second) {
      reader.error(key_loc, fmt::format("duplicate key '{}'", *key));
      continue;
    }
    Value item{it->second, it->second.IsNull() ? key_loc : reader.loc(it->second)};
    if (std::optional<std::string> text = read_string(reader, item)) {
      out.push_back({*key, key_loc, *text, item.loc});
    }
  }
  return out;
}

}  // namespace strata::specs::internal
