// DSSE v1 envelopes (https://github.com/secure-systems-lab/dsse/blob/master/envelope.md and
// protocol.md): the pre-authentication encoding, signing a payload
// into an envelope, and verifying one against a public key. Bytes in, bytes out; no I/O.
#pragma once

#include <string>
#include <string_view>

#include "attest/openssl.h"
#include "builder/base/result.h"

namespace strata::attest {

inline constexpr char kInTotoPayloadType[] = "application/vnd.in-toto+json";

// PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body; LEN in ASCII decimal.
std::string pae(std::string_view payload_type, std::string_view payload);

// The envelope {"payload", "payloadType", "signatures": [{"keyid", "sig"}]} as canonical JSON,
// signed over PAE with `key`; keyid is the SHA-256 of the key's DER SubjectPublicKeyInfo.
Result<std::string> sign_envelope(std::string_view payload_type, std::string_view payload,
                                  const PrivateKey& key);

// What a verified envelope carried: the payload bytes exactly as signed.
struct VerifiedEnvelope {
  std::string payload_type;
  std::string payload;
  std::string keyid;  // of the signature that verified (an unauthenticated hint)
};

// Parses `envelope` and checks that some signature verifies over PAE(payloadType, payload)
// with `key`, and that payloadType is `expected_payload_type`. Errors (kVerification, for a
// failed check or a malformed envelope) name the check that failed.
Result<VerifiedEnvelope> verify_envelope(std::string_view envelope, const PublicKey& key,
                                         std::string_view expected_payload_type);

}  // namespace strata::attest
