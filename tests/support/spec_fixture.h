// A test fixture for the pipeline's tests: a temporary spec directory holding files/motd,
// and the plan of an image "demo:1.0" (amd64, epoch 1700000000) with one layer copying it to
// /etc/motd. Tests adjust plan_ before building.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "builder/base/fs.h"
#include "specs/plan.h"
#include "tests/support/test_util.h"

namespace strata::builder {

class SpecFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(make_dirs(tmp_.path() + "/spec/files").ok());
    ASSERT_TRUE(write_file(tmp_.path() + "/spec/files/motd", "hello\n").ok());
    plan_.spec.name = "demo";
    plan_.spec.version = "1.0";
    plan_.spec.dir = tmp_.path() + "/spec";
    plan_.spec.epoch = 1700000000;
    plan_.spec.image.architecture = "amd64";
    specs::LayerSpec layer;
    layer.files.push_back({.src = "files/motd", .dest = "/etc/motd"});
    plan_.spec.image.layers.push_back(layer);
  }

  static bool exists(const std::string& path) {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0;
  }

  TempDir tmp_ = testing::make_temp_dir("strata-pipeline-test-");
  specs::Plan plan_;
};

}  // namespace strata::builder
