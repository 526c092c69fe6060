#include "builder/policy/license_expression.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>

namespace strata::builder::policy {
namespace {

bool same_id(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool listed(const std::vector<std::string>& list, std::string_view id) {
  return std::any_of(list.begin(), list.end(),
                     [&](const std::string& l) { return same_id(l, id); });
}

std::vector<std::string> tokenize(std::string_view text) {
  std::vector<std::string> tokens;
  std::string word;
  auto flush = [&] {
    if (!word.empty()) tokens.push_back(std::move(word));
    word.clear();
  };
  for (char c : text) {
    if (c == '(' || c == ')') {
      flush();
      tokens.emplace_back(1, c);
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      flush();
    } else {
      word.push_back(c);
    }
  }
  flush();
  return tokens;
}

// Recursive descent over the tokens; OR binds loosest, then AND, then WITH.
class Judge {
 public:
  Judge(std::vector<std::string> tokens, const std::vector<std::string>& allow,
        const std::vector<std::string>& deny)
      : tokens_(std::move(tokens)), allow_(allow), deny_(deny) {}

  Result<LicenseVerdict> run() {
    if (tokens_.empty()) return bad("an empty expression");
    STRATA_TRY_ASSIGN(LicenseVerdict v, parse_or(0));
    if (pos_ != tokens_.size()) return bad(fmt::format("unexpected '{}'", tokens_[pos_]));
    return v;
  }

 private:
  static bool is_op(const std::string& t, std::string_view op) {
    std::string lower(op);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return t == op || t == lower;
  }
  bool at(std::string_view op) const { return pos_ < tokens_.size() && is_op(tokens_[pos_], op); }
  Error bad(std::string why) const {
    return Error(ErrorCode::kInvalidInput, fmt::format("not an SPDX license expression: {}", why));
  }

  Result<LicenseVerdict> parse_or(int depth) {
    STRATA_TRY_ASSIGN(LicenseVerdict v, parse_and(depth));
    std::vector<std::string> reasons = {v.reason};
    while (at("OR")) {
      ++pos_;
      STRATA_TRY_ASSIGN(LicenseVerdict next, parse_and(depth));
      // Every branch is parsed even once one passes, so a malformed tail is still an error.
      if (!v.allowed && next.allowed) v = next;
      reasons.push_back(next.reason);
    }
    if (!v.allowed && reasons.size() > 1) {
      v.reason = fmt::format("no branch of the OR is allowed ({})", fmt::join(reasons, "; "));
    }
    return v;
  }

  Result<LicenseVerdict> parse_and(int depth) {
    STRATA_TRY_ASSIGN(LicenseVerdict v, parse_with(depth));
    while (at("AND")) {
      ++pos_;
      STRATA_TRY_ASSIGN(LicenseVerdict next, parse_with(depth));
      if (v.allowed && !next.allowed) v = next;
    }
    return v;
  }

  Result<LicenseVerdict> parse_with(int depth) {
    if (pos_ < tokens_.size() && tokens_[pos_] == "(") {
      if (depth > 32) return bad("nested too deeply");
      ++pos_;
      STRATA_TRY_ASSIGN(LicenseVerdict v, parse_or(depth + 1));
      if (pos_ >= tokens_.size() || tokens_[pos_] != ")") return bad("unbalanced '('");
      ++pos_;
      return v;
    }
    STRATA_TRY_ASSIGN(std::string id, take_id("a license id"));
    if (!at("WITH")) return judge(id, id);
    ++pos_;
    STRATA_TRY_ASSIGN(std::string exception, take_id("an exception id after WITH"));
    return judge(id, id + " WITH " + exception);
  }

  Result<std::string> take_id(std::string_view what) {
    if (pos_ >= tokens_.size()) return bad(fmt::format("expected {} at the end", what));
    const std::string& t = tokens_[pos_];
    if (t == "(" || t == ")" || is_op(t, "AND") || is_op(t, "OR") || is_op(t, "WITH")) {
      return bad(fmt::format("expected {}, got '{}'", what, t));
    }
    ++pos_;
    return t;
  }

  LicenseVerdict judge(const std::string& id, const std::string& whole) const {
    if (listed(deny_, id) || listed(deny_, whole)) return {false, fmt::format("{} is denied", id)};
    if (allow_.empty() || listed(allow_, whole) || listed(allow_, id)) return {true, ""};
    return {false, fmt::format("{} is not allowed", whole)};
  }

  std::vector<std::string> tokens_;
  size_t pos_ = 0;
  const std::vector<std::string>& allow_;
  const std::vector<std::string>& deny_;
};

}  // namespace

Result<LicenseVerdict> judge_license(std::string_view expression,
                                     const std::vector<std::string>& allow,
                                     const std::vector<std::string>& deny) {
  return Judge(tokenize(expression), allow, deny).run();
}

}  // namespace strata::builder::policy
