// The image half of a spec: base, layers (packages and files), paths, os/architecture and
// annotations. Accounts and config are in parse_config.cc.
#include <fmt/format.h>

#include <set>

#include "builder/base/path.h"
#include "specs/internal/sections.h"
#include "specs/suggest.h"
#include "specs/values.h"

namespace strata::specs::internal {
namespace {

std::optional<ImageRef> read_base(Reader& r, const Value& v, bool allow_unpinned) {
  std::optional<std::string> text = read_string(r, v);
  if (!text || *text == "scratch") return std::nullopt;
  Result<ImageRef> ref = parse_image_ref(*text, allow_unpinned);
  if (!ref.ok()) {
    r.error(v.loc, "base " + ref.error().message() + " or scratch");
    return std::nullopt;
  }
  ref->loc = v.loc;
  return *std::move(ref);
}

FileMapping parse_file(Context& c, const Value& v, std::map<std::string, Loc>& dests) {
  Reader& r = c.reader;
  MapReader m(r, v, {"src", "dest", "mode", "dir_mode", "uid", "gid"});
  FileMapping file;
  file.loc = v.loc;
  std::optional<bool> src_is_dir;
  if (std::optional<Field> f = m.require("src")) {
    std::optional<std::string> text = read_string(r, *f);
    std::optional<std::string> rel = text ? read_rel_path(c, *f, "src", *text) : std::nullopt;
    if (rel) {
      file.src = *text;
      if (c.options.check_files) src_is_dir = check_local_file(c, *f, "src", *rel, true);
    }
  }
  if (std::optional<Field> f = m.require("dest")) {
    file.dest = read_abs_path(r, *f, "dest").value_or("");
    if (!file.dest.empty()) check_unique(r, dests, file.dest, f->loc, "dest");
    if (file.dest == "/" && src_is_dir == false) {
      r.error(f->loc, "dest '/' needs a directory as src");
    }
  }
  if (std::optional<Field> f = m.get("mode")) file.mode = read_mode(r, *f);
  if (std::optional<Field> f = m.get("dir_mode")) {
    file.dir_mode = read_mode(r, *f);
    if (src_is_dir == false) r.error(f->key_loc, "dir_mode only applies when src is a directory");
  }
  if (std::optional<Field> f = m.get("uid")) file.uid = read_id(r, *f).value_or(0);
  if (std::optional<Field> f = m.get("gid")) file.gid = read_id(r, *f).value_or(0);
  return file;
}

// `run:` is one command or a list of them (docs/run-layers.md); none may be empty.
void parse_run(Reader& r, const Field& f, LayerSpec& layer) {
  if (f.node.IsScalar()) {
    if (std::optional<std::string> text = read_string(r, f)) layer.run.push_back({*text, f.loc});
  } else {
    layer.run = read_string_list(r, f);
    if (f.node.IsSequence() && f.node.size() == 0)
      r.error(f.loc, "'run' needs at least one command");
  }
  for (const Ref& cmd : layer.run) {
    if (cmd.name.find_first_not_of(" \t\n") == std::string::npos) {
      r.error(cmd.loc, "a 'run' command is empty");
    }
  }
}

LayerSpec parse_layer(Context& c, const Value& v) {
  Reader& r = c.reader;
  MapReader m(r, v, {"packages", "debs", "files", "run", "comment"});
  LayerSpec layer;
  layer.loc = v.loc;
  std::optional<Field> packages = m.get("packages");
  std::optional<Field> files = m.get("files");
  std::optional<Field> debs = m.get("debs");
  if (packages) layer.packages = read_string_list(r, *packages);
  if (debs) {
    layer.debs = read_string_list(r, *debs);
    for (const Ref& ref : layer.debs) {
      if (!is_debian_package_name(ref.name)) {
        r.error(ref.loc, fmt::format("'{}' is not a Debian package name (lowercase letters, "
                                     "digits, '+', '-' and '.')",
                                     ref.name));
      }
    }
  }
  if (files) {
    std::map<std::string, Loc> dests;
    for (const Value& item : read_sequence(r, *files)) {
      layer.files.push_back(parse_file(c, item, dests));
    }
  }
  if (std::optional<Field> f = m.get("comment")) layer.comment = read_string(r, *f).value_or("");
  if (std::optional<Field> run = m.get("run")) {
    parse_run(r, *run, layer);
    if (packages || files || debs) {
      r.error(run->key_loc,
              "a 'run' layer holds only its commands: put 'packages', 'debs' and "
              "'files' in a layer of their own");
    }
    return layer;
  }
  if (m.ok() && !packages && !files && !debs) {
    r.error(m.loc(), "a layer needs 'packages', 'debs', 'files' or 'run'");
  }
  return layer;
}

// Checks the keys that only some path types take, once the type is known.
void check_path_type(Reader& r, const MapReader& m, PathEntry& p) {
  bool is_link = p.type == PathType::kSymlink || p.type == PathType::kHardlink;
  std::optional<Field> content = m.get("content");
  std::optional<Field> target = m.get("target");
  std::optional<Field> mode = m.get("mode");
  if (content && p.type != PathType::kFile) {
    r.error(content->key_loc, "'content' is only allowed with 'type: file'");
  }
  if (mode && is_link) r.error(mode->key_loc, "a link has no mode of its own; remove 'mode'");
  if (target && !is_link) {
    r.error(target->key_loc, "'target' is only allowed with 'type: symlink' or 'type: hardlink'");
  } else if (!target && is_link) {
    r.error(m.loc(), "missing required key 'target' (needed by a link)");
  } else if (target && p.type == PathType::kHardlink) {
    p.target = read_abs_path(r, *target, "target").value_or("");
    if (p.target == p.path) r.error(target->loc, "a hardlink cannot point at itself");
  } else if (target) {
    p.target = read_string(r, *target).value_or("");
    if (p.target.empty()) r.error(target->loc, "target is empty");
  }
  if (content) p.content = read_string(r, *content).value_or("");
  if (p.path == "/" && p.type != PathType::kDirectory) r.error(m.loc(), "'/' is a directory");
}

PathEntry parse_path(Reader& r, const Value& v, std::map<std::string, Loc>& seen) {
  MapReader m(r, v, {"path", "type", "mode", "uid", "gid", "content", "target"});
  PathEntry p;
  p.loc = v.loc;
  if (std::optional<Field> f = m.require("path")) {
    p.path = read_abs_path(r, *f, "path").value_or("");
    if (!p.path.empty()) check_unique(r, seen, p.path, f->loc, "path");
  }
  std::optional<std::string> type;
  if (std::optional<Field> f = m.require("type")) {
    type = read_enum(r, *f, "path type", {"directory", "file", "symlink", "hardlink"});
    if (type == "file") p.type = PathType::kFile;
    if (type == "symlink") p.type = PathType::kSymlink;
    if (type == "hardlink") p.type = PathType::kHardlink;
  }
  if (std::optional<Field> f = m.get("mode")) p.mode = read_mode(r, *f);
  if (std::optional<Field> f = m.get("uid")) p.uid = read_id(r, *f).value_or(0);
  if (std::optional<Field> f = m.get("gid")) p.gid = read_id(r, *f).value_or(0);
  if (type) check_path_type(r, m, p);
  return p;
}

void read_platform(Reader& r, const MapReader& m, Image& image) {
  if (std::optional<Field> f = m.get("os")) {
    image.os = read_enum(r, *f, "os", {"linux"}).value_or("linux");
  }
  std::optional<Field> f = m.get("architecture");
  std::optional<std::string> arch = f ? read_string(r, *f) : std::nullopt;
  if (!arch) return;
  const std::vector<std::string>& names = goarch_names();
  if (std::find(names.begin(), names.end(), *arch) != names.end()) {
    image.architecture = *arch;
    return;
  }
  Result<std::string> goarch = goarch_for_machine(*arch);
  std::string hint =
      goarch.ok() ? fmt::format("; did you mean '{}'?", *goarch) : did_you_mean(*arch, names);
  r.error(f->loc, fmt::format("'{}' is not a GOARCH architecture name{}", *arch, hint));
}

}  // namespace

std::vector<LayerSpec> parse_layers(Context& c, const Value& v) {
  std::vector<LayerSpec> layers;
  for (const Value& item : read_sequence(c.reader, v)) {
    if (layers.size() == kMaxLayers) {
      c.reader.error(item.loc, fmt::format("an image may have at most {} layers (overlay "
                                           "filesystems stack no more): merge some",
                                           kMaxLayers));
      break;
    }
    layers.push_back(parse_layer(c, item));
  }
  return layers;
}

std::vector<PathEntry> parse_paths(Context& c, const Value& v) {
  std::vector<PathEntry> paths;
  std::map<std::string, Loc> seen;
  for (const Value& item : read_sequence(c.reader, v)) {
    paths.push_back(parse_path(c.reader, item, seen));
  }
  return paths;
}

const std::vector<std::string>& image_keys() {
  static const std::vector<std::string> kKeys = {
      "base", "layers", "accounts", "paths", "config", "annotations", "os", "architecture"};
  return kKeys;
}

Image parse_image(Context& c, const Value& v) {
  Reader& r = c.reader;
  MapReader m(r, v, image_keys());
  Image image;
  image.loc = v.loc;
  if (std::optional<Field> f = m.get("base"))
    image.base = read_base(r, *f, c.options.allow_unpinned);
  if (std::optional<Field> f = m.get("layers")) image.layers = parse_layers(c, *f);
  if (std::optional<Field> f = m.get("accounts")) image.accounts = parse_accounts(c, *f);
  if (std::optional<Field> f = m.get("paths")) image.paths = parse_paths(c, *f);
  if (std::optional<Field> f = m.get("config")) image.config = parse_config(c, *f, image);
  if (std::optional<Field> f = m.get("annotations")) image.annotations = read_labels(r, *f);
  read_platform(r, m, image);
  return image;
}

}  // namespace strata::specs::internal
