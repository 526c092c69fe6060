// Where a spec's pins are written, and rewriting them in place (`strata pin`): the sha256 of
// each source and the manifest digest of each local image (image.base, environment.image).
// Only those scalars change; every other byte of the file (comments, layout, quoting, key
// order) is kept. Implemented with yaml-cpp; nothing of it appears here.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "builder/base/digest.h"
#include "builder/base/result.h"
#include "specs/diagnostics.h"

namespace strata::specs {

struct PinSite {
  enum class Kind { kSource, kImage };
  Kind kind = Kind::kSource;
  // The source's name, or "image.base" / "environment.image".
  std::string name;
  // Where messages point: the digest's value, else the source's url/path value.
  Loc loc;
  // The digest as written (empty when there is none yet).
  Digest pinned;
  // Byte offsets in the text. With a digest written: [begin, end) is its 64 hex digits
  // (after any "sha256:" prefix), and `insert` is empty. Without one: the text `insert`
  // with the placeholder "%s" for the hex goes at `begin` (== end): after a source's
  // url/path value (", sha256: %s" in a flow mapping, "\n<indent>sha256: %s" at the end of
  // the line in a block mapping), or at the end of an image's path ("@sha256:%s").
  size_t begin = 0;
  size_t end = 0;
  std::string insert;
};

// The pin sites of a spec's text, in file order. The text must be a spec that parses (with
// ParseOptions::allow_unpinned): this reads only the shape. A value that cannot be edited in
// place (a multi-line, escaped or aliased scalar) is a kSpec error at its location saying so.
Result<std::vector<PinSite>> find_pin_sites(std::string_view yaml, const std::string& file);

struct PinEdit {
  const PinSite* site = nullptr;
  Digest digest;  // what to write
};

// `yaml` with every edit applied; sites are from find_pin_sites(yaml).
std::string apply_pin_edits(std::string_view yaml, std::vector<PinEdit> edits);

}  // namespace strata::specs
