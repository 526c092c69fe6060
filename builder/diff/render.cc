// The two outputs of a comparison: text for people (format_diff) and JSON (diff_to_json).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "builder/diff/image_diff.h"

namespace strata::builder::diff {
namespace {

// Text output lists at most this many paths per layer (and for the merged filesystem); the
// JSON output lists them all.
constexpr size_t kMaxFileLines = 50;
constexpr size_t kMaxValueChars = 120;

std::string short_hex(const Digest& d) { return "sha256:" + d.hex.substr(0, 12) + "…"; }

std::string short_id(const std::optional<Digest>& d) { return d ? short_hex(*d) : "unknown"; }

std::string dump(const Json& v) { return v.dump(-1, ' ', false, Json::error_handler_t::replace); }

std::string value_text(const std::optional<Json>& v) {
  if (!v) return "(absent)";
  std::string text = dump(*v);
  if (text.size() > kMaxValueChars) text = text.substr(0, kMaxValueChars) + "…";
  return text;
}

std::string type_name(const ReadEntry& e) {
  if (e.is_other_type) return "other";
  switch (e.type) {
    case EntryType::kRegular:
      return "file";
    case EntryType::kDirectory:
      return "directory";
    case EntryType::kSymlink:
      return "symlink";
    case EntryType::kHardlink:
      return "hardlink";
  }
  return "other";
}

std::string xattr_changes(const ReadEntry& a, const ReadEntry& b) {
  std::vector<std::string> parts;
  for (const auto& [name, value] : a.xattrs) {
    auto it = b.xattrs.find(name);
    if (it == b.xattrs.end()) {
      parts.push_back("-" + name);
    } else if (it->second != value) {
      parts.push_back("~" + name);
    }
  }
  for (const auto& [name, value] : b.xattrs) {
    if (!a.xattrs.contains(name)) parts.push_back("+" + name);
  }
  return fmt::format("{}", fmt::join(parts, " "));
}

std::string aspect_text(const std::string& aspect, const FileDiff& f) {
  const ReadEntry& a = *f.a;
  const ReadEntry& b = *f.b;
  if (aspect == "type") return fmt::format("type {} -> {}", type_name(a), type_name(b));
  if (aspect == "content") {
    return fmt::format("content {} -> {}", short_hex(a.content_digest),
                       short_hex(b.content_digest));
  }
  if (aspect == "size") return fmt::format("size {} -> {}", a.size, b.size);
  if (aspect == "mode") return fmt::format("mode {:04o} -> {:04o}", a.mode, b.mode);
  if (aspect == "uid") return fmt::format("uid {} -> {}", a.uid, b.uid);
  if (aspect == "gid") return fmt::format("gid {} -> {}", a.gid, b.gid);
  if (aspect == "uname") return fmt::format("uname \"{}\" -> \"{}\"", a.uname, b.uname);
  if (aspect == "gname") return fmt::format("gname \"{}\" -> \"{}\"", a.gname, b.gname);
  if (aspect == "mtime") return fmt::format("mtime {} -> {}", a.mtime, b.mtime);
  if (aspect == "link") return fmt::format("link \"{}\" -> \"{}\"", a.link_target, b.link_target);
  if (aspect == "xattrs") return "xattrs " + xattr_changes(a, b);
  if (aspect == "order") {
    return fmt::format("order: entry {} -> {}", f.position_a + 1, f.position_b + 1);
  }
  return aspect;
}

void append_files(const std::vector<FileDiff>& files, const FormatOptions& options,
                  std::string& out) {
  size_t limit = options.all ? files.size() : kMaxFileLines;
  for (size_t i = 0; i < files.size() && i < limit; ++i) {
    const FileDiff& f = files[i];
    if (f.change == FileChange::kAdded) {
      out += fmt::format("  + {}\n", f.path);
    } else if (f.change == FileChange::kRemoved) {
      out += fmt::format("  - {}\n", f.path);
    } else {
      std::vector<std::string> parts;
      for (const std::string& aspect : f.aspects) parts.push_back(aspect_text(aspect, f));
      out += fmt::format("  ~ {}: {}\n", f.path, fmt::join(parts, ", "));
    }
  }
  if (files.size() > limit) {
    out += fmt::format("  … and {} more (--all prints every path, --json lists them all)\n",
                       files.size() - limit);
  }
}

void append_layer(const LayerDiff& l, const FormatOptions& options, std::string& out) {
  if (l.index_a >= 0 && l.index_b >= 0) {
    std::string where = l.index_a == l.index_b
                            ? fmt::format("layer {}", l.index_a + 1)
                            : fmt::format("layer {} (A) / {} (B)", l.index_a + 1, l.index_b + 1);
    out += fmt::format("{}: {} -> {} (diff_id)\n", where, short_id(l.diff_id_a),
                       short_id(l.diff_id_b));
    if (l.files.empty()) out += "  same entries; the tar bytes differ (headers or padding)\n";
  } else if (l.index_a >= 0) {
    out += fmt::format("layer {}: only in A: {} (diff_id)\n", l.index_a + 1, short_id(l.diff_id_a));
  } else {
    out += fmt::format("layer {}: only in B: {} (diff_id)\n", l.index_b + 1, short_id(l.diff_id_b));
  }
  append_files(l.files, options, out);
}

std::string plural(int64_t n, std::string_view word) {
  return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s");
}

Json xattr_value(const std::string& value) {
  bool printable =
      std::all_of(value.begin(), value.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
  if (printable) return value;
  std::string hex = "hex:";
  for (unsigned char c : value) hex += fmt::format("{:02x}", c);
  return hex;
}

Json entry_json(const ReadEntry& e) {
  Json j = {{"type", type_name(e)}, {"mode", fmt::format("{:04o}", e.mode)},
            {"uid", e.uid},         {"gid", e.gid},
            {"uname", e.uname},     {"gname", e.gname},
            {"mtime", e.mtime}};
  if (e.type == EntryType::kRegular && !e.is_other_type) {
    j["size"] = e.size;
    j["digest"] = e.content_digest.str();
  }
  if (!e.link_target.empty()) j["link"] = e.link_target;
  if (!e.xattrs.empty()) {
    Json x = Json::object();
    for (const auto& [name, value] : e.xattrs) x[name] = xattr_value(value);
    j["xattrs"] = std::move(x);
  }
  return j;
}

Json file_json(const FileDiff& f) {
  static constexpr const char* kChange[] = {"added", "removed", "changed"};
  Json j = {{"path", f.path}, {"change", kChange[static_cast<int>(f.change)]}};
  if (f.change == FileChange::kChanged) j["aspects"] = f.aspects;
  if (f.a) j["a"] = entry_json(*f.a);
  if (f.b) j["b"] = entry_json(*f.b);
  if (f.position_a >= 0) j["position_a"] = f.position_a;
  if (f.position_b >= 0) j["position_b"] = f.position_b;
  return j;
}

Json layer_json(const LayerDiff& l) {
  Json files = Json::array();
  for (const FileDiff& f : l.files) files.push_back(file_json(f));
  Json j = {{"index_a", l.index_a}, {"index_b", l.index_b}, {"files", std::move(files)}};
  if (l.descriptor_a) j["descriptor_a"] = l.descriptor_a->to_json();
  if (l.descriptor_b) j["descriptor_b"] = l.descriptor_b->to_json();
  if (l.diff_id_a) j["diff_id_a"] = l.diff_id_a->str();
  if (l.diff_id_b) j["diff_id_b"] = l.diff_id_b->str();
  return j;
}

}  // namespace

std::string format_diff(const ImageDiff& diff, const FormatOptions& options) {
  std::string out;
  for (const FieldDiff& f : diff.fields) {
    out += fmt::format("{} {}: {} -> {}{}\n", f.document, f.pointer.empty() ? "/" : f.pointer,
                       value_text(f.a), value_text(f.b), f.note.empty() ? "" : " (" + f.note + ")");
  }
  for (const LayerDiff& l : diff.layers) append_layer(l, options, out);
  if (!diff.filesystem.empty()) {
    out += "filesystem (layers merged):\n";
    append_files(diff.filesystem, options, out);
  }
  for (const std::string& problem : diff.integrity) out += "integrity: " + problem + "\n";
  if (diff.is_same()) {
    out += "images are identical\n";
  } else {
    int64_t files = static_cast<int64_t>(diff.filesystem.size());
    for (const LayerDiff& l : diff.layers) files += static_cast<int64_t>(l.files.size());
    out += fmt::format("{}: {}, {}, {}, {}\n", plural(diff.difference_count(), "difference"),
                       plural(static_cast<int64_t>(diff.fields.size()), "field"),
                       plural(static_cast<int64_t>(diff.layers.size()), "layer"),
                       plural(files, "path"),
                       plural(static_cast<int64_t>(diff.integrity.size()), "integrity problem"));
  }
  return out;
}

Json diff_to_json(const ImageDiff& diff) {
  Json fields = Json::array();
  for (const FieldDiff& f : diff.fields) {
    Json j = {{"document", f.document}, {"pointer", f.pointer}};
    if (f.a) j["a"] = *f.a;
    if (f.b) j["b"] = *f.b;
    if (!f.note.empty()) j["note"] = f.note;
    fields.push_back(std::move(j));
  }
  Json layers = Json::array();
  for (const LayerDiff& l : diff.layers) layers.push_back(layer_json(l));
  Json filesystem = Json::array();
  for (const FileDiff& f : diff.filesystem) filesystem.push_back(file_json(f));
  return {{"same", diff.is_same()},
          {"differences", diff.difference_count()},
          {"a", {{"source", diff.source_a}, {"manifest", diff.manifest_a.str()}}},
          {"b", {{"source", diff.source_b}, {"manifest", diff.manifest_b.str()}}},
          {"fields", std::move(fields)},
          {"layers", std::move(layers)},
          {"filesystem", std::move(filesystem)},
          {"integrity", diff.integrity}};
}

}  // namespace strata::builder::diff
