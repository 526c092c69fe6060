#include "attest/openssl.h"

#include <fmt/format.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <vector>

#include "builder/base/digest.h"

namespace strata::attest {
namespace {

struct EcdsaSigFree {
  void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};
using EcdsaSig = std::unique_ptr<ECDSA_SIG, EcdsaSigFree>;

Bio memory_bio(std::string_view data) {
  return Bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

std::string bio_contents(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  return size > 0 ? std::string(data, static_cast<size_t>(size)) : std::string();
}

// Never prompt on the terminal for a passphrase: library code reads no input (docs/style.md §1).
int refuse_passphrase(char*, int, int, void*) { return -1; }

Result<KeyType> key_type_of(EVP_PKEY* key) {
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519) return KeyType::kEd25519;
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC) {
    char group[64] = {};
    size_t len = 0;
    if (EVP_PKEY_get_group_name(key, group, sizeof group, &len) == 1 &&
        std::string_view(group, len) == "prime256v1") {
      return KeyType::kEcdsaP256;
    }
    return Error(ErrorCode::kSpec,
                 fmt::format("unsupported EC curve '{}': strata signs with Ed25519 or ECDSA P-256",
                             std::string_view(group, len)));
  }
  return Error(ErrorCode::kSpec, fmt::format("unsupported key type '{}': strata signs with "
                                             "Ed25519 or ECDSA P-256",
                                             OBJ_nid2sn(EVP_PKEY_get_base_id(key))));
}

EvpPkey share(const EvpPkey& key) {
  if (key) STRATA_CHECK(EVP_PKEY_up_ref(key.get()) == 1);
  return EvpPkey(key.get());
}

// DSSE implementations disagree on the ECDSA encoding (the spec's test vector uses raw r||s,
// cosign DER), so a 64-byte raw signature is re-encoded as DER before verifying.
std::string raw_ecdsa_to_der(std::string_view raw) {
  EcdsaSig sig(ECDSA_SIG_new());
  if (!sig) return {};
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  BIGNUM* r = BN_bin2bn(bytes, 32, nullptr);
  BIGNUM* s = BN_bin2bn(bytes + 32, 32, nullptr);
  if (!r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return {};
  }
  unsigned char* der = nullptr;
  int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0) return {};
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

bool verify_once(EVP_PKEY* key, KeyType type, std::string_view message, std::string_view sig) {
  EvpMdCtx ctx(EVP_MD_CTX_new());
  const EVP_MD* md = type == KeyType::kEd25519 ? nullptr : EVP_sha256();
  bool ok =
      ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, key) == 1 &&
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                       reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  ERR_clear_error();  // a bad signature queues errors we do not report
  return ok;
}

}  // namespace

Error openssl_error(std::string_view what, ErrorCode code) {
  unsigned long e = ERR_get_error();
  std::string reason = "failed";
  if (e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    reason = buf;
  }
  ERR_clear_error();
  return Error(code, fmt::format("{}: {}", what, reason));
}

std::string openssl_version() { return OpenSSL_version(OPENSSL_VERSION_STRING); }

std::string_view key_type_name(KeyType type) {
  return type == KeyType::kEd25519 ? "ed25519" : "ecdsa-p256";
}

Result<KeyType> parse_key_type(std::string_view name) {
  if (name == "ed25519") return KeyType::kEd25519;
  if (name == "ecdsa-p256") return KeyType::kEcdsaP256;
  return Error(ErrorCode::kSpec,
               fmt::format("unknown key type '{}': expected ed25519 or ecdsa-p256", name));
}

Result<PublicKey> PublicKey::from_pem(std::string_view pem) {
  Bio bio = memory_bio(pem);
  EvpPkey key(bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, refuse_passphrase, nullptr) : nullptr);
  if (!key) {
    ERR_clear_error();
    if (pem.find("PRIVATE KEY-----") != std::string_view::npos) {
      return Error(ErrorCode::kSpec, "expected a public key (PEM 'PUBLIC KEY'), got a private key");
    }
    return Error(ErrorCode::kSpec, "not a PEM public key (expected '-----BEGIN PUBLIC KEY-----')");
  }
  STRATA_TRY_ASSIGN(KeyType type, key_type_of(key.get()));
  return PublicKey(std::move(key), type);
}

