// Reading back a strata image provenance (docs/provenance.md) for `strata verify`: the
// Statement checked, the build type recognised, and the values a rebuild needs pulled out
// into plain structs. Pure: the caller reads the file and checks the signature first.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "attest/provenance.h"
#include "builder/base/digest.h"
#include "builder/base/json.h"

namespace strata::attest {

// One resolvedDependencies entry, by its annotations.role.
struct RecordedDependency {
  std::string role;  // spec, source, environment-image, environment-deb, lock, deb,
                     // base-image, input-file, builder-binary
  std::string name;
  Digest sha256;
  std::string uri;      // sources fetched by URL
  std::string path;     // annotations.path: sources given as `path:`
  std::string version;  // annotations.version: the builder binary
};

struct ImageProvenance {
  std::string subject_name;
  Digest subject;  // the image manifest digest
  std::string spec_path;
  Digest spec_sha256;
  BuildParameters parameters;
  std::string builder_id;
  std::string determinism_profile;
  std::string source_date_epoch;
  std::string platform;  // "linux/amd64"
  std::map<std::string, std::string> libraries;
  std::vector<RecordedDependency> dependencies;  // in recorded order

  // The entries with this role, in recorded order.
  std::vector<const RecordedDependency*> with_role(std::string_view role) const;
};

// Checks `statement` (check_statement), that it is SLSA v1 provenance of buildType
// kImageBuildType with exactly one sha256 subject, that externalParameters holds exactly the
// documented fields with the documented types (unknown fields are rejected, as SLSA asks of
// verifiers), and that every dependency has a role and a sha256. Errors are
// kVerification ("provenance: …"), naming the field.
Result<ImageProvenance> read_image_provenance(const Json& statement);

}  // namespace strata::attest
