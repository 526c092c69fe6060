#include "attest/provenance.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "tests/support/attest_plan.h"

namespace strata::attest {
namespace {

using testing::digest_of;

ProvenanceInputs inputs() {
  return {.manifest_digest = digest_of("manifest"),
          .spec_path = "examples/hello/strata.yaml",
          .spec_sha256 = digest_of("spec"),
          .parameters = {.compression = "zstd", .archive = true, .sbom_format = "spdx"},
          .input_files = {{"site/index.html", PackedDigest::of(digest_of("i"))},
                          {"files/motd", PackedDigest::of(digest_of("m"))},
                          {"site/index.html", PackedDigest::of(digest_of("i"))}},
          .strata_version = "0.1.0",
          .strata_sha256 = digest_of("strata"),
          .library_versions = {{"libarchive", "3.6.2"}, {"openssl", "3.0.15"}}};
}

// The statement is produced as text; the tests read it back as a tree.
Json provenance(const ProvenanceInputs& in) {
  return *parse_json(*make_provenance(testing::full_plan(), in), "provenance");
}

TEST(Provenance, IsAValidSlsaV1Statement) {
  Json s = provenance(inputs());
  auto checked = check_statement(s);
  ASSERT_TRUE(checked.ok()) << checked.error().to_string();
  EXPECT_EQ(s["_type"], "https://in-toto.io/Statement/v1");
  EXPECT_EQ(s["predicateType"], "https://slsa.dev/provenance/v1");
  EXPECT_EQ(*canonical_json(s["subject"]), R"([{"digest":{"sha256":")" + digest_of("manifest").hex +
                                               R"("},"name":"example.com/team/hello"}])");
  const Json& bd = s["predicate"]["buildDefinition"];
  EXPECT_EQ(bd["buildType"], "https://strata.dev/buildtypes/image/v1");
  EXPECT_EQ(*canonical_json(bd["externalParameters"]),
            R"({"archive":true,"attach":false,"compression":"zstd","sbomFormat":"spdx",)"
            R"("spec":{"path":"examples/hello/strata.yaml","sha256":")" +
                digest_of("spec").hex + R"("}})");
  EXPECT_EQ(*canonical_json(bd["internalParameters"]),
            R"({"SOURCE_DATE_EPOCH":"1700000000","determinismProfile":"strata-det/2",)"
            R"("libraries":{"libarchive":"3.6.2","openssl":"3.0.15"},"platform":"linux/amd64"})");
  EXPECT_EQ(s["predicate"]["runDetails"]["builder"]["id"], "https://strata.dev/builder/local/v1");
  EXPECT_FALSE(s["predicate"]["runDetails"].contains("metadata"));
}

TEST(Provenance, ResolvedDependenciesListEveryInputOnceInAFixedOrder) {
  Json deps = provenance(inputs())["predicate"]["buildDefinition"]["resolvedDependencies"];
  std::vector<std::string> seen;
  for (const Json& d : deps) {
    seen.push_back(d["annotations"]["role"].get<std::string>() + " " +
                   d["name"].get<std::string>());
  }
  EXPECT_EQ(seen,
            (std::vector<std::string>{"spec examples/hello/strata.yaml", "source hello-src",
                                      "source patches", "environment-image ./toolchain",
                                      "base-image ../base.tar", "input-file files/motd",
                                      "input-file site/index.html", "builder-binary strata"}));
  EXPECT_EQ(deps[1]["uri"], "https://example.org/hello-2.12.tar.gz");
  EXPECT_EQ(deps[1]["digest"]["sha256"], digest_of("hello-src").hex);
  EXPECT_FALSE(deps[2].contains("uri"));
  EXPECT_EQ(deps[2]["annotations"]["path"], "patches/");
  EXPECT_EQ(deps[7]["annotations"]["version"], "0.1.0");
}

TEST(Provenance, ListsTheDebsOfTheBuildEnvironment) {
  ProvenanceInputs in = inputs();
  in.environment_debs = {{.name = "dash",
                          .version = "0.5.12-2",
                          .architecture = "amd64",
                          .url = "http://deb.debian.org/debian/pool/main/d/dash/dash.deb",
                          .sha256 = digest_of("dash")}};
  Json s = provenance(in);
  ASSERT_TRUE(check_statement(s).ok());
  Json deb;
  for (const Json& d : s["predicate"]["buildDefinition"]["resolvedDependencies"]) {
    if (d["annotations"]["role"] == "environment-deb") deb = d;
  }
  EXPECT_EQ(
      *canonical_json(deb),
      R"({"annotations":{"architecture":"amd64","role":"environment-deb",)"
      R"("version":"0.5.12-2"},"digest":{"sha256":")" +
          digest_of("dash").hex +
          R"("},"name":"dash","uri":"http://deb.debian.org/debian/pool/main/d/dash/dash.deb"})");
}