PublicKey::PublicKey(const PublicKey& other) : key_(share(other.key_)), type_(other.type_) {}

PublicKey& PublicKey::operator=(const PublicKey& other) {
  if (this != &other) {
    key_ = share(other.key_);
    type_ = other.type_;
  }
  return *this;
}

std::string PublicKey::keyid() const {
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(key_.get(), &der);
  STRATA_CHECK(len > 0);
  std::string bytes(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return sha256_of(bytes).hex;
}

std::string PublicKey::to_pem() const {
  Bio bio(BIO_new(BIO_s_mem()));
  STRATA_CHECK(bio && PEM_write_bio_PUBKEY(bio.get(), key_.get()) == 1);
  return bio_contents(bio.get());
}

bool PublicKey::verify(std::string_view message, std::string_view signature) const {
  if (verify_once(key_.get(), type_, message, signature)) return true;
  if (type_ == KeyType::kEcdsaP256 && signature.size() == 64) {
    std::string der = raw_ecdsa_to_der(signature);
    return !der.empty() && verify_once(key_.get(), type_, message, der);
  }
  return false;
}

Result<PrivateKey> PrivateKey::from_pem(std::string_view pem) {
  if (pem.find("ENCRYPTED") != std::string_view::npos) {
    return Error(ErrorCode::kSpec,
                 "encrypted private keys are not supported: decrypt it with "
                 "'openssl pkey -in KEY -out PLAIN.pem' and keep that file private");
  }
  Bio bio = memory_bio(pem);
  EvpPkey key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, refuse_passphrase, nullptr)
                  : nullptr);
  if (!key) {
    ERR_clear_error();
    return Error(ErrorCode::kSpec,
                 "not a PEM private key (expected '-----BEGIN PRIVATE KEY-----' or "
                 "'-----BEGIN EC PRIVATE KEY-----')");
  }
  STRATA_TRY_ASSIGN(KeyType type, key_type_of(key.get()));
  return PrivateKey(std::move(key), type);
}

Result<PrivateKey> PrivateKey::generate(KeyType type) {
  EVP_PKEY* raw = type == KeyType::kEd25519 ? EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")
                                            : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (!raw) return openssl_error(fmt::format("generating an {} key", key_type_name(type)));
  return PrivateKey(EvpPkey(raw), type);
}

PrivateKey::PrivateKey(const PrivateKey& other) : key_(share(other.key_)), type_(other.type_) {}

PrivateKey& PrivateKey::operator=(const PrivateKey& other) {
  if (this != &other) {
    key_ = share(other.key_);
    type_ = other.type_;
  }
  return *this;
}

Result<std::string> PrivateKey::to_pem() const {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return openssl_error("encoding the private key as PEM");
  }
  return bio_contents(bio.get());
}

Result<PublicKey> PrivateKey::public_key() const {
  // Round-trip through DER SubjectPublicKeyInfo: the result holds no private material.
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(key_.get(), &der);
  if (len <= 0) return openssl_error("encoding the public key");
  const unsigned char* p = der;
  EvpPkey pub(d2i_PUBKEY(nullptr, &p, len));
  OPENSSL_free(der);
  if (!pub) return openssl_error("decoding the public key");
  return PublicKey(std::move(pub), type_);
}

Result<std::string> PrivateKey::sign(std::string_view message) const {
  EvpMdCtx ctx(EVP_MD_CTX_new());
  // Ed25519 is "pure": no separate digest, and only the one-shot EVP_DigestSign works.
  const EVP_MD* md = type_ == KeyType::kEd25519 ? nullptr : EVP_sha256();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key_.get()) != 1) {
    return openssl_error("starting the signature");
  }
  const auto* msg = reinterpret_cast<const unsigned char*>(message.data());
  size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, msg, message.size()) != 1) {
    return openssl_error("sizing the signature");
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, msg,
                     message.size()) != 1) {
    return openssl_error("signing");
  }
  sig.resize(len);
  return sig;
}

}  // namespace strata::attest
