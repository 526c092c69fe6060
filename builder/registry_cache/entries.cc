// Listing a registry cache's entries: for `strata cache prune --registry` (every entry, of
// packages and of layers) and for `--explain-cache` (a package's entries under other keys,
// with their preimages).
#include <fmt/format.h>

#include <algorithm>

#include "builder/base/time.h"
#include "builder/oci/image_reader.h"
#include "builder/oci/media_types.h"
#include "builder/registry/pull.h"
#include "builder/registry/referrers.h"
#include "builder/registry_cache/entry_statement.h"
#include "builder/registry_cache/registry_cache.h"

namespace strata::builder::registry_cache {

Result<std::vector<std::string>> list_entry_tags(registry::RegistryClient& client,
                                                 const specs::RegistryRef& repo) {
  constexpr size_t kMaxTags = 100'000;
  std::string what = fmt::format("docker://{}: tags", repo.name());
  std::vector<std::string> tags;
  std::string url = fmt::format("/v2/{}/tags/list?n=1000", repo.repository);
  for (int page = 0; page < 1000; ++page) {
    registry::HttpRequest req{.url = url, .max_response_bytes = 16 << 20};
    STRATA_TRY_ASSIGN_CONTEXT(registry::HttpResponse r, client.send({.ref = &repo}, req), what);
    if (r.status == 404) break;  // no repository yet: no entries
    if (r.status != 200)
      return Error::io(fmt::format("{}: {}", what, registry::describe_status(r)));
    STRATA_TRY_ASSIGN(Json list, parse_json(r.body, what));
    for (const Json& t : member(list, "tags")) {
      if (!t.is_string()) continue;
      std::string tag = t.get<std::string>();
      bool entry = tag.starts_with(kPackageEntry.tag_prefix) ||
                   tag.starts_with(kLayerEntry.tag_prefix) ||
                   tag.starts_with(kInputEntry.tag_prefix);
      if (tag.size() == 66 && entry) tags.push_back(std::move(tag));
      if (tags.size() > kMaxTags) return Error::io(fmt::format("{}: more than {}", what, kMaxTags));
    }
    std::optional<std::string> next = registry::next_page(r, req.url);
    if (!next) break;
    url = *next;
  }
  return tags;
}

Result<std::vector<EntryInfo>> list_entries(registry::RegistryClient& client,
                                            const specs::RegistryRef& repo) {
  STRATA_TRY_ASSIGN(std::vector<std::string> tags, list_entry_tags(client, repo));
  std::vector<EntryInfo> out;
  for (const std::string& tag : tags) {
    STRATA_TRY_ASSIGN(registry::FetchedManifest m, registry::fetch_manifest(client, repo, tag));
    std::string type = string_member(m.json, "artifactType");
    if (type != kEntryArtifactType && type != kLayerEntryArtifactType &&
        type != kInputEntryArtifactType) {
      continue;
    }
    const Json& annotations = member(m.json, "annotations");
    out.push_back(
        {.tag = tag,
         .manifest = m.digest,
         .package = string_member(annotations, "dev.strata.package"),
         .created_s = parse_rfc3339_utc(string_member(annotations, oci::kCreatedAnnotation))});
  }
  return out;
}

Result<void> delete_entry(registry::RegistryClient& client, const specs::RegistryRef& repo,
                          const Digest& manifest) {
  registry::HttpRequest req{
      .method = "DELETE",
      .url = fmt::format("/v2/{}/manifests/{}", repo.repository, manifest.str())};
  std::string what = fmt::format("docker://{}@{}", repo.name(), manifest.str());
  STRATA_TRY_ASSIGN_CONTEXT(registry::HttpResponse r,
                            client.send({.ref = &repo, .actions = "pull,push,delete"}, req), what);
  if (r.status == 202 || r.status == 200 || r.status == 404) return Ok{};
  if (r.status == 405) {
    return Error::io(fmt::format(
        "{}: the registry does not allow deleting manifests ({}; CNCF Distribution needs "
        "storage.delete.enabled)",
        what, registry::describe_status(r)));
  }
  return Error::io(fmt::format("{}: {}", what, registry::describe_status(r)));
}

build::RemoteEntries RegistryCache::entries_of(const std::string& package, const Digest& key) {
  // Entries are looked at in tag order (the key's hex: no order of age or package), at most
  // this many manifests; explaining is worth a few hundred small GETs, not a scan of all.
  constexpr int64_t kMaxExamined = 256;
  std::lock_guard lock(mu_);
  const specs::RegistryRef& repo = options_.repository;
  build::RemoteEntries out{.where = where()};
  if (disabled_) {
    out.note = "it was switched off after an error";
    return out;
  }
  Result<std::vector<std::string>> tags = list_entry_tags(client_, repo);
  if (!tags.ok()) {
    out.note = tags.error().message();
    return out;
  }
  // Package entries only: layer entries (l-) have no package or preimage.
  std::erase_if(*tags,
                [](const std::string& t) { return !t.starts_with(kPackageEntry.tag_prefix); });
  out.total = static_cast<int64_t>(tags->size());
  std::string own = entry_tag(key);
  for (const std::string& tag : *tags) {
    if (tag == own) continue;
    if (out.examined == kMaxExamined) break;
    ++out.examined;
    Result<registry::FetchedManifest> m = registry::fetch_manifest(client_, repo, tag);
    if (!m.ok() || string_member(m->json, "artifactType") != kEntryArtifactType) continue;
    if (string_member(member(m->json, "annotations"), "dev.strata.package") != package) continue;
    Result<oci::Descriptor> config = oci::parse_descriptor(member(m->json, "config"), tag);
    if (!config.ok() || config->size > oci::kMaxDocumentBytes) continue;
    Result<std::string> envelope = registry::fetch_blob(client_, repo, *config, tag + " config");
    if (!envelope.ok()) continue;
    // Only what a trusted key vouches for is compared: an untrusted writer's preimage
    // could say anything.
    Result<Json> statement = entry_statement(*envelope, options_.trusted, options_.trust_unsigned);
    if (!statement.ok()) continue;
    const Json& predicate = member(*statement, "predicate");
    Result<Digest> other = Digest::parse(string_member(predicate, "key"));
    if (string_member(predicate, "package") != package || !other.ok() || *other == key) continue;
    out.entries.push_back({.name = fmt::format("docker://{}:{}", repo.name(), tag),
                           .key = *other,
                           .preimage = member(predicate, "preimage"),
                           .created_s = parse_rfc3339_utc(string_member(
                               member(m->json, "annotations"), oci::kCreatedAnnotation))});
  }
  return out;
}

}  // namespace strata::builder::registry_cache
