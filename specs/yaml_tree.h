// Any YAML file read the way a spec is read (size, UTF-8, one document, bounded shape, the
// same located messages), as a plain tree with a Loc on every node: for other strata files
// (a policy, builder/policy/) that want the spec's diagnostics without naming yaml-cpp.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "builder/base/result.h"
#include "specs/diagnostics.h"

namespace strata::specs {

struct YamlEntry;

// One node. A scalar keeps its text as written (YAML's `true`, `12` and `"12"` are all the
// scalar text); an empty value is kNull and is located at its key.
struct YamlNode {
  enum class Kind { kNull, kScalar, kSequence, kMapping };
  Kind kind = Kind::kNull;
  std::string scalar;
  std::vector<YamlNode> items;     // kSequence
  std::vector<YamlEntry> entries;  // kMapping, in file order; repeated keys are kept
  Loc loc;

  // "a string", "a sequence", "a mapping" or "nothing", for messages.
  std::string_view kind_name() const;
};

struct YamlEntry {
  std::string key;
  Loc key_loc;
  YamlNode value;
};

// Parses `text` (one YAML document) named `file` in messages; `what` names the kind of file
// in them ("policy": "the policy is empty", "a policy is UTF-8 text"). A problem is a kSpec
// Error whose message is the located report (format_report), as parse_spec gives. A key
// that is not a scalar is an error.
Result<YamlNode> parse_yaml_tree(std::string_view text, const std::string& file,
                                 std::string_view what);

}  // namespace strata::specs
