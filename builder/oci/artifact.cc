#include "builder/oci/artifact.h"

#include "builder/base/fs.h"
#include "builder/base/time.h"
#include "builder/oci/layout_writer.h"
#include "builder/oci/media_types.h"

namespace strata::builder::oci {

Result<std::string> artifact_manifest(const ArtifactFile& file, const Descriptor& subject,
                                      const std::string& created) {
  Descriptor config{kEmptyMediaType, sha256_of(kEmptyConfig),
                    static_cast<int64_t>(sizeof(kEmptyConfig) - 1)};
  Descriptor blob{file.media_type, sha256_of(file.bytes), static_cast<int64_t>(file.bytes.size())};
  Json layer = blob.to_json();
  layer["annotations"] = {{kTitleAnnotation, file.title}};
  Json manifest = {{"schemaVersion", 2},
                   {"mediaType", kManifestMediaType},
                   {"artifactType", file.media_type},
                   {"config", config.to_json()},
                   {"layers", {layer}},
                   {"subject", subject.to_json()},
                   {"annotations", {{kCreatedAnnotation, created}}}};
  return canonical_json(manifest);
}

Result<Artifact> write_artifact(const std::string& layout_dir, const ArtifactFile& file,
                                const Descriptor& subject, int64_t created_epoch) {
  STRATA_TRY(write_blob(layout_dir, kEmptyConfig, kEmptyMediaType));
  STRATA_TRY(write_blob(layout_dir, file.bytes, file.media_type));
  STRATA_TRY_ASSIGN(std::string bytes,
                    artifact_manifest(file, subject, rfc3339_utc(created_epoch)));
  STRATA_TRY_ASSIGN(Descriptor d, write_blob(layout_dir, bytes, kManifestMediaType));
  return Artifact{.manifest = std::move(d), .artifact_type = file.media_type};
}

Result<void> add_to_index(const std::string& layout_dir, const std::vector<Artifact>& artifacts) {
  const std::string index_path = layout_dir + "/index.json";
  STRATA_TRY_ASSIGN(std::string text, read_file(index_path));
  STRATA_TRY_ASSIGN(Json index, parse_json(text, index_path));
  for (const Artifact& a : artifacts) {
    Json entry = a.manifest.to_json();
    entry["artifactType"] = a.artifact_type;
    index["manifests"].push_back(std::move(entry));
  }
  STRATA_TRY_ASSIGN(std::string bytes, canonical_json(index));
  return write_file_atomic(index_path, bytes);
}

}  // namespace strata::builder::oci
