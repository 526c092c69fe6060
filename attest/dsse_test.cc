#include "attest/dsse.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "builder/base/base64.h"
#include "builder/base/digest.h"
#include "builder/base/json.h"

namespace strata::attest {
namespace {

// RFC 8032 §7.1 TEST 1 (https://www.rfc-editor.org/rfc/rfc8032#section-7.1): a published,
// test-only Ed25519 key.
constexpr char kRfc8032Private[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    "-----END PRIVATE KEY-----\n";
constexpr char kRfc8032Public[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
    "-----END PUBLIC KEY-----\n";

// A 1060-byte Statement whose envelope under that key was computed independently (Python
// `cryptography`, Ed25519 over the DSSE PAE): the vector the expected bytes below come from.
constexpr char kVectorStatement[] =
    R"({"_type":"https://in-toto.io/Statement/v1","predicate":{"buildDefinition":{"buildType":")"
    R"(https://example.com/buildtypes/oci-image/v1","externalParameters":{"platform":"linux/amd)"
    R"(64","recipe":"image.toml","source":"git+https://example.com/hello.git@refs/tags/v1.0.0"})"
    R"(,"internalParameters":{"SOURCE_DATE_EPOCH":"1700000000"},"resolvedDependencies":[{"diges)"
    R"(t":{"gitCommit":"7fd1a60b01f91b314f59955a4e4d4e80d8edf11d"},"uri":"git+https://example.c)"
    R"(om/hello.git@refs/tags/v1.0.0"}]},"runDetails":{"builder":{"id":"https://example.com/bui)"
    R"(lders/hermetic@v1","version":{"example-builder":"0.1.0"}},"byproducts":[{"digest":{"sha2)"
    R"(56":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},"mediaType":"tex)"
    R"(t/plain","name":"build.log"}],"metadata":{"finishedOn":"2023-11-14T22:13:20Z","invocatio)"
    R"(nId":"urn:uuid:a4f4705f-2a7d-5fab-a5e0-04683f9ab8f3","startedOn":"2023-11-14T22:13:20Z"})"
    R"(}},"predicateType":"https://slsa.dev/provenance/v1","subject":[{"digest":{"sha256":"f2ed)"
    R"(ef841255261b7b19f714d6090470c9dff961dee851b079c03706ac3a3026"},"name":"example.com/hello)"
    R"("}]})";

TEST(Pae, MatchesTheDsseSpecExample) {
  EXPECT_EQ(pae("http://example.com/HelloWorld", "hello world"),
            "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
  EXPECT_EQ(pae("", ""), "DSSEv1 0  0 ");
}

TEST(Dsse, Ed25519SignatureMatchesTheStandardsVector) {
  auto key = PrivateKey::from_pem(kRfc8032Private);
  ASSERT_TRUE(key.ok()) << key.error().to_string();
  std::string statement = kVectorStatement;
  ASSERT_EQ(statement.size(), 1060u);
  EXPECT_EQ(sha256_of(pae(kInTotoPayloadType, statement)).hex,
            "39a12326f3fed2cc334dd6e09b2fd8b7ca5eeb0883587ef870e77dbf686ec933");
  auto envelope = sign_envelope(kInTotoPayloadType, statement, *key);
  ASSERT_TRUE(envelope.ok()) << envelope.error().to_string();
  Json e = *parse_json(*envelope, "envelope");
  EXPECT_EQ(e["payloadType"], kInTotoPayloadType);
  EXPECT_EQ(base64_decode(e["payload"].get<std::string>()), statement);
  ASSERT_EQ(e["signatures"].size(), 1u);
  EXPECT_EQ(
      e["signatures"][0]["sig"],
      "5Y1SQy053CuTryz9RBEEKyUUlnjVmfWWQgmZ3mBe3qkl2WEHp5GLdyFhH2G+u87KqIL6pWHv74xnO3S2Iy2dAg==");
  EXPECT_EQ(e["signatures"][0]["keyid"],
            "06e3fd8fda29bb60ab59557de61edb0aecdb231134be30e75b455f8e1b792fa9");
  // Deterministic: signing again gives the same bytes.
  EXPECT_EQ(*sign_envelope(kInTotoPayloadType, statement, *key), *envelope);
}

class DsseVerify : public ::testing::TestWithParam<KeyType> {
 protected:
  void SetUp() override {
    auto k = PrivateKey::generate(GetParam());
    ASSERT_TRUE(k.ok());
    key_ = std::make_unique<PrivateKey>(*std::move(k));
    pub_ = std::make_unique<PublicKey>(*key_->public_key());
    auto e = sign_envelope(kInTotoPayloadType, R"({"a":1})", *key_);
    ASSERT_TRUE(e.ok());
    envelope_ = *parse_json(*e, "envelope");
  }
  Result<VerifiedEnvelope> verify(const Json& envelope) {
    return verify_envelope(*canonical_json(envelope), *pub_, kInTotoPayloadType);
  }
  std::unique_ptr<PrivateKey> key_;
  std::unique_ptr<PublicKey> pub_;
  Json envelope_;
};

TEST_P(DsseVerify, AcceptsItsOwnEnvelope) {
  auto v = verify(envelope_);
  ASSERT_TRUE(v.ok()) << v.error().to_string();
  EXPECT_EQ(v->payload, R"({"a":1})");
  EXPECT_EQ(v->keyid, pub_->keyid());
}

TEST_P(DsseVerify, RejectsAChangedPayloadByte) {
  envelope_["payload"] = base64_encode(R"({"a":2})");
  auto v = verify(envelope_);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code(), ErrorCode::kVerification);
  EXPECT_TRUE(
      v.error().message().starts_with("signature check failed: no signature in the "
                                      "envelope verifies with the "))
      << v.error().message();
}

