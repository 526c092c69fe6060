// The streamed document writers (attest/*.cc over base/json.h's CanonicalWriter) write the
// same bytes as the in-memory builders they replaced: the digests below are of the
// documents the old code (CanonicalText joined into one string, before issue 16 part 5)
// made from these inputs. Enough files to cross the writer's buffer many times, a path
// whose SPDX id collides with another's, and Debian packages whose files the SBOM relates.
#include <gtest/gtest.h>

#include <string>

#include "attest/provenance.h"
#include "attest/sbom.h"
#include "tests/support/attest_plan.h"

namespace strata::attest {
namespace {

using testing::digest_of;

SbomLayer layer(int n, int files, bool collide) {
  SbomLayer l{.digest = digest_of("layer" + std::to_string(n)),
              .diff_id = digest_of("diff" + std::to_string(n)),
              .media_type = "application/vnd.oci.image.layer.v1.tar+gzip"};
  for (int i = 0; i < files; ++i) {
    std::string path = "usr/share/d" + std::to_string(i % 13) + "/f" + std::to_string(i) + ".txt";
    l.files.push_back({path, digest_of(path), i});
  }
  l.files.push_back({"usr/bin/hello", digest_of("hello"), 5});
  if (collide) {
    l.files.push_back({"etc/a_b", digest_of("ab"), 2});
    l.files.push_back({"etc/a-b", digest_of("a-b"), 3});
  }
  return l;
}

SbomInputs sbom_inputs(bool collide) {
  SbomInputs in{.manifest_digest = digest_of("manifest"),
                .layers = {layer(1, 40, false), layer(2, 3000, collide), layer(3, 7, false)},
                .strata_version = "0.1.0",
                .base_layers = 1};
  in.debs = {
      {.name = "hello",
       .version = "1:2.10-3+b1",
       .architecture = "amd64",
       .vendor = "debian",
       .distro = "debian-12",
       .url = "http://deb.example/pool/hello.deb",
       .sha256 = digest_of("deb"),
       .license = "GPL-3+",
       .layer = 0,
       .files = {"usr/bin/hello", "usr/share/d3/f3.txt", "not/in/the/layer", "usr/share/d4/f4.txt"},
       .depends = {"libc6"}},
      {.name = "libc6",
       .version = "2.36-9",
       .architecture = "amd64",
       .vendor = "debian",
       .distro = "debian-12",
       .url = "http://deb.example/pool/libc6.deb",
       .sha256 = digest_of("libc"),
       .license = "LGPL-2.1+",
       .layer = 1,
       .files = {"usr/bin/hello"}}};
  return in;
}

ProvenanceInputs provenance_inputs() {
  ProvenanceInputs in{
      .manifest_digest = digest_of("manifest"),
      .spec_path = "examples/hello/strata.yaml",
      .spec_sha256 = digest_of("spec"),
      .parameters = {.compression = "zstd", .sbom_format = "spdx"},
      .environment_debs = {{"gcc", "12", "amd64", "http://deb/gcc", digest_of("g")}},
      .image_debs = {{"hello", "2", "amd64", "http://deb/hello", digest_of("h")}},
      .lock = InputFile{"strata.lock", PackedDigest::of(digest_of("lock"))},
      .strata_version = "0.1.0",
      .strata_sha256 = digest_of("strata"),
      .library_versions = {{"libarchive", "3.6.2"}, {"openssl", "3.0.15"}}};
  for (int i = 3000; i > 0; --i) {
    std::string path = "site/page" + std::to_string(i % 1700) + ".html";
    in.input_files.push_back({path, PackedDigest::of(digest_of(path))});
  }
  return in;
}

std::string sha256_hex(const Result<std::string>& text) {
  EXPECT_TRUE(text.ok()) << text.error().message();
  return text.ok() ? sha256_of(*text).hex : std::string();
}

TEST(Streaming, SpdxBytesAreTheOldOnes) {
  EXPECT_EQ(sha256_hex(make_spdx(testing::full_plan(), sbom_inputs(false))),
            "5451ebc5b18d3e378b941f9bb53fe5bcd04051c97c77a4eb9d659f2ef52fb6b6");
  EXPECT_EQ(sha256_hex(make_spdx(testing::full_plan(), sbom_inputs(true))),
            "f00d3093ae43ddab09d9e9baa63293a5f463f0cbe680e6ebb87ee887d1a12b90");
}

TEST(Streaming, CycloneDxBytesAreTheOldOnes) {
  EXPECT_EQ(sha256_hex(make_cyclonedx(testing::full_plan(), sbom_inputs(true))),
            "5f3ba5d35cd104af48e685197eeb06427563c342b039266486d902e98eb9581d");
}

TEST(Streaming, ProvenanceBytesAreTheOldOnes) {
  EXPECT_EQ(sha256_hex(make_provenance(testing::full_plan(), provenance_inputs())),
            "fa1060e617d33597e55ab04c510a447e932782f90c3418f0e842d1b9e52f2345");
  ProvenanceInputs timed = provenance_inputs();
  timed.times = RunTimes{.started_on = 1700000000, .finished_on = 1700000100};
  EXPECT_EQ(sha256_hex(make_provenance(testing::full_plan(), timed)),
            "5e35850d5faa880815d0f2d9a7eba40f1b7404dcc533b0cd59ec0a211703d6dc");
}

// A sink that takes `limit` bytes, then fails as a full disk does.
class FullSink final : public TextSink {
 public:
  explicit FullSink(int64_t limit) : limit_(limit) {}
  Result<void> write(std::string_view text) override {
    if (taken_ + std::ssize(text) > limit_) return Error::sys("write staged file", ENOSPC);
    taken_ += std::ssize(text);
    return Ok{};
  }

 private:
  int64_t limit_;
  int64_t taken_ = 0;
};

TEST(Streaming, WritersStopAtTheFirstFailedWrite) {
  const std::string kFull = "write staged file: No space left on device";
  FullSink spdx(100000);
  Result<void> r = write_spdx(testing::full_plan(), sbom_inputs(false), spdx);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), kFull);
  FullSink cdx(100000);
  r = write_cyclonedx(testing::full_plan(), sbom_inputs(true), cdx);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), kFull);
  FullSink provenance(100000);
  r = write_provenance(testing::full_plan(), provenance_inputs(), provenance);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), kFull);
}

// The files of a layer read through for_each_file (as the pipeline passes them, from the
// layer blob's list) give the same document as the same files held in the layer.
TEST(Streaming, FilesReadThroughAVisitorGiveTheSameDocument) {
  SbomInputs held = sbom_inputs(false);
  SbomInputs visited = sbom_inputs(false);
  for (SbomLayer& l : visited.layers) {
    l.for_each_file = [files = l.files](const SbomFileVisitor& visit) {
      for (const SbomFile& f : files) visit(f.path, f.sha256, f.size);
    };
    l.files.clear();
  }
  EXPECT_EQ(*make_spdx(testing::full_plan(), visited), *make_spdx(testing::full_plan(), held));
  EXPECT_EQ(*make_cyclonedx(testing::full_plan(), visited),
            *make_cyclonedx(testing::full_plan(), held));
}

}  // namespace
}  // namespace strata::attest