TEST(Provenance, ListsTheImageDebsAndTheirLock) {
  ProvenanceInputs in = inputs();
  in.image_debs = {{.name = "ca-certificates",
                    .version = "20230311",
                    .architecture = "all",
                    .url = "http://deb.debian.org/debian/pool/main/c/ca/ca.deb",
                    .sha256 = digest_of("ca")}};
  in.lock = InputFile{"strata.lock", PackedDigest::of(digest_of("lock"))};
  Json s = provenance(in);
  ASSERT_TRUE(check_statement(s).ok());
  std::vector<std::string> roles;
  Json deb;
  for (const Json& d : s["predicate"]["buildDefinition"]["resolvedDependencies"]) {
    roles.push_back(d["annotations"]["role"].get<std::string>() + " " +
                    d["name"].get<std::string>());
    if (d["annotations"]["role"] == "deb") deb = d;
  }
  EXPECT_NE(std::find(roles.begin(), roles.end(), "lock strata.lock"), roles.end());
  EXPECT_EQ(deb["uri"], "http://deb.debian.org/debian/pool/main/c/ca/ca.deb");
  EXPECT_EQ(deb["digest"]["sha256"], digest_of("ca").hex);
  EXPECT_EQ(deb["annotations"]["version"], "20230311");
}

TEST(Provenance, IsByteIdenticalWithoutTimesAndCarriesThemWhenAsked) {
  EXPECT_EQ(*make_provenance(testing::full_plan(), inputs()),
            *make_provenance(testing::full_plan(), inputs()));
  EXPECT_EQ(*make_provenance(testing::full_plan(), inputs()), *canonical_json(provenance(inputs())))
      << "canonical";
  ProvenanceInputs in = inputs();
  in.times = RunTimes{.started_on = 1700000000, .finished_on = 1700000061};
  Json s = provenance(in);
  EXPECT_TRUE(check_statement(s).ok());
  EXPECT_EQ(*canonical_json(s["predicate"]["runDetails"]["metadata"]),
            R"({"finishedOn":"2023-11-14T22:14:21Z","startedOn":"2023-11-14T22:13:20Z"})");
}

// Each broken statement names the field at fault.
TEST(CheckStatement, NamesTheFirstBrokenField) {
  const Json good = provenance(inputs());
  auto message = [&](auto mutate) {
    Json s = good;
    mutate(s);
    auto r = check_statement(s);
    return r.ok() ? std::string("ok") : r.error().message();
  };
  EXPECT_EQ(message([](Json& s) { s["_type"] = "https://in-toto.io/Statement/v0.1"; }),
            "statement field _type: must be 'https://in-toto.io/Statement/v1'");
  EXPECT_EQ(message([](Json& s) { s["_type"] = 1; }),
            "statement field _type: must be 'https://in-toto.io/Statement/v1'");
  EXPECT_EQ(message([](Json& s) { s["subject"] = Json::array(); }),
            "statement field subject: must be a non-empty array");
  EXPECT_EQ(message([](Json& s) { s["subject"][0]["digest"]["sha256"] = "ABC"; }),
            "statement field subject[0].digest.sha256: not lowercase hex");
  EXPECT_EQ(message([](Json& s) { s["subject"][0]["digest"]["sha256"] = "abc"; }),
            "statement field subject[0].digest.sha256: not 64 hex digits");
  EXPECT_EQ(message([](Json& s) { s.erase("predicateType"); }),
            "statement field predicateType: missing or not a URI");
  EXPECT_EQ(message([](Json& s) { s["predicate"]["buildDefinition"]["buildType"] = "image"; }),
            "statement field predicate.buildDefinition.buildType: missing or not a URI");
  EXPECT_EQ(message([](Json& s) { s["predicate"]["buildDefinition"].erase("externalParameters"); }),
            "statement field predicate.buildDefinition.externalParameters: missing or not an "
            "object");
  EXPECT_EQ(message([](Json& s) {
              s["predicate"]["buildDefinition"]["resolvedDependencies"][0] = {{"name", "x"}};
            }),
            "statement field predicate.buildDefinition.resolvedDependencies[0]: needs uri, "
            "digest or content");
  EXPECT_EQ(message([](Json& s) { s["predicate"]["runDetails"]["builder"].erase("id"); }),
            "statement field predicate.runDetails.builder.id: missing or not a URI");
  EXPECT_EQ(message([](Json& s) {
              s["predicate"]["runDetails"]["metadata"] = {{"startedOn", "2023-11-14 22:13:20"}};
            }),
            "statement field predicate.runDetails.metadata.startedOn: not RFC 3339 UTC");
  EXPECT_EQ(message([](Json& s) {
              s["predicate"]["runDetails"]["metadata"] = {{"finishedOn", "2023-11-14T22:13:20.5Z"}};
            }),
            "ok");
  EXPECT_EQ(
      message([](Json& s) {
        s["predicate"]["runDetails"]["metadata"] = {{"finishedOn", "2023-11-14T22:13:20+01:00"}};
      }),
      "statement field predicate.runDetails.metadata.finishedOn: not RFC 3339 UTC");
  EXPECT_EQ(message([](Json& s) { s["predicate"]["buildDefinition"]["buildType"] = "Https://x"; }),
            "statement field predicate.buildDefinition.buildType: missing or not a URI");
  EXPECT_EQ(message([](Json& s) { s["predicate"]["buildDefinition"]["buildType"] = "https:"; }),
            "statement field predicate.buildDefinition.buildType: missing or not a URI");
  EXPECT_EQ(message([](Json& s) { s["predicate"] = 5; }),
            "statement field predicate: must be an object");
}

}  // namespace
}  // namespace strata::attest
