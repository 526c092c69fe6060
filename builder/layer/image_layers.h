// The layers stage: turns spec.image into one LayerTree per OCI layer: each image.layers
// entry in order, then one for the accounts and paths strata generates (so the spec's own
// word on /etc/passwd, /tmp and friends is applied last).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "builder/oci/image_config.h"
#include "builder/tar/tree.h"
#include "specs/spec.h"

namespace strata::builder {

struct PlannedLayer {
  LayerTree tree;
  oci::HistoryEntry history;
  Loc loc;
};

// The installed tree of each built package, by package name.
using PackageTrees = std::map<std::string, std::string>;

// The entries of each spec layer's Debian packages (debian/debs_stage.h), by layer index.
using DebEntries = std::vector<std::vector<LayerEntry>>;

// `packages` holds the output directory of every package a layer names; with nullptr (as in
// `strata validate`, before anything is built) package layers are checked by name only.
// `debs` likewise holds the entries of the layers' debs (nullptr: not added). The layers
// `found` marks (taken whole from the layer cache by their inputs, layer_cache.h) get their
// history only, and an empty tree.
Result<std::vector<PlannedLayer>> plan_image_layers(const specs::Spec& spec,
                                                    const PackageTrees* packages,
                                                    const DebEntries* debs = nullptr,
                                                    const std::vector<bool>* found = nullptr);

// /etc/passwd and /etc/group for image.accounts: a root entry first unless the spec declares
// uid/gid 0, then the spec's entries in spec order.
std::string render_passwd(const specs::Accounts& accounts);
std::string render_group(const specs::Accounts& accounts);

}  // namespace strata::builder
