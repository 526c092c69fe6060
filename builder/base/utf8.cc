#include "builder/base/utf8.h"

#include <fmt/format.h>

namespace strata {
namespace {

// The length of the well-formed sequence starting at s[i], or 0 when there is none. The
// ranges of the second byte are RFC 3629's table: they exclude overlongs (E0 80..9F, F0
// 80..8F), surrogates (ED A0..BF) and code points past U+10FFFF (F4 90..BF).
size_t sequence_length(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  unsigned char c = byte(0);
  if (c < 0x80) return 1;
  size_t len = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;  // a continuation byte, C0/C1 (always overlong) or F5..FF
  }
  if (i + len > s.size()) return 0;
  if (byte(1) < lo || byte(1) > hi) return 0;
  for (size_t k = 2; k < len; ++k) {
    if ((byte(k) & 0xC0) != 0x80) return 0;
  }
  return len;
}

}  // namespace

size_t valid_utf8_prefix(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    size_t len = sequence_length(s, i);
    if (len == 0) break;
    i += len;
  }
  return i;
}

bool is_valid_utf8(std::string_view s) { return valid_utf8_prefix(s) == s.size(); }

std::string escape_bytes(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto hex = [&](size_t from, size_t n) {
    for (size_t k = from; k < from + n; ++k) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(s[k]));
    }
  };
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t len = sequence_length(s, i);
    if (len == 0) {
      hex(i, 1);  // one byte at a time: the next one may start a good sequence
      i += 1;
    } else if (c < 0x20 || c == 0x7F ||
               (c == 0xC2 && static_cast<unsigned char>(s[i + 1]) < 0xA0)) {
      hex(i, len);  // controls, C1 included (0x9B is a terminal's CSI)
      i += len;
    } else if (c == '\\') {
      out += "\\\\";
      i += 1;
    } else {
      out.append(s.substr(i, len));
      i += len;
    }
  }
  return out;
}

}  // namespace strata
