#include "builder/run_layer/run_layer.h"

#include <gtest/gtest.h>

namespace strata::builder::run_layer {
namespace {

TEST(RunLayer, OnlyARefusedOverlayMountFallsBackToTheCopy) {
  EXPECT_TRUE(overlay_refused(
      Error(ErrorCode::kSandbox,
            "sandbox setup: mount overlay of /c/run-layers/tmp/x/before/etc on /etc: Invalid "
            "argument")
          .context("layer 2: run command 1 'ldconfig'")));
  EXPECT_FALSE(overlay_refused(Error(ErrorCode::kSandbox,
                                     "sandbox setup: execve /bin/sh: No "
                                     "such file or directory")));
  EXPECT_FALSE(overlay_refused(Error(ErrorCode::kUnsupported, "user namespaces: mount overlay")));
}

TEST(RunLayer, TheKeyChangesWithEachInput) {
  Digest lower = sha256_of("layer");
  auto key = [&](std::vector<Digest> lowers, std::vector<std::string> commands, int64_t epoch,
                 DeterminismProfile profile) {
    auto k = run_layer_key(lowers, commands, epoch, profile);
    EXPECT_TRUE(k.ok());
    return k.ok() ? k->hex : "";
  };
  std::string base = key({lower}, {"ldconfig"}, 1, kCurrentProfile);
  EXPECT_EQ(base, key({lower}, {"ldconfig"}, 1, kCurrentProfile));
  EXPECT_NE(base, key({lower, lower}, {"ldconfig"}, 1, kCurrentProfile));
  EXPECT_NE(base, key({lower}, {"ldconfig", "true"}, 1, kCurrentProfile));
  EXPECT_NE(base, key({lower}, {"ldconfig"}, 2, kCurrentProfile));
  EXPECT_NE(base, key({lower}, {"ldconfig"}, 1, DeterminismProfile::kDet1));
}

TEST(RunLayer, TheEnvironmentIsFixed) {
  EXPECT_EQ(
      run_environment(42),
      (std::vector<std::string>{"HOME=/root", "LANG=C.UTF-8", "LC_ALL=C.UTF-8",
                                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                "SOURCE_DATE_EPOCH=42", "TZ=UTC"}));
}

}  // namespace
}  // namespace strata::builder::run_layer
