// `strata attest verify ENVELOPE|BUNDLE|docker://REF@sha256:… --key PUB [--image IMAGE]`:
// checks a DSSE envelope's signature and payloadType (given as is, or inside a Sigstore
// bundle), the in-toto Statement inside it, and that its subject is the image's manifest
// digest (a registry image's envelope is found among its referrers). Exit 0 verified, 1 a
// check failed (the message names it), 2 usage.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "attest/dsse.h"
#include "attest/provenance.h"
#include "attest/sigstore_bundle.h"
#include "builder/base/fs.h"
#include "builder/base/json.h"
#include "builder/cli/commands.h"
#include "builder/cli/format.h"
#include "builder/cli/keys.h"
#include "builder/cli/registry_flags.h"
#include "builder/oci/artifact.h"
#include "builder/oci/image_reader.h"
#include "builder/registry/referrers.h"

namespace strata::builder::cli {
namespace {

struct AttestVerifyArgs {
  std::string envelope;
  std::string key;
  std::string image;
  RegistryFlags registry;
};

// A file named on the command line that cannot be read is a usage error (exit 2).
Result<std::string> read_argument(const std::string& option, const std::string& path) {
  auto text = read_file(path);
  if (!text.ok())
    return Error(ErrorCode::kUsage, fmt::format("{}: {}", option, text.error().message()));
  return text;
}

Result<oci::ImageView> open_image_arg(const std::string& image) {
  auto [path, tag] = split_tag(image);
  return oci::open_image(path, tag);
}

Error check_failed(std::string message) {
  return Error(ErrorCode::kVerification, std::move(message));
}

// Some subject must carry `expected`, the manifest digest of `what` (an image, or a
// registry reference): that is what the statement is about.
Result<void> check_subject(const Json& statement, const Digest& expected, const std::string& what) {
  std::vector<std::string> actual;
  for (const Json& s : statement["subject"]) {
    const Json& sha = member(member(s, "digest"), "sha256");
    if (!sha.is_string()) continue;
    if (sha == expected.hex) return Ok{};
    actual.push_back("sha256:" + sha.get<std::string>());
  }
  return check_failed(fmt::format("subject check failed: expected {} (manifest of {}), actual {}",
                                  expected.str(), what,
                                  actual.empty() ? std::string("no sha256 subject")
                                                 : fmt::format("{}", fmt::join(actual, ", "))));
}

// The envelope among the referrers of a registry image (docker://REF@sha256:…); the image's
// manifest digest is then the subject to check.
Result<std::string> fetch_envelope(const AttestVerifyArgs& args, std::optional<Digest>& subject) {
  STRATA_TRY_ASSIGN(specs::RegistryRef ref, specs::parse_registry_ref(args.envelope));
  if (!ref.digest) {
    return Error(ErrorCode::kUsage,
                 fmt::format("{}: name the image by digest (…@sha256:…): its signature is "
                             "about that digest, not a tag",
                             args.envelope));
  }
  RegistrySession session(args.registry);
  STRATA_TRY_ASSIGN(registry::ArtifactBlob blob,
                    registry::fetch_provenance(session.client(), ref, *ref.digest, true));
  if (blob.artifact_type != oci::kProvenanceDsseType) {
    return check_failed(fmt::format("{}: its provenance is not signed (no {} referrer)",
                                    args.envelope, oci::kProvenanceDsseType));
  }
  subject = ref.digest;
  return blob.bytes;
}

Result<int> run_attest_verify(const AttestVerifyArgs& args) {
  STRATA_TRY_ASSIGN(attest::PublicKey key, load_public_key("--key", args.key));
  std::optional<Digest> remote_subject;
  std::string envelope;
  if (specs::has_docker_transport(args.envelope)) {
    STRATA_TRY_ASSIGN(envelope, fetch_envelope(args, remote_subject));
  } else {
    STRATA_TRY_ASSIGN(envelope, read_argument("ENVELOPE", args.envelope));
  }
  if (attest::is_sigstore_bundle(envelope)) {
    // The bundle's key hint is unauthenticated: the signature is checked with --key alone.
    STRATA_TRY_ASSIGN_CONTEXT(attest::BundleContents bundle, attest::read_sigstore_bundle(envelope),
                              args.envelope);
    fmt::print("bundle: {} (key hint {})\n", bundle.media_type,
               bundle.key_hint.empty() ? "none" : bundle.key_hint);
    envelope = std::move(bundle.envelope);
  }
  STRATA_TRY_ASSIGN_CONTEXT(attest::VerifiedEnvelope verified,
                            attest::verify_envelope(envelope, key, attest::kInTotoPayloadType),
                            args.envelope);
  // Parse only the payload bytes that were verified, never the envelope again (DSSE
  // protocol.md, "Verification": https://github.com/secure-systems-lab/dsse).
  auto statement = parse_json(verified.payload, "payload");
  if (!statement.ok()) {
    return check_failed(
        fmt::format("{}: statement check failed: {}", args.envelope, statement.error().message()));
  }
  auto checked = attest::check_statement(*statement);
  if (!checked.ok()) {
    return check_failed(
        fmt::format("{}: statement check failed: {}", args.envelope, checked.error().message()));
  }
  fmt::print("signature: ok ({} key {})\n", attest::key_type_name(key.type()), key.keyid());
  fmt::print("payloadType: ok ({})\n", verified.payload_type);
  fmt::print("statement: ok ({})\n", (*statement)["predicateType"].get<std::string>());
  if (remote_subject) {
    STRATA_TRY_CONTEXT(check_subject(*statement, *remote_subject, args.envelope), args.envelope);
    fmt::print("subject: ok ({})\n", remote_subject->str());
  }
  if (!args.image.empty()) {
    STRATA_TRY_ASSIGN(oci::ImageView image, open_image_arg(args.image));
    STRATA_TRY_CONTEXT(check_subject(*statement, image.manifest_descriptor.digest, image.source),
                       args.envelope);
    fmt::print("subject: ok ({} is {})\n", args.image, image.manifest_descriptor.digest.str());
  }
  return 0;
}

}  // namespace

void register_attest(CLI::App& app, Command& run) {
  auto* attest = app.add_subcommand("attest", "Work with attestations");
  attest->require_subcommand(1);
  auto args = std::make_shared<AttestVerifyArgs>();
  auto* verify = attest->add_subcommand(
      "verify",
      "Check a DSSE envelope's (or Sigstore bundle's) signature, payloadType and statement, "
      "and its subject against an image");
  verify
      ->add_option("ENVELOPE", args->envelope,
                   "The DSSE envelope (NAME.provenance.dsse.json, NAME.openvex.dsse.json), a "
                   "Sigstore bundle holding one (NAME.sigstore.json), or a registry image "
                   "docker://HOST/REPO@sha256:… whose referrers hold the provenance's")
      ->required();
  verify->add_option("--key", args->key, "The signer's public key (PEM)")->required();
  verify->add_option("--image", args->image,
                     "An OCI layout or archive (IMAGE[:TAG]) whose manifest digest must be a "
                     "subject of the statement");
  add_registry_flags(verify, args->registry);
  verify->callback([&run, args] { run = [args] { return run_attest_verify(*args); }; });
}

}  // namespace strata::builder::cli
