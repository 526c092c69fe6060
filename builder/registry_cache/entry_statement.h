// The statement of a registry cache entry (registry_cache.h): its config is a DSSE envelope
// of an in-toto statement whose predicate binds the package, the cache key and its preimage,
// and whose subjects are the output tree ("package-output") and the layer ("layer").
#pragma once

#include <string>
#include <vector>

#include "attest/openssl.h"
#include "builder/base/json.h"
#include "builder/base/result.h"

namespace strata::builder::registry_cache {

inline constexpr char kEntryPredicateType[] = "https://strata.dev/cache-entry/v1";

// The statement in `envelope`: its payload verified by one of `keys` (with `accept_unsigned`,
// decoded without a check), parsed, and of kEntryPredicateType. An error's message says why
// the entry cannot be used, as a warning completes it ("it is not signed", "it is not signed
// by a trusted key (...)", ...).
Result<Json> entry_statement(const std::string& envelope,
                             const std::vector<attest::PublicKey>& keys, bool accept_unsigned);

// The sha256 hex of the statement's subject `name`; "" when it has none.
std::string sha256_subject(const Json& statement, const std::string& name);

}  // namespace strata::builder::registry_cache
