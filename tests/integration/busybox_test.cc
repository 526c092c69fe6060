// End to end: strata builds a busybox image, the rootfs cache unpacks it, and a command runs
// inside it in the build sandbox — the image really is a usable build environment.
#include <elf.h>
#include <fcntl.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#include "builder/cli/platform.h"
#include "builder/environment/cache.h"
#include "builder/pipeline.h"
#include "sandbox/sandbox.h"
#include "specs/parse.h"
#include "tests/support/host_probe.h"
#include "tests/support/test_image.h"

namespace strata::builder::environment {
namespace {

constexpr char kBusybox[] = "/bin/busybox";

// A spec's `src` must sit next to the spec, so the test copies busybox there.
constexpr char kSpec[] = R"(apiVersion: strata/v1
name: busybox
version: "1.0"
image:
  layers:
    - files: [{src: busybox, dest: /bin/busybox, mode: "0755"}]
  paths:
    - {path: /bin/sh, type: symlink, target: busybox}
    - {path: /bin/echo, type: symlink, target: busybox}
)";

// Builds the busybox image into DIR/out/busybox; returns its manifest digest.
Digest build_busybox(const std::string& dir) {
  EXPECT_TRUE(write_file(dir + "/busybox", *read_file(kBusybox), 0755).ok());
  auto spec = specs::parse_spec(kSpec, dir + "/strata.yaml", dir);
  EXPECT_TRUE(spec.ok()) << spec.error().to_string();
  auto plan = specs::make_plan(*std::move(spec), host_architecture());
  EXPECT_TRUE(plan.ok()) << plan.error().to_string();
  auto built = build_image(*plan, {.output_root = dir + "/out"});
  EXPECT_TRUE(built.ok()) << built.error().message();
  return built.ok() ? built->image.manifest.digest : Digest{};
}

// Runs `sh -c 'echo hi'` in `rootfs`; returns what it printed.
std::string echo_hi(const std::string& rootfs, const std::string& tmp) {
  std::string out_path = tmp + "/stdout";
  auto out = open_fd(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  EXPECT_TRUE(out.ok());
  sandbox::Config config;
  config.rootfs = rootfs;
  config.argv = {"/bin/sh", "-c", "echo hi"};
  config.env = {"PATH=/bin"};
  config.stdout_fd = out->get();
  config.limits.timeout_ms = 30000;
  auto run = sandbox::run_sandboxed(config);
  if (!run.ok()) return run.error().message();
  if (!run->ok()) return run->describe();
  return *read_file(out_path);
}

// Why the busybox image cannot be built and run here, or "": the image holds /bin/busybox
// alone, so it must be the static one (busybox-static; Debian's `busybox` is dynamic).
std::string cannot_run() {
  Result<std::string> elf = read_file(kBusybox);
  if (!elf.ok()) return "needs /bin/busybox (busybox-static)";
  Elf64_Ehdr eh;
  if (elf->size() < sizeof eh || elf->compare(0, SELFMAG, ELFMAG) != 0)
    return "/bin/busybox is not an ELF file";
  std::memcpy(&eh, elf->data(), sizeof eh);
  for (size_t i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    size_t at = eh.e_phoff + i * sizeof ph;
    if (eh.e_ident[EI_CLASS] != ELFCLASS64 || at + sizeof ph > elf->size()) break;
    std::memcpy(&ph, elf->data() + at, sizeof ph);
    if (ph.p_type == PT_INTERP)
      return "/bin/busybox is dynamically linked (install busybox-static)";
  }
  return testing::sandbox_unavailable();
}

TEST(BusyboxImage, BuiltByStrataRunsInTheSandbox) {
  if (std::string why = cannot_run(); !why.empty()) GTEST_SKIP() << why;
  TempDir tmp = testing::make_temp_dir();
  specs::ImageRef ref{.path = "out/busybox", .digest = build_busybox(tmp.path())};
  auto rootfs = ensure_image_rootfs(ref, tmp.path(), tmp.path() + "/cache");
  ASSERT_TRUE(rootfs.ok()) << rootfs.error().message();
  EXPECT_EQ(echo_hi(*rootfs, tmp.path()), "hi\n");
}

// The same image after skopeo rewrote it (Go's tar writer, its own gzip, its own index).
TEST(BusyboxImage, CopiedBySkopeoRunsInTheSandbox) {
  if (std::string why = cannot_run(); !why.empty()) GTEST_SKIP() << why;
  if (std::system("skopeo --version >/dev/null 2>&1") != 0) GTEST_SKIP() << "needs skopeo";
  TempDir tmp = testing::make_temp_dir();
  build_busybox(tmp.path());
  std::string copy = "skopeo copy -q oci:" + tmp.path() +
                     "/out/busybox:1.0 oci-archive:" + tmp.path() + "/copy.tar:copied";
  ASSERT_EQ(std::system(copy.c_str()), 0);
  // skopeo gzips the layer again, so the manifest digest is new: read it from the index.
  std::string index = "tar -xOf " + tmp.path() + "/copy.tar index.json > " + tmp.path() + "/i";
  ASSERT_EQ(std::system(index.c_str()), 0);
  Json parsed = *parse_json(*read_file(tmp.path() + "/i"), "index.json");
  auto digest = Digest::parse(parsed["manifests"][0]["digest"].get<std::string>());
  ASSERT_TRUE(digest.ok());
  auto rootfs =
      ensure_image_rootfs({.path = "copy.tar", .digest = *digest}, tmp.path(), tmp.path() + "/c");
  ASSERT_TRUE(rootfs.ok()) << rootfs.error().message();
  EXPECT_EQ(echo_hi(*rootfs, tmp.path()), "hi\n");
}

}  // namespace
}  // namespace strata::builder::environment
