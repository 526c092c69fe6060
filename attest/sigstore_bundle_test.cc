// Sigstore bundles around a DSSE envelope (attest/sigstore_bundle.h).
#include "attest/sigstore_bundle.h"

#include <gtest/gtest.h>

#include "attest/dsse.h"
#include "builder/base/json.h"

namespace strata::attest {
namespace {

constexpr char kStatement[] = R"({"_type":"https://in-toto.io/Statement/v1"})";

class SigstoreBundle : public ::testing::TestWithParam<KeyType> {};

TEST_P(SigstoreBundle, HoldsTheEnvelopeAndTheKeyHint) {
  PrivateKey key = *PrivateKey::generate(GetParam());
  PublicKey pub = *key.public_key();
  std::string envelope = *sign_envelope(kInTotoPayloadType, kStatement, key);
  Result<std::string> bundle = make_sigstore_bundle(envelope, pub);
  ASSERT_TRUE(bundle.ok()) << bundle.error().to_string();
  Json b = *parse_json(*bundle, "bundle");
  EXPECT_EQ(b["mediaType"], "application/vnd.dev.sigstore.bundle.v0.3+json");
  EXPECT_EQ(b["verificationMaterial"], Json({{"publicKey", {{"hint", pub.keyid()}}}}))
      << "no tlogEntries, no timestamps, no certificate";
  EXPECT_EQ(*canonical_json(b["dsseEnvelope"]), envelope);
  EXPECT_EQ(*canonical_json(b), *bundle);
  StringSink streamed;
  ASSERT_TRUE(write_sigstore_bundle(envelope, pub, streamed).ok());
  EXPECT_EQ(streamed.text(), *bundle) << "written without parsing: the same bytes";

  EXPECT_TRUE(is_sigstore_bundle(*bundle));
  EXPECT_FALSE(is_sigstore_bundle(envelope));
  EXPECT_FALSE(is_sigstore_bundle("not json"));
  Result<BundleContents> read = read_sigstore_bundle(*bundle);
  ASSERT_TRUE(read.ok()) << read.error().to_string();
  EXPECT_EQ(read->media_type, kSigstoreBundleV03);
  EXPECT_EQ(read->envelope, envelope);
  EXPECT_EQ(read->key_hint, pub.keyid());
  EXPECT_TRUE(verify_envelope(read->envelope, pub, kInTotoPayloadType).ok());
}

INSTANTIATE_TEST_SUITE_P(KeyTypes, SigstoreBundle,
                         ::testing::Values(KeyType::kEd25519, KeyType::kEcdsaP256));

TEST(SigstoreBundleErrors, OneSignatureAndADsseEnvelope) {
  PrivateKey key = *PrivateKey::generate(KeyType::kEd25519);
  PublicKey pub = *key.public_key();
  Json e = *parse_json(*sign_envelope(kInTotoPayloadType, kStatement, key), "e");
  e["signatures"].push_back(e["signatures"][0]);
  Result<std::string> two = make_sigstore_bundle(*canonical_json(e), pub);
  ASSERT_FALSE(two.ok());
  EXPECT_EQ(two.error().message(),
            "a Sigstore bundle holds a DSSE envelope with payload, payloadType and exactly one "
            "signature");

  Result<BundleContents> message = read_sigstore_bundle(
      R"({"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","messageSignature":{}})");
  ASSERT_FALSE(message.ok());
  EXPECT_EQ(message.error().code(), ErrorCode::kVerification);
  EXPECT_EQ(message.error().message(),
            "malformed Sigstore bundle: it holds a message signature, not a DSSE envelope (an "
            "attestation)");
  EXPECT_EQ(read_sigstore_bundle(R"({"mediaType":"x"})").error().message(),
            "malformed Sigstore bundle: no dsseEnvelope");
}

}  // namespace
}  // namespace strata::attest
