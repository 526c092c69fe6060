#include "builder/registry_cache/entry_statement.h"

#include <fmt/format.h>

#include "attest/dsse.h"
#include "builder/base/base64.h"

namespace strata::builder::registry_cache {

Result<Json> entry_statement(const std::string& envelope,
                             const std::vector<attest::PublicKey>& keys, bool accept_unsigned,
                             const EntryKind& kind) {
  auto unusable = [](std::string why) { return Error(ErrorCode::kVerification, std::move(why)); };
  std::string payload;
  if (!accept_unsigned) {
    std::string last_error = "no --cache-trust key";
    for (const attest::PublicKey& k : keys) {
      Result<attest::VerifiedEnvelope> v =
          attest::verify_envelope(envelope, k, attest::kInTotoPayloadType);
      if (v.ok()) {
        payload = std::move(v->payload);
        break;
      }
      last_error = v.error().message();
    }
    if (payload.empty()) {
      Result<Json> doc = parse_json(envelope, "envelope");
      bool unsigned_entry = doc.ok() && member(*doc, "signatures").empty();
      return unusable(unsigned_entry ? std::string("it is not signed")
                                     : "it is not signed by a trusted key (" + last_error + ")");
    }
  } else {
    Result<Json> doc = parse_json(envelope, "envelope");
    std::optional<std::string> decoded;
    if (doc.ok()) decoded = base64_decode(string_member(*doc, "payload"));
    if (!decoded) return unusable("its config is not a DSSE envelope");
    payload = std::move(*decoded);
  }
  Result<Json> statement = parse_json(payload, "statement");
  if (!statement.ok() || string_member(*statement, "predicateType") != kind.predicate_type) {
    return unusable(fmt::format("its statement is not a strata {}", kind.noun));
  }
  return statement;
}

std::string sha256_subject(const Json& statement, const std::string& name) {
  for (const Json& s : member(statement, "subject")) {
    if (string_member(s, "name") == name) return string_member(member(s, "digest"), "sha256");
  }
  return "";
}

}  // namespace strata::builder::registry_cache