TEST_P(DsseVerify, RejectsAChangedSignatureByte) {
  std::string sig = *base64_decode(envelope_["signatures"][0]["sig"].get<std::string>());
  sig[sig.size() / 2] ^= 1;
  envelope_["signatures"][0]["sig"] = base64_encode(sig);
  auto v = verify(envelope_);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code(), ErrorCode::kVerification);
  EXPECT_EQ(v.error().message(),
            fmt::format("signature check failed: no signature in the envelope verifies with the "
                        "{} key {} (wrong key, or the payload, payloadType or signature was "
                        "changed)",
                        key_type_name(GetParam()), pub_->keyid()));
}

TEST_P(DsseVerify, RejectsAnotherKey) {
  auto other = PrivateKey::generate(GetParam());
  ASSERT_TRUE(other.ok());
  auto v = verify_envelope(*canonical_json(envelope_), *other->public_key(), kInTotoPayloadType);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.error().message().find(other->public_key()->keyid()), std::string::npos);
}

TEST_P(DsseVerify, ReportsAChangedPayloadTypeEvenWhenUnsigned) {
  envelope_["payloadType"] = "application/json";
  auto v = verify(envelope_);
  ASSERT_FALSE(v.ok());
  EXPECT_TRUE(v.error().message().ends_with(
      "; payloadType is 'application/json', expected 'application/vnd.in-toto+json'"))
      << v.error().message();
}

TEST_P(DsseVerify, RejectsASignedButUnexpectedPayloadType) {
  auto e = sign_envelope("application/json", R"({"a":1})", *key_);
  ASSERT_TRUE(e.ok());
  auto v = verify_envelope(*e, *pub_, kInTotoPayloadType);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().message(),
            "payloadType check failed: expected 'application/vnd.in-toto+json', got "
            "'application/json'");
}

TEST_P(DsseVerify, AcceptsUrlSafeUnpaddedBase64) {
  for (const char* field : {"payload"}) {
    std::string text = envelope_[field].get<std::string>();
    while (text.ends_with('=')) text.pop_back();
    for (char& c : text) c = c == '+' ? '-' : c == '/' ? '_' : c;
    envelope_[field] = text;
  }
  EXPECT_TRUE(verify(envelope_).ok());
}

INSTANTIATE_TEST_SUITE_P(Keys, DsseVerify,
                         ::testing::Values(KeyType::kEd25519, KeyType::kEcdsaP256),
                         [](const ::testing::TestParamInfo<KeyType>& p) {
                           return p.param == KeyType::kEd25519 ? "Ed25519" : "EcdsaP256";
                         });

TEST(Dsse, MalformedEnvelopesSayWhatIsWrong) {
  auto pub = PublicKey::from_pem(kRfc8032Public);
  ASSERT_TRUE(pub.ok());
  auto v = verify_envelope("{\"payload\":1}", *pub, kInTotoPayloadType);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().message(),
            "malformed DSSE envelope: payload and payloadType must be strings");
  v = verify_envelope(R"({"payload":"!!","payloadType":"x","signatures":[]})", *pub, "x");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().message(), "malformed DSSE envelope: payload is not base64");
  v = verify_envelope("not json", *pub, "x");
  ASSERT_FALSE(v.ok());
  EXPECT_TRUE(v.error().message().starts_with("malformed DSSE envelope: ")) << v.error().message();
}

}  // namespace
}  // namespace strata::attest
