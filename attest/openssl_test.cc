#include "attest/openssl.h"

#include <gtest/gtest.h>
#include <openssl/ecdsa.h>
#include <openssl/pem.h>

#include "builder/base/base64.h"
#include "builder/base/digest.h"

namespace strata::attest {
namespace {

constexpr char kRfc8032Public[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
    "-----END PUBLIC KEY-----\n";

TEST(Keys, KeyidIsTheSha256OfTheDerSubjectPublicKeyInfo) {
  auto pub = PublicKey::from_pem(kRfc8032Public);
  ASSERT_TRUE(pub.ok()) << pub.error().to_string();
  EXPECT_EQ(pub->type(), KeyType::kEd25519);
  EXPECT_EQ(
      pub->keyid(),
      sha256_of(*base64_decode("MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="))
          .hex);
  EXPECT_EQ(pub->to_pem(), kRfc8032Public);
}

class KeyRoundTrip : public ::testing::TestWithParam<KeyType> {};

TEST_P(KeyRoundTrip, GeneratedKeysSurvivePemAndSignAndVerify) {
  auto key = PrivateKey::generate(GetParam());
  ASSERT_TRUE(key.ok()) << key.error().to_string();
  auto pem = key->to_pem();
  ASSERT_TRUE(pem.ok());
  EXPECT_TRUE(pem->starts_with("-----BEGIN PRIVATE KEY-----\n")) << *pem;
  auto again = PrivateKey::from_pem(*pem);
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_EQ(again->type(), GetParam());
  auto pub = PublicKey::from_pem(again->public_key()->to_pem());
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(pub->keyid(), key->public_key()->keyid());
  auto sig = again->sign("message");
  ASSERT_TRUE(sig.ok());
  EXPECT_TRUE(pub->verify("message", *sig));
  EXPECT_FALSE(pub->verify("messagE", *sig));
  PrivateKey copy = *again;  // copies share the key
  EXPECT_TRUE(pub->verify("x", *copy.sign("x")));
}

INSTANTIATE_TEST_SUITE_P(Types, KeyRoundTrip,
                         ::testing::Values(KeyType::kEd25519, KeyType::kEcdsaP256));

TEST(Keys, EcdsaAcceptsRawRAndS) {
  auto key = PrivateKey::generate(KeyType::kEcdsaP256);
  ASSERT_TRUE(key.ok());
  std::string der = *key->sign("m");
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  ASSERT_NE(sig, nullptr);
  std::string raw(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), reinterpret_cast<unsigned char*>(raw.data()), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
  ECDSA_SIG_free(sig);
  EXPECT_TRUE(key->public_key()->verify("m", raw));
  raw[5] ^= 1;
  EXPECT_FALSE(key->public_key()->verify("m", raw));
}

TEST(Keys, RefusesOtherKeyTypesAndFormats) {
  EVP_PKEY* p384 = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
  ASSERT_NE(p384, nullptr);
  Bio bio(BIO_new(BIO_s_mem()));
  ASSERT_EQ(PEM_write_bio_PrivateKey(bio.get(), p384, nullptr, nullptr, 0, nullptr, nullptr), 1);
  EVP_PKEY_free(p384);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  auto key = PrivateKey::from_pem(std::string(data, static_cast<size_t>(size)));
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().message(),
            "unsupported EC curve 'secp384r1': strata signs with Ed25519 or ECDSA P-256");

  auto junk = PrivateKey::from_pem("hello");
  ASSERT_FALSE(junk.ok());
  EXPECT_EQ(junk.error().code(), ErrorCode::kSpec);
  auto encrypted = PrivateKey::from_pem("-----BEGIN ENCRYPTED PRIVATE KEY-----\n...");
  ASSERT_FALSE(encrypted.ok());
  EXPECT_TRUE(encrypted.error().message().starts_with("encrypted private keys are not supported"));
  auto private_as_public =
      PublicKey::from_pem("-----BEGIN PRIVATE KEY-----\nMC4=\n-----END PRIVATE KEY-----\n");
  ASSERT_FALSE(private_as_public.ok());
  EXPECT_EQ(private_as_public.error().message(),
            "expected a public key (PEM 'PUBLIC KEY'), got a private key");
  ASSERT_FALSE(parse_key_type("rsa").ok());
  EXPECT_EQ(parse_key_type("rsa").error().message(),
            "unknown key type 'rsa': expected ed25519 or ecdsa-p256");
  EXPECT_EQ(*parse_key_type("ecdsa-p256"), KeyType::kEcdsaP256);
}

TEST(Base64, EncodesWithPaddingAndDecodesBothAlphabets) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("\xfb\xff"), "+/8=");
  EXPECT_EQ(base64_decode("+/8="), "\xfb\xff");
  EXPECT_EQ(base64_decode("-_8"), "\xfb\xff");
  EXPECT_EQ(base64_decode("Zg"), "f");
  EXPECT_EQ(base64_decode(""), "");
  EXPECT_FALSE(base64_decode("Z"));
  EXPECT_FALSE(base64_decode("Zm9v="));
  EXPECT_FALSE(base64_decode("Zh=="));  // non-zero leftover bits
  EXPECT_FALSE(base64_decode("Zm 9v"));
}

}  // namespace
}  // namespace strata::attest
