// End to end: strata builds a busybox image, the rootfs cache unpacks it, and a command runs
// inside it in the build sandbox — the image really is a usable build environment.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "builder/pipeline.h"
#include "builder/platform.h"
#include "builder/rootfs/cache.h"
#include "builder/rootfs/test_image.h"
#include "sandbox/sandbox.h"
#include "specs/parse.h"

namespace strata::builder::rootfs {
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

TEST(BusyboxImage, BuiltByStrataRunsInTheSandbox) {
  struct stat st;
  if (::stat(kBusybox, &st) != 0) GTEST_SKIP() << "apt-get install -y busybox-static";
  if (auto userns = sandbox::check_user_namespaces(); !userns.ok()) {
    GTEST_SKIP() << userns.error().message();
  }
  TempDir tmp = testing::make_temp_dir();
  ASSERT_TRUE(write_file(tmp.path() + "/busybox", *read_file(kBusybox), 0755).ok());
  auto spec = specs::parse_spec(kSpec, tmp.path() + "/strata.yaml", tmp.path());
  ASSERT_TRUE(spec.ok()) << spec.error().to_string();
  auto plan = specs::make_plan(*std::move(spec), host_architecture());
  ASSERT_TRUE(plan.ok()) << plan.error().to_string();
  auto built = build_image(*plan, {.output_root = tmp.path() + "/out"});
  ASSERT_TRUE(built.ok()) << built.error().message();

  specs::ImageRef ref{.path = "out/busybox", .digest = built->image.manifest.digest};
  auto rootfs = ensure_image_rootfs(ref, tmp.path(), tmp.path() + "/cache");
  ASSERT_TRUE(rootfs.ok()) << rootfs.error().message();

  std::string out_path = tmp.path() + "/stdout";
  auto out = open_fd(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_TRUE(out.ok());
  sandbox::Config config;
  config.rootfs = *rootfs;
  config.argv = {"/bin/sh", "-c", "echo hi"};
  config.env = {"PATH=/bin"};
  config.stdout_fd = out->get();
  config.limits.timeout_ms = 30000;
  auto run = sandbox::run_sandboxed(config);
  ASSERT_TRUE(run.ok()) << run.error().message();
  EXPECT_EQ(run->status, sandbox::RunResult::Status::kExited);
  EXPECT_EQ(run->exit_code, 0);
  EXPECT_EQ(*read_file(out_path), "hi\n");
}

}  // namespace
}  // namespace strata::builder::rootfs
