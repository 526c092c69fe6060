// The one wrapper around OpenSSL's key and signature APIs (docs/style.md §4): owners for EVP
// handles, the conversion of OpenSSL's "1 is success" convention into Result, and Ed25519 /
// ECDSA P-256 keys that sign and verify. SHA-256 itself comes from base/digest.h.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>

#include <memory>
#include <string>
#include <string_view>

#include "builder/base/result.h"

namespace strata::attest {

struct EvpPkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct EvpPkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
struct EvpMdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using EvpPkey = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;
using EvpPkeyCtx = std::unique_ptr<EVP_PKEY_CTX, EvpPkeyCtxFree>;
using EvpMdCtx = std::unique_ptr<EVP_MD_CTX, EvpMdCtxFree>;
using Bio = std::unique_ptr<BIO, BioFree>;

// "<what>: <first queued OpenSSL error>" (or "<what>: failed" if none); clears the queue.
Error openssl_error(std::string_view what, ErrorCode code = ErrorCode::kInternal);

// The runtime library's version, e.g. "3.0.15" (recorded in provenance).
std::string openssl_version();

enum class KeyType { kEd25519, kEcdsaP256 };

// "ed25519" or "ecdsa-p256"; parse_key_type accepts exactly those (kSpec error otherwise).
std::string_view key_type_name(KeyType type);
Result<KeyType> parse_key_type(std::string_view name);

// A public key (Ed25519 or ECDSA P-256). Copies share the OpenSSL object (up_ref).
class PublicKey {
 public:
  // Parses a PEM SubjectPublicKeyInfo ("-----BEGIN PUBLIC KEY-----"). Errors (kSpec) say
  // why: not PEM, or a key type other than Ed25519 / ECDSA P-256.
  static Result<PublicKey> from_pem(std::string_view pem);

  PublicKey(const PublicKey& other);
  PublicKey& operator=(const PublicKey& other);
  PublicKey(PublicKey&&) noexcept = default;
  PublicKey& operator=(PublicKey&&) noexcept = default;

  KeyType type() const { return type_; }
  // DSSE keyid: lowercase hex SHA-256 of the DER SubjectPublicKeyInfo.
  std::string keyid() const;
  std::string to_pem() const;
  // True iff `signature` is a valid signature of `message`: Ed25519 (pure), or ECDSA over
  // SHA-256 with the signature DER-encoded or raw r||s (64 bytes), as DSSE tools differ.
  bool verify(std::string_view message, std::string_view signature) const;

 private:
  friend class PrivateKey;
  PublicKey(EvpPkey key, KeyType type) : key_(std::move(key)), type_(type) {}
  EvpPkey key_;
  KeyType type_;
};

// A private key for signing. Copies share the OpenSSL object (up_ref).
class PrivateKey {
 public:
  // Parses an unencrypted PEM private key (PKCS#8 "PRIVATE KEY" or "EC PRIVATE KEY").
  // Encrypted keys are refused rather than prompting for a passphrase.
  static Result<PrivateKey> from_pem(std::string_view pem);
  // A fresh key from OpenSSL's CSPRNG.
  static Result<PrivateKey> generate(KeyType type);

  KeyType type() const { return type_; }
  // Unencrypted PKCS#8 PEM, as `openssl genpkey` writes it.
  Result<std::string> to_pem() const;
  Result<PublicKey> public_key() const;
  // Ed25519 signs `message` directly (one-shot EVP_DigestSign); ECDSA signs its SHA-256 and
  // returns the DER-encoded signature. Ed25519 is deterministic; ECDSA in OpenSSL 3.0 is not.
  Result<std::string> sign(std::string_view message) const;

  PrivateKey(const PrivateKey& other);
  PrivateKey& operator=(const PrivateKey& other);
  PrivateKey(PrivateKey&&) noexcept = default;
  PrivateKey& operator=(PrivateKey&&) noexcept = default;

 private:
  PrivateKey(EvpPkey key, KeyType type) : key_(std::move(key)), type_(type) {}
  EvpPkey key_;
  KeyType type_;
};

}  // namespace strata::attest
