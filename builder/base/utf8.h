// UTF-8 text: whether bytes are well-formed UTF-8 (RFC 3629) and an escaped rendering of
// bytes for messages. File names, link targets and spec values are checked here, so every
// stage agrees on what "valid UTF-8" means.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace strata {

// The length of the longest prefix of `s` that is well-formed UTF-8 (RFC 3629 §4): s.size()
// when all of it is. Overlong forms (C0 80, E0 80 80, ...), UTF-16 surrogates (U+D800..U+DFFF,
// ED A0..BF xx), code points above U+10FFFF (F4 90.., F5..FF), stray continuation bytes and
// truncated sequences end the prefix. NUL is a valid code point here; callers that put the
// text in C strings refuse it themselves.
size_t valid_utf8_prefix(std::string_view s);

// Whether all of `s` is well-formed UTF-8 (valid_utf8_prefix(s) == s.size()).
bool is_valid_utf8(std::string_view s);

// `s` for a one-line message, unambiguous and safe on a terminal: well-formed printable UTF-8
// is kept, every byte of an ill-formed sequence, every C0 control, DEL and C1 control
// (U+0080..U+009F) is written as \xHH (lower-case hex), and a backslash as \\. E.g.
// "a\xffb\n" -> "a\\xffb\\x0a".
std::string escape_bytes(std::string_view s);

}  // namespace strata
