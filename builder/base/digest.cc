#include "builder/base/digest.h"

#include <fcntl.h>

#include <cstring>

#include "builder/base/fd.h"

namespace strata {
namespace {

std::string hex_of(const unsigned char* bytes, size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex(size * 2, '0');
  for (size_t i = 0; i < size; ++i) {
    hex[2 * i] = kHex[bytes[i] >> 4];
    hex[2 * i + 1] = kHex[bytes[i] & 0xf];
  }
  return hex;
}

}  // namespace

bool is_sha256_hex(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Result<Digest> Digest::parse(std::string_view text, bool allow_bare) {
  std::string_view hex = text;
  if (hex.starts_with("sha256:")) {
    hex.remove_prefix(7);
  } else if (!allow_bare) {
    return Error(
        ErrorCode::kSpec,
        fmt::format("invalid digest '{}': expected sha256:<64 lowercase hex digits>", text));
  }
  if (!is_sha256_hex(hex)) {
    return Error(ErrorCode::kSpec,
                 fmt::format("invalid digest '{}': expected 64 lowercase hex digits", text));
  }
  return Digest{std::string(hex)};
}

PackedDigest PackedDigest::of(const Digest& d) {
  PackedDigest out;
  if (d.hex.empty()) return out;
  STRATA_CHECK(is_sha256_hex(d.hex));
  auto nibble = [](char c) { return static_cast<uint8_t>(c <= '9' ? c - '0' : c - 'a' + 10); };
  for (size_t i = 0; i < out.bytes.size(); ++i) {
    out.bytes[i] = static_cast<uint8_t>(nibble(d.hex[2 * i]) << 4 | nibble(d.hex[2 * i + 1]));
  }
  return out;
}

bool PackedDigest::empty() const {
  for (uint8_t b : bytes) {
    if (b != 0) return false;
  }
  return true;
}

Digest PackedDigest::unpack() const {
  if (empty()) return {};
  return Digest{hex_of(bytes.data(), bytes.size())};
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  STRATA_CHECK(ctx_ != nullptr);
  STRATA_CHECK(EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) == 1);
}

void Sha256::update(const void* data, size_t size) {
  STRATA_CHECK(EVP_DigestUpdate(ctx_.get(), data, size) == 1);
}

void Sha256::update(std::string_view data) { update(data.data(), data.size()); }

PackedDigest Sha256::finish_packed() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  STRATA_CHECK(EVP_DigestFinal_ex(ctx_.get(), md, &len) == 1);
  STRATA_CHECK(len == 32);
  PackedDigest out;
  std::memcpy(out.bytes.data(), md, len);
  return out;
}

Digest Sha256::finish() { return finish_packed().unpack(); }

Digest sha256_of(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.finish();
}

Result<Digest> sha256_file(const std::string& path) {
  STRATA_TRY_ASSIGN(UniqueFd fd, open_fd(path, O_RDONLY));
  Sha256 h;
  std::string buf(1 << 16, '\0');
  for (;;) {
    STRATA_TRY_ASSIGN(int64_t n,
                      read_some(fd.get(), buf.data(), static_cast<int64_t>(buf.size()), path));
    if (n == 0) break;
    h.update(buf.data(), static_cast<size_t>(n));
  }
  return h.finish();
}

}  // namespace strata
