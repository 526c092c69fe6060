#include "builder/verify/verify.h"

#include <gtest/gtest.h>

#include "attest/dsse.h"
#include "builder/base/fs.h"
#include "specs/parse.h"
#include "tests/support/test_util.h"

namespace strata::builder {
namespace {

// verify_image on a spec without sources or packages never fetches or runs anything.
class NoFetcher : public sources::Fetcher {
 public:
  Result<void> fetch(const std::string& url, int, const sources::FetchOptions&) override {
    return Error(ErrorCode::kInternal, "unexpected fetch of " + url);
  }
};
class NoRunner : public sandbox::Runner {
 public:
  Result<sandbox::RunResult> run(const sandbox::Config&) override {
    return Error(ErrorCode::kInternal, "unexpected sandbox run");
  }
};

constexpr char kSpec[] = R"(apiVersion: strata/v1
name: demo
version: "1.0"
epoch: 1700000000
image:
  architecture: amd64
  layers:
    - files:
        - {src: files/motd, dest: /etc/motd}
)";

// Builds spec/strata.yaml into out/ with provenance, as `strata build` would, then verifies.
class VerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(make_dirs(path("spec/files")).ok());
    ASSERT_TRUE(write_file(path("spec/files/motd"), "hello\n").ok());
    ASSERT_TRUE(write_file(spec_path(), kSpec).ok());
    auto spec = specs::load_spec(spec_path());
    ASSERT_TRUE(spec.ok()) << spec.error().to_string();
    auto plan = specs::make_plan(*std::move(spec), "amd64");
    ASSERT_TRUE(plan.ok());
    plan_ = *std::move(plan);
    build({});
  }

  // (Re)builds out/demo with provenance; sets subject_.
  void build(BuildOptions options) {
    options.output_root = path("out");
    options.attest = AttestOptions{.spec_path = spec_path(),
                                   .spec_sha256 = *sha256_file(spec_path()),
                                   .strata_version = "0.1.0",
                                   .strata_sha256 = sha256_of("strata")};
    auto built = build_image(*plan_, options);
    ASSERT_TRUE(built.ok()) << built.error().to_string();
    subject_ = built->image.manifest.digest;
  }

  std::string path(const std::string& rel) const { return tmp_.path() + "/" + rel; }
  std::string spec_path() const { return path("spec/strata.yaml"); }

  Result<VerifyReport> verify(std::optional<attest::PublicKey> key = std::nullopt,
                              std::string provenance = "") {
    VerifyOptions o{
        .image = path("out/demo"),
        .provenance_path = provenance.empty() ? path("out/demo.provenance.json") : provenance,
        .key = std::move(key),
        .strata_version = "0.1.0",
        .strata_sha256 = sha256_of("strata"),
        .host_architecture = "amd64",
        .scratch_dir = tmp_.path(),
        .packages = {.cache_dir = path("cache")},
        .fetcher = &fetcher_,
        .runner = &runner_};
    return verify_image(o);
  }

  // The name of the check that failed (the last one), or "" when all passed.
  static std::string failed_check(const VerifyReport& r) {
    return r.passed() ? "" : r.checks.back().name;
  }

  void rewrite_provenance(const std::function<void(Json&)>& change) {
    Json p = *parse_json(*read_file(path("out/demo.provenance.json")), "p");
    change(p);
    ASSERT_TRUE(write_file(path("out/demo.provenance.json"), *canonical_json(p)).ok());
  }

  TempDir tmp_ = testing::make_temp_dir("strata-verify-test-");
  std::optional<specs::Plan> plan_;
  Digest subject_;
  NoFetcher fetcher_;
  NoRunner runner_;
};

TEST_F(VerifyTest, FreshBuildIsReproduced) {
  auto r = verify();
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_TRUE(r->passed()) << r->checks.back().name << ": " << r->checks.back().detail;
  ASSERT_TRUE(r->rebuilt.has_value());
  EXPECT_EQ(*r->rebuilt, subject_);
  std::vector<std::string> names;
  for (const VerifyCheck& c : r->checks) names.push_back(c.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"signature", "provenance", "subject", "spec", "input files",
                                      "plan", "builder", "sources", "rebuild", "compare"}));
}

TEST_F(VerifyTest, ChangedInputFileIsNamed) {
  ASSERT_TRUE(write_file(path("spec/files/motd"), "changed\n").ok());
  auto r = verify();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(failed_check(*r), "input files");
  EXPECT_NE(r->checks.back().detail.find("files/motd: digest mismatch"), std::string::npos)
      << r->checks.back().detail;
  EXPECT_FALSE(r->rebuilt.has_value()) << "no rebuild from inputs known to be wrong";
}

