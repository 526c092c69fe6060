// OCI 1.1 referrers (docs/registries.md "Referrers"): the artifacts (provenance, DSSE
// envelope, SBOM) whose `subject` is an image manifest. Read from the referrers API
// (GET /v2/NAME/referrers/DIGEST, `Link` pagination, `artifactType` filtered by strata when
// the registry did not say OCI-Filters-Applied), else from the referrers tag schema: an
// index tagged `sha256-<hex>` that clients maintain on registries without the API
// (distribution-spec v1.1 "Backwards Compatibility"). Written to that tag when a manifest
// PUT was not answered with OCI-Subject.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "builder/base/digest.h"
#include "builder/base/json.h"
#include "builder/oci/image_config.h"
#include "builder/registry/client.h"
#include "specs/registry_ref.h"

namespace strata::builder::registry {

// One entry of a referrers list: an artifact manifest's descriptor with its artifactType
// and the manifest's annotations.
struct Referrer {
  oci::Descriptor manifest;
  std::string artifact_type;
  Json annotations = Json::object();
  Json to_json() const;
};

struct ReferrersList {
  std::vector<Referrer> referrers;  // sorted by digest, each digest once
  bool from_api = false;            // false: the tag schema (or none at all)
};

// The fallback tag for `subject`: "sha256-<hex>".
std::string referrers_tag(const Digest& subject);

// The referrers of `subject` in ref's repository, filtered by `artifact_type` when it is
// set. At most 100 pages; every page at most 4 MiB; entries that are not valid descriptors
// are an error naming the registry.
Result<ReferrersList> list_referrers(RegistryClient& client, const specs::RegistryRef& ref,
                                     const Digest& subject, const std::string& artifact_type = "");

// Adds `add` to the tag-schema index of `subject`: read it (404: empty), add each entry not
// already there (by digest), sort by digest, write it back, wait `settle_ms` and read it
// again; when another writer's update replaced ours, merge and write again, at most
// `attempts` times. Nothing is written when every entry is already listed. Returns the
// number of entries added.
struct TagUpdateOptions {
  int attempts = 5;
  int64_t settle_ms = 300;  // the wait before the re-read, randomised up to twice this
};
Result<int> add_to_referrers_tag(RegistryClient& client, const specs::RegistryRef& ref,
                                 const Digest& subject, const std::vector<Referrer>& add,
                                 const TagUpdateOptions& options = {});

// A small blob (a config, an artifact's file) fetched into memory: at most d.size bytes,
// then its size and digest checked (kDigestMismatch naming both). `what` names it in errors.
Result<std::string> fetch_blob(RegistryClient& client, const specs::RegistryRef& ref,
                               const oci::Descriptor& d, const std::string& what);

// An artifact fetched by digest and verified: its manifest (whose `subject` must be the
// image), its config and its one layer (the file: a provenance, an envelope, an SBOM), the
// layer at most `max_bytes`, the config at most 4 MiB.
struct ArtifactBlob {
  std::string artifact_type;
  oci::Descriptor manifest_descriptor;
  std::string manifest_bytes;
  Json manifest;
  oci::Descriptor config;
  std::string config_bytes;
  oci::Descriptor layer;
  std::string bytes;
};
Result<ArtifactBlob> fetch_artifact(RegistryClient& client, const specs::RegistryRef& ref,
                                    const Referrer& referrer, const Digest& subject,
                                    int64_t max_bytes = 64 << 20);

// Every artifact of `subject` (at most 100), for `strata pull`: one that is not a
// one-layer artifact manifest is skipped with a warning; one whose bytes do not verify is
// an error.
Result<std::vector<ArtifactBlob>> fetch_artifacts(
    RegistryClient& client, const specs::RegistryRef& ref, const Digest& subject,
    const std::function<void(const std::string&)>& warn);

// The image's provenance among its referrers: the DSSE envelope
// (application/vnd.in-toto.provenance+dsse) or the plain statement
// (application/vnd.in-toto+json), the envelope first when `prefer_envelope`, else the
// statement first. An error lists the artifact types the registry has when neither is there.
Result<ArtifactBlob> fetch_provenance(RegistryClient& client, const specs::RegistryRef& ref,
                                      const Digest& subject, bool prefer_envelope);

}  // namespace strata::builder::registry
