#include "builder/registry/challenge.h"

namespace strata::builder::registry {
namespace {

// RFC 9110 tchar.
bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

class Cursor {
 public:
  explicit Cursor(std::string_view text) : text_(text) {}
  bool done() const { return pos_ >= text_.size(); }
  char peek() const { return done() ? '\0' : text_[pos_]; }
  void skip_space() {
    while (!done() && (peek() == ' ' || peek() == '\t')) ++pos_;
  }
  // Spaces, commas and spaces (empty list elements are allowed, RFC 9110 §5.6.1).
  void skip_separators() {
    while (!done() && (peek() == ' ' || peek() == '\t' || peek() == ',')) ++pos_;
  }
  std::string_view token() {
    size_t start = pos_;
    while (!done() && is_tchar(peek())) ++pos_;
    return text_.substr(start, pos_ - start);
  }
  // token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
  std::string_view token68() {
    size_t start = pos_;
    while (!done() && (is_tchar(peek()) || peek() == '/')) ++pos_;
    while (!done() && peek() == '=') ++pos_;
    return text_.substr(start, pos_ - start);
  }
  std::optional<std::string> quoted() {
    if (peek() != '"') return std::nullopt;
    ++pos_;
    std::string out;
    while (!done()) {
      char c = text_[pos_++];
      if (c == '"') return out;
      if (c == '\\') {
        if (done()) return std::nullopt;
        c = text_[pos_++];
      }
      out += c;
    }
    return std::nullopt;  // unterminated
  }
  size_t pos() const { return pos_; }
  void seek(size_t pos) { pos_ = pos; }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

// Parses `name = value` at the cursor; false (cursor unchanged) when the text there is not
// an auth-param, e.g. the scheme of the next challenge.
bool parse_param(Cursor& in, Challenge& into, bool& malformed) {
  size_t start = in.pos();
  std::string_view name = in.token();
  if (name.empty()) {
    malformed = !in.done();
    return false;
  }
  in.skip_space();
  if (in.peek() != '=') {
    in.seek(start);
    return false;
  }
  in.seek(in.pos() + 1);
  in.skip_space();
  std::string value;
  if (in.peek() == '"') {
    std::optional<std::string> q = in.quoted();
    if (!q) {
      malformed = true;
      return false;
    }
    value = std::move(*q);
  } else {
    value = std::string(in.token());
  }
  into.params.emplace(lower(name), std::move(value));
  return true;
}

void parse_header(std::string_view text, std::vector<Challenge>& out) {
  Cursor in(text);
  for (;;) {
    in.skip_separators();
    if (in.done()) return;
    std::string_view scheme = in.token();
    if (scheme.empty()) return;  // not a challenge: stop here
    Challenge challenge{.scheme = lower(scheme), .params = {}};
    in.skip_space();
    // A token68 ("Negotiate abc==") is one word that the end or a ',' follows; "realm=x"
    // is not one (the word stops at '=' and a value follows).
    Cursor t68 = in;
    std::string_view word = t68.token68();
    t68.skip_space();
    if (!word.empty() && (t68.done() || t68.peek() == ',')) {
      challenge.params.emplace("token68", std::string(word));
      out.push_back(std::move(challenge));
      in = t68;
      continue;
    }
    bool malformed = false;
    for (;;) {
      in.skip_separators();
      if (!parse_param(in, challenge, malformed)) break;
    }
    out.push_back(std::move(challenge));
    if (malformed) return;
  }
}

}  // namespace

std::string Challenge::param(const std::string& name) const {
  auto it = params.find(name);
  return it == params.end() ? std::string() : it->second;
}

std::vector<Challenge> parse_challenges(const std::vector<std::string>& header_values) {
  std::vector<Challenge> out;
  for (const std::string& value : header_values) parse_header(value, out);
  return out;
}

std::optional<Challenge> find_challenge(const std::vector<Challenge>& challenges,
                                        std::string_view scheme) {
  for (const Challenge& c : challenges) {
    if (c.scheme == scheme) return c;
  }
  return std::nullopt;
}

}  // namespace strata::builder::registry
