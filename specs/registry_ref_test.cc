// The registry reference normaliser: Docker Hub's aliases, library/, hosts, tags, digests.
#include "specs/registry_ref.h"

#include <gtest/gtest.h>

#include "specs/values.h"

namespace strata::specs {
namespace {

const std::string kHex(64, 'a');

TEST(RegistryRef, DockerHubNamesNormalise) {
  for (const char* text : {"debian", "docker.io/debian", "index.docker.io/library/debian",
                           "docker://debian", "docker://docker.io/library/debian"}) {
    Result<RegistryRef> ref = parse_registry_ref(text);
    ASSERT_TRUE(ref.ok()) << text << ": " << ref.error().message();
    EXPECT_EQ(ref->domain, "docker.io") << text;
    EXPECT_EQ(ref->repository, "library/debian") << text;
    EXPECT_EQ(ref->api_host(), "registry-1.docker.io") << text;
    EXPECT_EQ(ref->str(), "docker.io/library/debian") << text;
  }
  EXPECT_EQ(parse_registry_ref("org/app")->name(), "docker.io/org/app");
}

TEST(RegistryRef, AFirstComponentIsAHostOnlyWithADotAColonOrLocalhost) {
  EXPECT_EQ(parse_registry_ref("localhost/app")->domain, "localhost");
  EXPECT_EQ(parse_registry_ref("localhost:5000/a/b:1")->domain, "localhost:5000");
  EXPECT_EQ(parse_registry_ref("ghcr.io/org/app")->domain, "ghcr.io");
  EXPECT_EQ(parse_registry_ref("GHCR.io/org/app")->domain, "ghcr.io");
  EXPECT_EQ(parse_registry_ref("127.0.0.1:5000/app")->host(), "127.0.0.1");
  EXPECT_EQ(parse_registry_ref("[::1]:5000/app")->host(), "::1");
  EXPECT_EQ(parse_registry_ref("[::1]:5000/app")->api_host(), "[::1]:5000");
  // "out" has no dot, so it is a Docker Hub namespace, not a host.
  EXPECT_EQ(parse_registry_ref("out/busybox")->name(), "docker.io/out/busybox");
  // A registry's own name is not shortened: only docker.io and index.docker.io are Hub.
  EXPECT_EQ(parse_registry_ref("registry-1.docker.io/x")->repository, "x");
}

TEST(RegistryRef, TagAndDigestAreKept) {
  Result<RegistryRef> ref = parse_registry_ref("docker://127.0.0.1:5000/a/b:1.2@sha256:" + kHex);
  ASSERT_TRUE(ref.ok()) << ref.error().message();
  EXPECT_EQ(ref->domain, "127.0.0.1:5000");
  EXPECT_EQ(ref->repository, "a/b");
  EXPECT_EQ(ref->tag, "1.2");
  EXPECT_EQ(ref->digest->hex, kHex);
  EXPECT_EQ(ref->str(), "127.0.0.1:5000/a/b:1.2@sha256:" + kHex);
  EXPECT_TRUE(parse_registry_ref("localhost:5000/a")->tag.empty());
}

TEST(RegistryRef, MalformedReferencesSayWhatIsWrong) {
  auto message = [](const std::string& text) {
    Result<RegistryRef> ref = parse_registry_ref(text);
    return ref.ok() ? std::string("accepted") : ref.error().message();
  };
  EXPECT_NE(message("docker://Debian").find("the repository 'library/Debian'"), std::string::npos);
  EXPECT_NE(message("docker://h.io/a:b:c").find("the repository 'a:b'"), std::string::npos)
      << message("docker://h.io/a:b:c");
  EXPECT_NE(message("docker://a@sha256:1234").find("the digest"), std::string::npos);
  EXPECT_NE(message("docker://h.io:99999/a").find("'h.io:99999' is not a host[:port]"),
            std::string::npos);
  EXPECT_NE(message("docker://h.io/a:.x").find("the tag '.x'"), std::string::npos);
  EXPECT_NE(message("docker://").find("no repository"), std::string::npos);
  EXPECT_NE(message("docker://h.io/").find("the repository ''"), std::string::npos);
  EXPECT_NE(message("docker://h.io/" + std::string(260, 'a')).find("the repository"),
            std::string::npos);
  EXPECT_EQ(message("docker://h..io/a").find("accepted"), std::string::npos);
  EXPECT_EQ(message("docker://[zz]:1/a").find("accepted"), std::string::npos);
}

TEST(RegistryRef, SpecImagesNeedADigestUnlessPinning) {
  Result<ImageRef> ref = parse_image_ref("docker://h.io/a:1@sha256:" + kHex);
  ASSERT_TRUE(ref.ok());
  EXPECT_TRUE(ref->path.empty());
  EXPECT_EQ(ref->digest.hex, kHex);
  EXPECT_EQ(ref->name(), "h.io/a:1@sha256:" + kHex);
  EXPECT_EQ(parse_image_ref("docker://h.io/a:1").error().message(),
            "'docker://h.io/a:1' is not pinned: add \"@sha256:<64 hex>\" (the digest of its index "
            "or manifest; `strata pin` writes it)");
  EXPECT_TRUE(parse_image_ref("docker://h.io/a:1", /*allow_unpinned=*/true).ok());
  // Without the transport it is a local path, as before.
  Result<ImageRef> local = parse_image_ref("out/busybox@sha256:" + kHex);
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(local->path, "out/busybox");
  EXPECT_FALSE(local->registry);
}

}  // namespace
}  // namespace strata::specs
