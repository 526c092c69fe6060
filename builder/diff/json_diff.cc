#include "builder/diff/json_diff.h"

#include <algorithm>

namespace strata::builder::diff {
namespace {

bool is_empty_value(const Json& v) {
  return v.is_null() || ((v.is_object() || v.is_array()) && v.empty());
}

Json drop_empty(const Json& v) {
  if (v.is_object()) {
    Json out = Json::object();
    for (const auto& [key, value] : v.items()) {
      Json kept = drop_empty(value);
      if (!is_empty_value(kept)) out[key] = std::move(kept);
    }
    return out;
  }
  if (v.is_array()) {
    // Array elements keep their positions: dropping one would shift the others.
    Json out = Json::array();
    for (const Json& e : v) out.push_back(drop_empty(e));
    return out;
  }
  return v;
}

}  // namespace

std::string escape_pointer_token(std::string_view token) {
  std::string out;
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

void diff_json(std::string_view document, const Json& a, const Json& b, const std::string& pointer,
               std::vector<FieldDiff>& out) {
  if (a.is_object() && b.is_object()) {
    // Json is std::map-backed, so both walks are in key order; merge them.
    auto ia = a.begin(), ib = b.begin();
    while (ia != a.end() || ib != b.end()) {
      bool take_a = ib == b.end() || (ia != a.end() && ia.key() < ib.key());
      bool take_b = ia == a.end() || (ib != b.end() && ib.key() < ia.key());
      if (take_a) {
        out.push_back({std::string(document), pointer + "/" + escape_pointer_token(ia.key()), *ia,
                       std::nullopt});
        ++ia;
      } else if (take_b) {
        out.push_back({std::string(document), pointer + "/" + escape_pointer_token(ib.key()),
                       std::nullopt, *ib});
        ++ib;
      } else {
        diff_json(document, *ia, *ib, pointer + "/" + escape_pointer_token(ia.key()), out);
        ++ia;
        ++ib;
      }
    }
    return;
  }
  if (a.is_array() && b.is_array()) {
    size_t n = std::max(a.size(), b.size());
    for (size_t i = 0; i < n; ++i) {
      std::string p = pointer + "/" + std::to_string(i);
      if (i >= a.size()) {
        out.push_back({std::string(document), p, std::nullopt, b[i]});
      } else if (i >= b.size()) {
        out.push_back({std::string(document), p, a[i], std::nullopt});
      } else {
        diff_json(document, a[i], b[i], p, out);
      }
    }
    return;
  }
  if (a != b) out.push_back({std::string(document), pointer, a, b});
}

Json semantic_config(const Json& config) {
  if (!config.is_object()) return config;
  Json c = config;
  for (const char* key :
       {"created", "history", "rootfs", "container", "container_config", "docker_version"}) {
    c.erase(key);
  }
  return drop_empty(c);
}

}  // namespace strata::builder::diff
