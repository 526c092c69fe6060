// The statement of a registry cache entry (registry_cache.h): its config is a DSSE envelope
// of an in-toto statement. A package entry's predicate binds the package, the cache key and
// its preimage, and its subjects are the output tree ("package-output") and the layer
// ("layer"). A layer entry's predicate binds the layer cache key and what it is made of, and
// its subjects are the uncompressed tar ("diff-id") and the blob ("layer"). A layer
// inputs entry's predicate binds the input key, its preimage and the tar's size, with the
// same subjects.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "attest/openssl.h"
#include "builder/base/json.h"
#include "builder/base/result.h"

namespace strata::builder::registry_cache {

inline constexpr char kEntryPredicateType[] = "https://strata.dev/cache-entry/v1";
inline constexpr char kLayerEntryPredicateType[] = "https://strata.dev/layer-cache-entry/v1";
inline constexpr char kEntryArtifactType[] = "application/vnd.strata.package-output.v1";
inline constexpr char kLayerEntryArtifactType[] = "application/vnd.strata.layer-blob.v1";
inline constexpr char kInputEntryPredicateType[] = "https://strata.dev/layer-inputs-entry/v1";
inline constexpr char kInputEntryArtifactType[] = "application/vnd.strata.layer-inputs.v1";

// What an entry's kind fixes: its tag ("p-<key hex>", "l-<key hex>"), its manifest's
// artifactType, its statement's predicateType and the subject naming its content (the
// package output tree, the layer's DiffID).
struct EntryKind {
  std::string_view tag_prefix;
  std::string_view artifact_type;
  std::string_view predicate_type;
  std::string_view content_subject;
  std::string_view noun;  // "cache entry", "layer entry": in messages
};
inline constexpr EntryKind kPackageEntry{"p-", kEntryArtifactType, kEntryPredicateType,
                                         "package-output", "cache entry"};
inline constexpr EntryKind kLayerEntry{"l-", kLayerEntryArtifactType, kLayerEntryPredicateType,
                                       "diff-id", "layer entry"};
// A layer found by its input key (builder/layer/layer_inputs.h), tagged i-<key hex>: the
// same blob as its l- entry, under a statement binding the inputs' preimage to its DiffID.
inline constexpr EntryKind kInputEntry{"i-", kInputEntryArtifactType, kInputEntryPredicateType,
                                       "diff-id", "layer inputs entry"};

// The statement in `envelope`: its payload verified by one of `keys` (with `accept_unsigned`,
// decoded without a check), parsed, and of `kind`'s predicateType. An error's message says why
// the entry cannot be used, as a warning completes it ("it is not signed", "it is not signed
// by a trusted key (...)", ...).
Result<Json> entry_statement(const std::string& envelope,
                             const std::vector<attest::PublicKey>& keys, bool accept_unsigned,
                             const EntryKind& kind = kPackageEntry);

// The sha256 hex of the statement's subject `name`; "" when it has none.
std::string sha256_subject(const Json& statement, const std::string& name);

}  // namespace strata::builder::registry_cache
