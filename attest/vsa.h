// SLSA Verification Summary Attestations (https://slsa.dev/verification_summary/v1) for
// `strata verify --vsa`: who verified which image against which policy, when, and whether it
// passed. Built from values; the caller reads the clock and writes the file.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "builder/base/digest.h"
#include "builder/base/json.h"

namespace strata::attest {

inline constexpr char kVerificationSummaryV1[] = "https://slsa.dev/verification_summary/v1";
// strata verify run by a user on their own machine (docs/verify.md "The VSA").
inline constexpr char kLocalVerifierId[] = "https://strata.dev/verifier/local/v1";
// The policy `strata verify` applies: signature (when signed), subject, recorded inputs,
// rebuild from them, identical image. Versioned like a build type.
inline constexpr char kRebuildPolicy[] = "https://strata.dev/policies/rebuild/v1";
// A custom SlsaResult (the spec allows values not starting with SLSA_): the image was
// rebuilt from its recorded inputs to the same manifest digest.
inline constexpr char kReproducedResult[] = "STRATA_REPRODUCED";

// An attestation the verification used: its name (as given) and the digest of its bytes.
struct InputAttestation {
  std::string name;
  Digest sha256;
};

struct VsaInputs {
  std::string subject_name;  // the image name
  Digest subject;            // the image manifest digest
  std::string resource_uri;  // where the verified image was found
  std::string strata_version;
  int64_t time_verified = 0;  // seconds since the epoch, UTC
  bool passed = false;
  std::vector<InputAttestation> input_attestations;
  std::string verifier_id = kLocalVerifierId;
  // The policy verified against (the VSA's `policy` ResourceDescriptor): strata's rebuild
  // policy, or with `strata verify --policy` the user's policy file (its URI and the sha256
  // of its bytes), which that verification applies in addition to the rebuild.
  std::string policy_uri = kRebuildPolicy;
  std::optional<Digest> policy_sha256;
};

// The in-toto Statement: verificationResult PASSED with verifiedLevels
// [SLSA_BUILD_LEVEL_1, STRATA_REPRODUCED] (a strata build is at most Build L1,
// docs/provenance.md), or FAILED with [FAILED]; slsaVersion 1.0.
Json make_vsa(const VsaInputs& in);

}  // namespace strata::attest
