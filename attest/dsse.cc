#include "attest/dsse.h"

#include <fmt/format.h>

#include "builder/base/base64.h"
#include "builder/base/json.h"

namespace strata::attest {
namespace {

Error malformed(std::string_view why) {
  return Error(ErrorCode::kVerification, fmt::format("malformed DSSE envelope: {}", why));
}

Error failed(std::string message) { return Error(ErrorCode::kVerification, std::move(message)); }

}  // namespace

std::string pae(std::string_view payload_type, std::string_view payload) {
  return fmt::format("DSSEv1 {} {} {} {}", payload_type.size(), payload_type, payload.size(),
                     payload);
}

Result<std::string> sign_envelope(std::string_view payload_type, std::string_view payload,
                                  const PrivateKey& key) {
  STRATA_TRY_ASSIGN(std::string sig, key.sign(pae(payload_type, payload)));
  STRATA_TRY_ASSIGN(PublicKey pub, key.public_key());
  Json envelope = {{"payload", base64_encode(payload)},
                   {"payloadType", std::string(payload_type)},
                   {"signatures", {{{"keyid", pub.keyid()}, {"sig", base64_encode(sig)}}}}};
  return canonical_json(envelope);
}

Result<VerifiedEnvelope> verify_envelope(std::string_view envelope, const PublicKey& key,
                                         std::string_view expected_payload_type) {
  auto parsed = parse_json(envelope, "DSSE envelope");
  if (!parsed.ok()) return malformed(parsed.error().message());
  const Json& e = *parsed;
  if (!e.is_object() || !e.contains("payload") || !e["payload"].is_string() ||
      !e.contains("payloadType") || !e["payloadType"].is_string()) {
    return malformed("payload and payloadType must be strings");
  }
  if (!e.contains("signatures") || !e["signatures"].is_array()) {
    return malformed("signatures must be an array");
  }
  VerifiedEnvelope out{.payload_type = e["payloadType"].get<std::string>()};
  std::optional<std::string> payload = base64_decode(e["payload"].get<std::string>());
  if (!payload) return malformed("payload is not base64");
  out.payload = *std::move(payload);
  // The signature covers the payload type, so a changed type fails here already; it is
  // checked against the expected type only after, so the message names the real cause.
  bool verified = false;
  for (const Json& s : e["signatures"]) {
    if (!s.is_object() || !s.contains("sig") || !s["sig"].is_string()) {
      return malformed("every signature needs a string 'sig'");
    }
    std::optional<std::string> sig = base64_decode(s["sig"].get<std::string>());
    if (sig && key.verify(pae(out.payload_type, out.payload), *sig)) {
      out.keyid = s.contains("keyid") && s["keyid"].is_string() ? s["keyid"].get<std::string>()
                                                                : std::string();
      verified = true;
      break;
    }
  }
  if (!verified) {
    std::string type_note = out.payload_type == expected_payload_type
                                ? std::string()
                                : fmt::format("; payloadType is '{}', expected '{}'",
                                              out.payload_type, expected_payload_type);
    return failed(fmt::format(
        "signature check failed: no signature in the envelope verifies with the {} key {} "
        "(wrong key, or the payload, payloadType or signature was changed){}",
        key_type_name(key.type()), key.keyid(), type_note));
  }
  if (out.payload_type != expected_payload_type) {
    return failed(fmt::format("payloadType check failed: expected '{}', got '{}'",
                              expected_payload_type, out.payload_type));
  }
  return out;
}

}  // namespace strata::attest