TEST_F(VerifyTest, ChangedSpecIsASpecDigestMismatch) {
  ASSERT_TRUE(write_file(spec_path(), std::string(kSpec) + "# edited\n").ok());
  auto r = verify();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(failed_check(*r), "spec");
  EXPECT_NE(r->checks.back().detail.find("spec digest mismatch"), std::string::npos);
}

TEST_F(VerifyTest, SubjectMustBeInTheImage) {
  rewrite_provenance([](Json& p) { p["subject"][0]["digest"]["sha256"] = sha256_of("x").hex; });
  auto r = verify();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(failed_check(*r), "subject");
  EXPECT_NE(r->checks.back().detail.find("manifest digest mismatch"), std::string::npos);
}

TEST_F(VerifyTest, UnknownExternalParameterIsRejected) {
  rewrite_provenance(
      [](Json& p) { p["predicate"]["buildDefinition"]["externalParameters"]["network"] = true; });
  auto r = verify();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(failed_check(*r), "provenance");
}

TEST_F(VerifyTest, ChangedRecordedCompressionIsADifferentImage) {
  rewrite_provenance([](Json& p) {
    p["predicate"]["buildDefinition"]["externalParameters"]["compression"] = "zstd";
  });
  auto r = verify();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(failed_check(*r), "compare");
  ASSERT_TRUE(r->diff.has_value());
  EXPECT_FALSE(r->diff->is_same());
  EXPECT_NE(*r->rebuilt, subject_);
}

// An image built by a strata that wrote strata-det/1 (one libarchive stream per layer) is
// rebuilt with those compressors, not with strata-det/2's.
TEST_F(VerifyTest, Det1ProvenanceIsRebuiltWithTheDet1Compressors) {
  for (Compression c : {Compression::kGzip, Compression::kZstd}) {
    build({.compression = c});
    Digest det2 = subject_;
    build({.compression = c, .profile = DeterminismProfile::kDet1});
    // The zstd frames differ (libzstd's worker threads and a checksum); the one gzip block
    // of this small layer may or may not.
    if (c == Compression::kZstd) {
      ASSERT_NE(subject_, det2) << "the profiles write other bytes";
    }
    rewrite_provenance([](Json& p) {
      p["predicate"]["buildDefinition"]["internalParameters"]["determinismProfile"] =
          "strata-det/1";
    });
    auto r = verify();
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_TRUE(r->passed()) << compression_name(c) << ": " << r->checks.back().name << ": "
                             << r->checks.back().detail;
    ASSERT_TRUE(r->rebuilt.has_value());
    EXPECT_EQ(*r->rebuilt, subject_) << compression_name(c);
  }
}

TEST_F(VerifyTest, Det2ImageClaimingDet1IsADifferentImage) {
  build({.compression = Compression::kZstd});
  rewrite_provenance([](Json& p) {
    p["predicate"]["buildDefinition"]["internalParameters"]["determinismProfile"] = "strata-det/1";
  });
  auto r = verify();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(failed_check(*r), "compare");
}

TEST_F(VerifyTest, UnknownDeterminismProfileIsNamed) {
  rewrite_provenance([](Json& p) {
    p["predicate"]["buildDefinition"]["internalParameters"]["determinismProfile"] = "strata-det/9";
  });
  auto r = verify();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(failed_check(*r), "rebuild");
  EXPECT_NE(r->checks.back().detail.find("'strata-det/9' is unknown"), std::string::npos)
      << r->checks.back().detail;
}

TEST_F(VerifyTest, KeyForAnUnsignedProvenanceFails) {
  auto key = attest::PrivateKey::generate(attest::KeyType::kEd25519);
  ASSERT_TRUE(key.ok());
  auto r = verify(*key->public_key());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(failed_check(*r), "signature");
}

TEST_F(VerifyTest, SignedProvenanceNeedsTheRightKey) {
  auto signer = attest::PrivateKey::generate(attest::KeyType::kEd25519);
  auto other = attest::PrivateKey::generate(attest::KeyType::kEd25519);
  ASSERT_TRUE(signer.ok() && other.ok());
  std::string statement = *read_file(path("out/demo.provenance.json"));
  auto envelope = attest::sign_envelope(attest::kInTotoPayloadType, statement, *signer);
  ASSERT_TRUE(write_file(path("signed.json"), *envelope).ok());

  auto good = verify(*signer->public_key(), path("signed.json"));
  ASSERT_TRUE(good.ok());
  EXPECT_TRUE(good->passed());
  auto bad = verify(*other->public_key(), path("signed.json"));
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(failed_check(*bad), "signature");
  auto none = verify(std::nullopt, path("signed.json"));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code(), ErrorCode::kUsage) << "a signed provenance needs --key";
}

}  // namespace
}  // namespace strata::builder
