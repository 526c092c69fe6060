// Sigstore bundles v0.3 (https://github.com/sigstore/protobuf-specs, sigstore_bundle.proto,
// in its JSON form) around a DSSE envelope signed with a key: the public key named by a hint,
// no transparency-log entry and no timestamp (docs/signing.md "Sigstore bundles"). Bytes in,
// bytes out; no I/O.
#pragma once

#include <string>
#include <string_view>

#include "attest/openssl.h"
#include "builder/base/json.h"
#include "builder/base/result.h"

namespace strata::attest {

inline constexpr char kSigstoreBundleV03[] = "application/vnd.dev.sigstore.bundle.v0.3+json";

// The bundle holding `envelope` (a DSSE envelope from sign_envelope, one signature) as
// canonical JSON: {"mediaType", "verificationMaterial": {"publicKey": {"hint": KEYID}},
// "dsseEnvelope": {payload, payloadType, signatures: [{keyid, sig}]}}, KEYID being `key`'s
// keyid(). kInvalidInput when the envelope is malformed or has not exactly one signature
// (a bundle carries one).
Result<std::string> make_sigstore_bundle(std::string_view envelope, const PublicKey& key);
// The same bytes written to `sink` without reading `envelope` as a tree: it is copied in
// whole between the bundle's other members, so it must be canonical JSON with one signature,
// as sign_envelope writes it (not checked). For an envelope of a large statement (docs/
// provenance.md "Memory").
Result<void> write_sigstore_bundle(std::string_view envelope, const PublicKey& key, TextSink& sink);

// True when `text` is a JSON object whose mediaType names a Sigstore bundle (any version).
bool is_sigstore_bundle(std::string_view text);

// What a bundle holds: its DSSE envelope as canonical JSON, for verify_envelope, and the
// key hint (unauthenticated; empty when it names a certificate instead). kVerification
// naming what is missing when the bundle has no DSSE envelope or is malformed.
struct BundleContents {
  std::string media_type;
  std::string envelope;
  std::string key_hint;
};
Result<BundleContents> read_sigstore_bundle(std::string_view bundle);

}  // namespace strata::attest
