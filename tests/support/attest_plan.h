// The attest/ tests' Plan: one that uses every input kind (url and path sources, dependent
// packages, an environment image and a base image).
#pragma once

#include <string_view>

#include "builder/base/digest.h"
#include "specs/plan.h"
#include "tests/support/test_util.h"

namespace strata::attest::testing {

inline Digest digest_of(std::string_view s) { return sha256_of(s); }

// A spec with two sources (url and path), two packages (one depending on the other, one
// in the first layer), an environment image and a base image; names that sanitize alike.
inline specs::Plan full_plan() {
  specs::Plan plan;
  specs::Spec& s = plan.spec;
  s.name = "example.com/team/hello";
  s.version = "2.12";
  s.epoch = 1700000000;
  s.image.architecture = "amd64";
  s.sources.push_back({.name = "hello-src",
                       .url = "https://example.org/hello-2.12.tar.gz",
                       .sha256 = digest_of("hello-src")});
  s.sources.push_back({.name = "patches", .path = "patches/", .sha256 = digest_of("patches")});
  s.environment.rootfs = specs::RootfsKind::kImage;
  s.environment.image = specs::ImageRef{.path = "./toolchain", .digest = digest_of("toolchain")};
  s.image.base = specs::ImageRef{.path = "../base.tar", .digest = digest_of("base")};
  s.packages.push_back(
      {.name = "libgreet", .version = "1.0", .license = "MIT", .sources = {{.name = "patches"}}});
  s.packages.push_back({.name = "hello",
                        .version = "2.12",
                        .license = "GPL-3.0-or-later",
                        .sources = {{.name = "hello-src"}, {.name = "patches"}},
                        .depends = {{.name = "libgreet"}}});
  specs::LayerSpec layer;
  layer.packages.push_back({.name = "hello"});
  s.image.layers.push_back(layer);
  return plan;
}

}  // namespace strata::attest::testing
