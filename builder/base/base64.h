// Base64 (RFC 4648), for DSSE and OpenPGP armor: standard encoding out; standard or URL-safe,
// padded or not, in.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace strata {

// Standard alphabet with '=' padding.
std::string base64_encode(std::string_view bytes);
// Accepts the standard and the URL-safe alphabet, with or without padding (DSSE verifiers
// must accept either). nullopt for anything else: other characters, a bad length or padding.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace strata
