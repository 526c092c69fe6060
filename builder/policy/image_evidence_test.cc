#include "builder/policy/image_evidence.h"

#include <gtest/gtest.h>

#include "builder/oci/artifact.h"
#include "tests/support/test_image.h"

namespace strata::builder::policy {
namespace {

using builder::testing::file_entry;

TEST(ImageEvidence, ReadsLayersFilesBesideAndAttachedArtifacts) {
  TempDir scratch = strata::testing::make_temp_dir();
  std::string layout = scratch.path() + "/hello";
  oci::WrittenImage image = builder::testing::write_image(
      layout, {{file_entry("bin/su", "x", 04755), file_entry("etc/motd", "hi")},
               {file_entry("usr/bin/wall", "y", 02755)}});
  ASSERT_TRUE(write_file(layout + ".provenance.json", "{\"beside\":1}").ok());
  ASSERT_TRUE(write_file(layout + ".spdx.json", "{\"spdx\":1}").ok());
  // The VEX envelope attached, and the same provenance attached as beside (counted once).
  auto vex = oci::write_artifact(
      layout, {"{\"vex\":1}", kOpenVexDsseType, "hello.openvex.dsse.json"}, image.manifest, 0);
  auto same = oci::write_artifact(layout, {"{\"beside\":1}", oci::kStatementType, "p.json"},
                                  image.manifest, 0);
  ASSERT_TRUE(vex.ok() && same.ok());
  ASSERT_TRUE(oci::add_to_index(layout, {*vex, *same}).ok());

  auto view = oci::open_image(layout);
  ASSERT_TRUE(view.ok()) << view.error().to_string();
  auto e = gather_evidence(*view, attestation_base(layout + "/"));
  ASSERT_TRUE(e.ok()) << e.error().to_string();
  EXPECT_EQ(e->name, "hello");
  EXPECT_EQ(e->manifest, image.manifest.digest);
  EXPECT_EQ(e->layer_count, 2u);
  EXPECT_EQ(e->size_bytes, image.config.size + image.layers[0].size + image.layers[1].size);
  ASSERT_EQ(e->setid_files.size(), 2u);
  EXPECT_EQ(e->setid_files[0].path, "/bin/su");
  EXPECT_EQ(e->setid_files[0].mode, 04755u);
  EXPECT_EQ(e->setid_files[1].path, "/usr/bin/wall");
  EXPECT_EQ(e->setid_files[1].layer, 1u);
  ASSERT_EQ(e->attestations.size(), 3u);
  EXPECT_EQ(e->attestations[0].kind, AttestationKind::kProvenance);
  EXPECT_FALSE(e->attestations[0].envelope);
  EXPECT_EQ(e->attestations[0].source, layout + ".provenance.json");
  EXPECT_EQ(e->attestations[1].kind, AttestationKind::kSpdx);
  EXPECT_EQ(e->attestations[2].kind, AttestationKind::kVex);
  EXPECT_TRUE(e->attestations[2].envelope);
  EXPECT_NE(e->attestations[2].source.find("(application/vnd.in-toto.openvex+dsse)"),
            std::string::npos);
}

TEST(ImageEvidence, AttestationBase) {
  EXPECT_EQ(attestation_base("out/hello/"), "out/hello");
  EXPECT_EQ(attestation_base("out/hello.tar"), "out/hello");
  EXPECT_EQ(attestation_base("/"), "/");
}

}  // namespace
}  // namespace strata::builder::policy
