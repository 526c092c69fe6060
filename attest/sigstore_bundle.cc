// Sigstore bundles v0.3 around a key-signed DSSE envelope (sigstore_bundle.h). The field
// names are protobuf-specs' JSON names (lowerCamelCase); empty repeated fields (tlogEntries)
// are left out, as protobuf's JSON form leaves them.
#include "attest/sigstore_bundle.h"

#include <fmt/format.h>

#include "builder/base/json.h"

namespace strata::attest {
namespace {

Error malformed(std::string_view why) {
  return Error(ErrorCode::kVerification, fmt::format("malformed Sigstore bundle: {}", why));
}

}  // namespace

Result<std::string> make_sigstore_bundle(std::string_view envelope, const PublicKey& key) {
  STRATA_TRY_ASSIGN(Json e, parse_json(envelope, "DSSE envelope"));
  const Json& signatures = member(e, "signatures");
  if (!member(e, "payload").is_string() || !member(e, "payloadType").is_string() ||
      !signatures.is_array() || signatures.size() != 1) {
    return Error(ErrorCode::kInvalidInput,
                 "a Sigstore bundle holds a DSSE envelope with payload, payloadType and exactly "
                 "one signature");
  }
  Json bundle = {{"mediaType", kSigstoreBundleV03},
                 {"verificationMaterial", {{"publicKey", {{"hint", key.keyid()}}}}},
                 {"dsseEnvelope", std::move(e)}};
  return canonical_json(bundle);
}

Result<void> write_sigstore_bundle(std::string_view envelope, const PublicKey& key,
                                   TextSink& sink) {
  // Members in key order: dsseEnvelope < mediaType < verificationMaterial.
  CanonicalWriter out(sink);
  out.object({{"mediaType", kSigstoreBundleV03},
              {"verificationMaterial", {{"publicKey", {{"hint", key.keyid()}}}}}},
             {{"dsseEnvelope", [&](CanonicalWriter& w) { w.raw(envelope); }}});
  return out.finish();
}

bool is_sigstore_bundle(std::string_view text) {
  Result<Json> doc = parse_json(text, "bundle");
  if (!doc.ok() || !doc->is_object()) return false;
  const Json& type = member(*doc, "mediaType");
  return type.is_string() &&
         type.get_ref<const std::string&>().starts_with("application/vnd.dev.sigstore.bundle");
}

Result<BundleContents> read_sigstore_bundle(std::string_view bundle) {
  Result<Json> doc = parse_json(bundle, "Sigstore bundle");
  if (!doc.ok()) return malformed(doc.error().message());
  const Json& envelope = member(*doc, "dsseEnvelope");
  if (!envelope.is_object()) {
    return malformed(member(*doc, "messageSignature").is_object()
                         ? "it holds a message signature, not a DSSE envelope (an attestation)"
                         : "no dsseEnvelope");
  }
  BundleContents out{.media_type = string_member(*doc, "mediaType")};
  const Json& hint = member(member(member(*doc, "verificationMaterial"), "publicKey"), "hint");
  if (hint.is_string()) out.key_hint = hint.get<std::string>();
  STRATA_TRY_ASSIGN(out.envelope, canonical_json(envelope));
  return out;
}

}  // namespace strata::attest
