// OpenVEX v0.2.0 (https://github.com/openvex/spec/blob/main/OPENVEX-SPEC.md) from a spec's
// `vex:` statements (docs/vex.md): the document, and the in-toto Statement that carries it
// when it is signed. Deterministic: the timestamp is the spec's epoch and the @id a digest of
// the rest of the document. Built from values; no I/O.
#pragma once

#include <string>
#include <vector>

#include "attest/sbom.h"
#include "builder/base/digest.h"
#include "specs/plan.h"

namespace strata::attest {

// The document's @context, and the predicateType of the in-toto Statement that carries it
// (the versioned URI: the unversioned https://openvex.dev/ns means v0.0.1 to OpenVEX).
inline constexpr char kOpenVexContext[] = "https://openvex.dev/ns/v0.2.0";
inline constexpr char kOpenVexPredicateType[] = "https://openvex.dev/ns/v0.2.0";
// The prefix of the document's @id: ID_PREFIX/NAME/sha256-<hex of the document without @id>.
inline constexpr char kOpenVexIdPrefix[] = "https://strata.dev/vex";
// The annotation (or config label) whose value becomes the document's author.
inline constexpr char kAuthorsAnnotation[] = "org.opencontainers.image.authors";

struct VexInputs {
  Digest manifest_digest;  // the image the statements are about
  std::string strata_version;
  std::vector<SbomDeb> debs;  // the locked Debian packages, for the purls of `debs:` names
};

// The OpenVEX document of plan.spec.vex as canonical JSON: each statement's one product is
// the image, named by the same pkg:oci purl as the SBOM's image, with the named packages
// (pkg:generic) and debs (pkg:deb) as subcomponents, named as the SBOM names them. author is
// the spec's org.opencontainers.image.authors annotation (or label), else "NAME maintainers";
// role "Document Creator"; tooling "strata VERSION"; version 1. kInternal when a deb a
// statement names is not among `debs` (the spec check and the lock guarantee it is).
Result<std::string> make_openvex(const specs::Plan& plan, const VexInputs& inputs);

// The in-toto Statement v1 carrying `document` (make_openvex's text) as its predicate, with
// predicateType kOpenVexPredicateType and the image manifest as subject, exactly as the
// provenance names it. Canonical JSON.
Result<std::string> make_openvex_statement(const specs::Plan& plan, const Digest& manifest_digest,
                                           std::string_view document);

}  // namespace strata::attest
