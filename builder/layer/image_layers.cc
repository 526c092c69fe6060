#include "builder/layer/image_layers.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "builder/base/path.h"
#include "specs/inputs.h"

namespace strata::builder {
namespace {

// A layer holds its packages' installed trees (modes as built, owned by root) and then its
// files. Package outputs were built under a fixed umask, so their modes are kept. A layer
// found whole (`history_only`) gets its history and no entries: its files are not walked.
Result<PlannedLayer> image_layer(const specs::Spec& spec, const specs::LayerSpec& layer,
                                 size_t index, const PackageTrees* packages, const DebEntries* debs,
                                 bool history_only) {
  PlannedLayer out{.loc = layer.loc};
  // A run layer's entries are what its commands change (builder/run_layer/); the pipeline
  // computes them once the layers below exist.
  if (!layer.run.empty()) {
    std::vector<std::string> commands;
    for (const specs::Ref& r : layer.run) commands.push_back(r.name);
    out.history = {.created_by = fmt::format("strata: layer {}: run: {}", index + 1,
                                             fmt::join(commands, " && ")),
                   .comment = layer.comment};
    return out;
  }
  std::vector<std::string> names;
  // Debian packages first: their files as the .debs hold them (modes and owners kept), the
  // directories they share merged; packages and files may then add to them.
  if (debs != nullptr && index < debs->size()) {
    for (const LayerEntry& e : (*debs)[index]) {
      LayerEntry entry = e;
      entry.origin = layer.debs.empty() ? layer.loc : layer.debs.front().loc;
      if (entry.type == EntryType::kHardlink) {
        out.tree.add_hardlink(entry.path, entry.link_target, entry.origin);
      } else {
        STRATA_TRY(out.tree.add(std::move(entry)));
      }
    }
  }
  for (const specs::Ref& ref : layer.packages) {
    names.push_back(ref.name);
    if (packages == nullptr) continue;
    auto tree = packages->find(ref.name);
    STRATA_CHECK(tree != packages->end());
    STRATA_TRY(out.tree.add_host_path(tree->second, "/", {.keep_modes = true}, ref.loc));
  }
  for (const specs::FileMapping& f : layer.files) {
    if (history_only) break;
    HostCopyOptions options{
        .file_mode = f.mode, .dir_mode = f.dir_mode, .uid = f.uid, .gid = f.gid};
    // Resolved again here, not only at validate time: the tree may have changed since.
    Result<std::string> src = specs::resolve_local_input(spec, f.src);
    if (!src.ok())
      return Error::spec(f.loc, fmt::format("src '{}': {}", f.src, src.error().message()));
    STRATA_TRY(out.tree.add_host_path(*src, f.dest, options, f.loc));
  }
  std::string what = names.empty() ? "files"
                                   : fmt::format("packages {}{}", fmt::join(names, ", "),
                                                 layer.files.empty() ? "" : " and files");
  if (!layer.debs.empty()) {
    std::vector<std::string> debs_names;
    for (const specs::Ref& r : layer.debs) debs_names.push_back(r.name);
    std::string deb_what = fmt::format("debs {}", fmt::join(debs_names, ", "));
    what = names.empty() && layer.files.empty() ? deb_what : deb_what + ", " + what;
  }
  out.history = {.created_by = fmt::format("strata: layer {}: {}", index + 1, what),
                 .comment = layer.comment};
  return out;
}

LayerEntry generated_file(std::string path, std::string content, Loc loc) {
  int64_t size = static_cast<int64_t>(content.size());
  return {.path = std::move(path),
          .mode = 0644,
          .content = std::move(content),
          .size = size,
          .origin = std::move(loc)};
}

Result<void> add_accounts(const specs::Accounts& accounts, const std::set<std::string>& declared,
                          LayerTree& tree) {
  if (accounts.users.empty() && accounts.groups.empty()) return Ok{};
  STRATA_TRY(tree.add(generated_file("etc/passwd", render_passwd(accounts), accounts.loc)));
  STRATA_TRY(tree.add(generated_file("etc/group", render_group(accounts), accounts.loc)));
  // Like `useradd -m`: each user's home exists and belongs to them, unless the spec lays
  // that path out itself or the home is a conventional non-directory.
  for (const specs::User& u : accounts.users) {
    std::string home = relative_path(u.home);
    if (home.empty() || u.home == "/nonexistent" || declared.count(home)) continue;
    STRATA_TRY(tree.add({.path = home,
                         .type = EntryType::kDirectory,
                         .mode = 0755,
                         .uid = u.uid,
                         .gid = u.gid,
                         .origin = u.loc}));
  }
  return Ok{};
}

Result<void> add_path(const specs::PathEntry& p, LayerTree& tree) {
  std::string rel = relative_path(p.path);
  switch (p.type) {
    case specs::PathType::kDirectory:
      return tree.add({.path = rel,
                       .type = EntryType::kDirectory,
                       .mode = p.mode.value_or(0755),
                       .uid = p.uid,
                       .gid = p.gid,
                       .origin = p.loc});
    case specs::PathType::kFile: {
      LayerEntry e = generated_file(rel, p.content, p.loc);
      e.mode = p.mode.value_or(0644);
      e.uid = p.uid;
      e.gid = p.gid;
      return tree.add(std::move(e));
    }
    case specs::PathType::kSymlink:
      return tree.add({.path = rel,
                       .type = EntryType::kSymlink,
                       .mode = 0777,
                       .uid = p.uid,
                       .gid = p.gid,
                       .link_target = p.target,
                       .origin = p.loc});
    case specs::PathType::kHardlink:
      tree.add_hardlink(rel, relative_path(p.target), p.loc);
      return Ok{};
  }
  return Ok{};
}

}  // namespace

std::string render_passwd(const specs::Accounts& accounts) {
  std::string out;
  bool has_root = std::any_of(accounts.users.begin(), accounts.users.end(),
                              [](const specs::User& u) { return u.uid == 0; });
  if (!has_root) out += "root:x:0:0:root:/root:/sbin/nologin\n";
  for (const specs::User& u : accounts.users) {
    out += fmt::format("{}:x:{}:{}:{}:{}:{}\n", u.name, u.uid, u.gid, u.gecos, u.home, u.shell);
  }
  return out;
}

std::string render_group(const specs::Accounts& accounts) {
  std::string out;
  bool has_root = std::any_of(accounts.groups.begin(), accounts.groups.end(),
                              [](const specs::Group& g) { return g.gid == 0; });
  if (!has_root) out += "root:x:0:\n";
  for (const specs::Group& g : accounts.groups) {
    out += fmt::format("{}:x:{}:{}\n", g.name, g.gid, fmt::join(g.members, ","));
  }
  return out;
}

Result<std::vector<PlannedLayer>> plan_image_layers(const specs::Spec& spec,
                                                    const PackageTrees* packages,
                                                    const DebEntries* debs,
                                                    const std::vector<bool>* found) {
  const specs::Image& image = spec.image;
  std::vector<PlannedLayer> layers;
  for (size_t i = 0; i < image.layers.size(); ++i) {
    bool whole = found != nullptr && i < found->size() && (*found)[i];
    STRATA_TRY_ASSIGN(PlannedLayer layer,
                      image_layer(spec, image.layers[i], i, whole ? nullptr : packages,
                                  whole ? nullptr : debs, whole));
    layers.push_back(std::move(layer));
  }
  PlannedLayer generated{.loc = image.loc};
  std::set<std::string> declared;
  for (const specs::PathEntry& p : image.paths) declared.insert(relative_path(p.path));
  STRATA_TRY(add_accounts(image.accounts, declared, generated.tree));
  for (const specs::PathEntry& p : image.paths) STRATA_TRY(add_path(p, generated.tree));
  if (!generated.tree.empty()) {
    generated.history = {.created_by = "strata: accounts and paths"};
    layers.push_back(std::move(generated));
  }
  if (layers.empty()) {
    return Error::spec(image.loc, "the image has no content: add image.layers, paths or accounts");
  }
  return layers;
}

}  // namespace strata::builder
