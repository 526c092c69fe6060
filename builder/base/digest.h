// SHA-256 through OpenSSL's EVP API: a streaming hasher and the "sha256:<hex>" digest value.
#pragma once

#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "builder/base/result.h"

namespace strata {

// A digest in OCI form: "sha256:" followed by 64 lowercase hex digits.
struct Digest {
  std::string hex;  // 64 lowercase hex digits

  std::string str() const { return "sha256:" + hex; }
  bool operator==(const Digest&) const = default;
  auto operator<=>(const Digest&) const = default;

  // Parses "sha256:<64 lowercase hex>" (or the bare hex if allow_bare); anything else fails.
  static Result<Digest> parse(std::string_view text, bool allow_bare = false);
};

// A digest's 32 bytes, for lists that hold one per file: a Digest's hex string takes 112 bytes
// of memory (the string and its heap block), this 32, which at 1,000,000 files of a layer is
// 80 MB less (docs/sbom.md "Memory"). All zeros stands for "no digest" (a directory's), a
// value SHA-256 yields with probability 2^-256.
struct PackedDigest {
  std::array<uint8_t, 32> bytes{};

  // `d` is empty or holds 64 lowercase hex digits (as every Digest made here does).
  static PackedDigest of(const Digest& d);
  Digest unpack() const;  // the empty Digest for "no digest"
  bool empty() const;
  bool operator==(const PackedDigest&) const = default;
};

class Sha256 {
 public:
  Sha256();
  Sha256(Sha256&&) noexcept = default;
  Sha256& operator=(Sha256&&) noexcept = default;

  void update(std::string_view data);
  void update(const void* data, size_t size);
  // Finishes the hash; the hasher may not be updated afterwards.
  Digest finish();
  // The same, as 32 bytes: for per-file records, with no hex string made and parsed again.
  PackedDigest finish_packed();

 private:
  struct Free {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  };
  std::unique_ptr<EVP_MD_CTX, Free> ctx_;
};

Digest sha256_of(std::string_view data);
// Hashes a file in bounded memory; the error names the path.
Result<Digest> sha256_file(const std::string& path);

bool is_sha256_hex(std::string_view s);

}  // namespace strata
