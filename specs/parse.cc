// The spec parser's entry points: read the file, load the YAML document (the only place
// yaml-cpp exceptions are caught), read the top-level keys, run the cross-section checks.
#include "specs/parse.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "builder/base/fd.h"
#include "builder/base/fs.h"
#include "builder/base/utf8.h"
#include "specs/inputs.h"
#include "specs/internal/sections.h"
#include "specs/values.h"
#include "specs/yaml_tree.h"

namespace strata::specs {
namespace {

using internal::Field;
using internal::MapReader;
using internal::Reader;
using internal::Value;

inline constexpr int64_t kMaxEpoch = 253402300799;  // 9999-12-31T23:59:59Z, RFC 3339's last

// yaml-cpp reports errors found at end of input (an unclosed '[') on the line after the
// last one; point at the end of the last line instead, so there is a line to show.
Loc clamp_to_source(Loc loc, std::string_view yaml) {
  std::string_view text = yaml;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  int lines = text.empty() ? 1 : static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
  if (loc.line <= lines) return loc;
  size_t last = text.rfind('\n');
  std::string_view last_line = last == std::string_view::npos ? text : text.substr(last + 1);
  return {loc.file, lines, static_cast<int>(last_line.size()) + 1};
}

// Records where each document starts; the parse itself is YAML::Load's.
class DocumentCounter : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> starts;
  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// Where a second document starts, if there is one. Not YAML::LoadAll: on a ',' outside any
// flow collection yaml-cpp 0.7 keeps returning empty documents without consuming input, and
// LoadAll collects them until memory runs out (found by fuzz_parse.cc). Two calls suffice.
std::optional<YAML::Mark> second_document(const std::string& text) {
  std::stringstream in(text);
  YAML::Parser parser(in);
  DocumentCounter counter;
  for (int i = 0; i < 2 && parser.HandleNextDocument(counter); ++i) {
  }
  if (counter.starts.size() < 2) return std::nullopt;
  return counter.starts[1];
}

// The line and column of byte `offset` in `text`.
Loc loc_of_offset(const std::string& file, std::string_view text, size_t offset) {
  std::string_view before = text.substr(0, offset);
  int line = static_cast<int>(std::count(before.begin(), before.end(), '\n')) + 1;
  size_t start = before.rfind('\n');
  start = start == std::string_view::npos ? 0 : start + 1;
  return {file, line, static_cast<int>(offset - start) + 1};
}

// The checks on the raw bytes, before yaml-cpp sees them: the size and the encoding.
bool check_text(Reader& r, std::string_view yaml, std::string_view what) {
  if (yaml.size() > kMaxSpecBytes) {
    r.error({r.file(), 1, 1}, fmt::format("the {} is {} bytes; a {} may have at most {} MiB", what,
                                          yaml.size(), what, kMaxSpecBytes >> 20));
    return false;
  }
  size_t valid = valid_utf8_prefix(yaml);
  if (valid < yaml.size()) {
    r.error(loc_of_offset(r.file(), yaml, valid),
            fmt::format("invalid UTF-8 (byte {}): a {} is UTF-8 text",
                        escape_bytes(yaml.substr(valid, 1)), what));
    return false;
  }
  return true;
}

// The checks on the document's shape, aliases expanded, before any section is read: a
// bounded number of values, nesting depth and scalar length. Stops at the first problem.
class ShapeCheck {
 public:
  ShapeCheck(Reader& r, std::string_view what) : r_(r), what_(what) {}
  bool visit(const YAML::Node& node, int depth) {
    if (++values_ > kMaxValues) {
      return fail(node, fmt::format("the {} holds more than {} values (YAML aliases that "
                                    "repeat each other?)",
                                    what_, kMaxValues));
    }
    if (depth > kMaxDepth) {
      return fail(node, fmt::format("values are nested more than {} levels deep", kMaxDepth));
    }
    if (node.IsScalar()) {
      if (node.Scalar().size() <= kMaxScalarBytes) return true;
      return fail(node, fmt::format("a value of {} bytes; a value may have at most {} MiB",
                                    node.Scalar().size(), kMaxScalarBytes >> 20));
    }
    if (node.IsSequence()) {
      for (auto it = node.begin(); it != node.end(); ++it) {
        if (!visit(*it, depth + 1)) return false;
      }
    } else if (node.IsMap()) {
      for (auto it = node.begin(); it != node.end(); ++it) {
        if (!visit(it->first, depth + 1) || !visit(it->second, depth + 1)) return false;
      }
    }
    return true;
  }

 private:
  bool fail(const YAML::Node& node, std::string message) {
    r_.error(r_.loc(node), std::move(message));
    return false;
  }
  Reader& r_;
  std::string_view what_;
  size_t values_ = 0;
};

// The source split into lines (without their '\n').
std::vector<std::string_view> source_lines(std::string_view yaml) {
  std::vector<std::string_view> lines;
  while (!yaml.empty()) {
    size_t end = yaml.find('\n');
    lines.push_back(yaml.substr(0, end));
    if (end == std::string_view::npos) break;
    yaml.remove_prefix(end + 1);
  }
  return lines;
}

// A line that holds a key or an item (not blank, not only a comment).
bool is_content(std::string_view line) {
  size_t first = line.find_first_not_of(" \t\r");
  return first != std::string_view::npos && line[first] != '#';
}

// What yaml-cpp's messages about indentation mean: it reports a mis-indented line as the
// end of the mapping or sequence it could not continue, or as a stray ':' or '-'.
bool is_indentation_message(std::string_view msg) {
  return msg == "end of map not found" || msg == "end of sequence not found" ||
         msg == "illegal map value" || msg == "illegal block entry" ||
         msg == "illegal tab when looking for indentation";
}

// A clearer report than yaml-cpp's for the two usual causes of its indentation messages: a
// tab indenting some line up to `line` (0-based), or a line indented to no level
// of the mappings and lists above it. False when neither applies.
bool explain_indentation(Reader& r, std::string_view yaml, int line) {
  std::vector<std::string_view> lines = source_lines(yaml);
  if (line < 0 || lines.empty()) return false;
  int last = std::min<int>(line, static_cast<int>(lines.size()) - 1);
  for (int i = 0; i <= last; ++i) {
    std::string_view text = lines[i];
    size_t indent_end = text.find_first_not_of(" \t");
    if (indent_end == std::string_view::npos || !is_content(text)) continue;
    // A tab after spaces may be content of a block scalar (a script's indentation); one at
    // the start of a line, or on the line yaml-cpp stopped at, is indentation.
    size_t tab = text.substr(0, indent_end).find('\t');
    if (tab != std::string_view::npos && (tab == 0 || i == last)) {
      r.error({r.file(), i + 1, static_cast<int>(tab) + 1},
              "tabs are not allowed for indentation in YAML; use spaces");
      return true;
    }
  }
  if (!is_content(lines[last])) return false;
  size_t indent = lines[last].find_first_not_of(' ');
  // The levels this line could continue: walking up, each line less indented than every
  // line below it opens an enclosing mapping or list.
  std::vector<std::string> expected;
  size_t below = indent;
  bool first = true;
  for (int i = last - 1; i >= 0; --i) {
    if (!is_content(lines[i])) continue;
    size_t level = lines[i].find_first_not_of(' ');
    if (!first && level >= below) continue;
    if (level == indent) return false;  // the line lines up with a level: not the cause
    std::string_view text = lines[i].substr(level);
    std::string what = text.starts_with("-")
                           ? fmt::format("the list item on line {}", i + 1)
                           : fmt::format("'{}' on line {}", text.substr(0, text.find(':')), i + 1);
    expected.push_back(fmt::format("{} (like {})", level, what));
    below = level;
    first = false;
    if (level == 0) break;
  }
  if (expected.empty()) return false;
  r.error({r.file(), last + 1, static_cast<int>(indent) + 1},
          fmt::format("bad indentation: this line is indented {} spaces, which lines up with "
                      "no key above: expected {} (YAML nests by indentation)",
                      indent, fmt::join(expected, " or ")));
  return true;
}

// The single YAML document of the spec (or of another file, named by `what`), or nullopt after
// reporting why there is none. `empty_hint` follows "the WHAT is empty".
std::optional<YAML::Node> load_document(Reader& r, std::string_view yaml, std::string_view what,
                                        std::string_view empty_hint) {
  std::string text(yaml);
  YAML::Node doc;
  std::optional<YAML::Mark> second;
  try {
    doc = YAML::Load(text);
    second = second_document(text);
  } catch (const YAML::Exception& e) {
    // yaml-cpp's what() is "yaml-cpp: error at line L, column C: msg"; the Loc says the rest.
    if (is_indentation_message(e.msg) && explain_indentation(r, yaml, e.mark.line)) {
      return std::nullopt;
    }
    std::string msg = e.msg.empty() ? "malformed YAML" : e.msg;
    if (e.msg == "end of map not found" || e.msg == "end of sequence not found") {
      msg +=
          " (check the indentation of this line and the ones above: YAML nests by "
          "indentation, with spaces)";
    }
    r.error(clamp_to_source(r.loc(e.mark), yaml), msg);
    return std::nullopt;
  } catch (const std::exception& e) {
    r.error({r.file(), 1, 1}, fmt::format("malformed YAML: {}", e.what()));
    return std::nullopt;
  }
  if (second) {
    bool stray_comma = second->pos >= 0 && static_cast<size_t>(second->pos) < text.size() &&
                       text[second->pos] == ',';
    r.error(clamp_to_source(r.loc(*second), yaml),
            stray_comma ? "unexpected ',' outside a [...] or {...} collection"
                        : fmt::format("a {} is one YAML document; found a second one here", what));
    return std::nullopt;
  }
  if (doc.IsNull()) {
    r.error({r.file(), 1, 1}, fmt::format("the {} is empty{}", what, empty_hint));
    return std::nullopt;
  }
  if (!ShapeCheck(r, what).visit(doc, 0)) return std::nullopt;
  return doc;
}

void read_identity(Reader& r, const MapReader& m, Spec& spec) {
  if (std::optional<Field> f = m.require("apiVersion")) {
    std::optional<std::string> api = read_string(r, *f);
    if (api && *api != "strata/v1") {
      r.error(f->loc, fmt::format("unsupported apiVersion '{}' (expected strata/v1)", *api));
    }
  }
  if (std::optional<Field> f = m.require("name")) {
    std::optional<std::string> name = read_string(r, *f);
    if (name && !is_image_name(*name)) {
      r.error(f->loc, fmt::format("'{}' is not a valid image name (lowercase letters and digits, "
                                  "separated by '.', '_', '__' or '-', components joined by '/')",
                                  *name));
    } else if (name) {
      spec.name = *name;
    }
  }
  if (std::optional<Field> f = m.get("version")) {
    std::optional<std::string> version = read_string(r, *f);
    if (version && !is_tag(*version)) {
      r.error(f->loc, fmt::format("'{}' is not a valid image tag (letters, digits, '_', '.' and "
                                  "'-', not starting with '.' or '-', at most 128)",
                                  *version));
    } else if (version) {
      spec.version = *version;
    }
  }
  if (std::optional<Field> f = m.get("epoch")) {
    spec.epoch = read_int(r, *f, 0, kMaxEpoch).value_or(kDefaultEpoch);
  }
}

void read_top_level(internal::Context& c, const YAML::Node& doc, Spec& spec) {
  Reader& r = c.reader;
  Value root{doc, r.loc(doc)};
  if (!doc.IsMap()) {
    r.error(root.loc, fmt::format("expected a mapping at the top of the spec, got {}",
                                  internal::kind_of(doc)));
    return;
  }
  MapReader m(r, root,
              {"apiVersion", "name", "version", "epoch", "sources", "environment", "packages",
               "debian", "image", "vex"},
              {{"image", internal::image_keys()}});
  read_identity(r, m, spec);
  if (std::optional<Field> f = m.get("sources")) spec.sources = parse_sources(c, *f);
  if (std::optional<Field> f = m.get("environment")) {
    spec.environment = parse_environment(c, *f);
  }
  if (std::optional<Field> f = m.get("packages")) spec.packages = parse_packages(c, *f);
  if (std::optional<Field> f = m.get("debian")) spec.debian = parse_debian(c, *f);
  if (std::optional<Field> f = m.require("image")) spec.image = parse_image(c, *f);
  if (std::optional<Field> f = m.get("vex")) spec.vex = parse_vex(c, *f);
  internal::check_references(r, spec);
}

std::string absolute_dir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(dir.empty() ? "." : dir, ec);
  if (ec) return dir;
  std::string out = abs.lexically_normal().string();
  if (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

// The spec file's bytes: a regular file of at most kMaxSpecBytes (a FIFO, /dev/zero or a
// terminal is refused before any read, so none can block or exhaust memory), or why not.
Result<std::string> read_spec_file(const std::string& path) {
  STRATA_TRY_ASSIGN(UniqueFd fd, open_fd(path, O_RDONLY | O_NONBLOCK | O_NOCTTY));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Error::sys("stat " + path, errno);
  if (!S_ISREG(st.st_mode)) return Error::io("not a regular file");
  if (static_cast<uint64_t>(st.st_size) > kMaxSpecBytes) {
    return Error::io(fmt::format("it is {} bytes; a spec may have at most {} MiB", st.st_size,
                                 kMaxSpecBytes >> 20));
  }
  std::string text(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < text.size()) {
    ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::sys("read " + path, errno);
    if (n == 0) break;  // it shrank meanwhile
    got += static_cast<size_t>(n);
  }
  text.resize(got);
  return text;
}

// yaml-cpp's node as the public tree; keys that are not scalars are reported.
YamlNode to_tree(Reader& r, const YAML::Node& node, const Loc& loc) {
  YamlNode out;
  out.loc = loc;
  if (node.IsScalar()) {
    out.kind = YamlNode::Kind::kScalar;
    out.scalar = node.Scalar();
  } else if (node.IsSequence()) {
    out.kind = YamlNode::Kind::kSequence;
    for (auto it = node.begin(); it != node.end(); ++it) {
      out.items.push_back(to_tree(r, *it, it->IsNull() ? loc : r.loc(*it)));
    }
  } else if (node.IsMap()) {
    out.kind = YamlNode::Kind::kMapping;
    for (auto it = node.begin(); it != node.end(); ++it) {
      Loc key_loc = r.loc(it->first);
      if (!it->first.IsScalar()) {
        r.error(key_loc,
                fmt::format("expected a string key, got {}", internal::kind_of(it->first)));
        continue;
      }
      // As in MapReader: an empty value is pointed at by its key.
      Loc value_loc = it->second.IsNull() ? key_loc : r.loc(it->second);
      out.entries.push_back({it->first.Scalar(), key_loc, to_tree(r, it->second, value_loc)});
    }
  }
  return out;
}

// `vex: FILE`, once the spec is good: the statements the file lists, checked against the
// spec, into spec.vex. The report is the VEX file's (its name as the spec's directory and
// the path written, its lines under the carets).
Result<void> read_vex_file(Spec& spec, const ParseOptions& options) {
  std::string shown =
      std::filesystem::path(dirname_of(spec.file)).append(spec.vex.file).lexically_normal();
  auto cannot = [&](const std::string& why) {
    return Error(ErrorCode::kSpec, fmt::format("{}: error: cannot read VEX file: {}", shown, why));
  };
  Result<std::string> host = resolve_local_input(spec, spec.vex.file);
  if (!host.ok()) return cannot(host.error().message());
  Result<std::string> text = read_spec_file(*host);
  if (!text.ok()) {
    return cannot(text.error().sys_errno() ? std::strerror(*text.error().sys_errno())
                                           : text.error().message());
  }
  std::vector<Diagnostic> diagnostics;
  Reader reader(shown, &diagnostics);
  internal::Context context{reader, spec.dir, spec.context, options};
  if (check_text(reader, *text, "VEX file")) {
    if (std::optional<YAML::Node> doc =
            load_document(reader, *text, "VEX file", " (it holds a list of statements)")) {
      Value root{*doc, reader.loc(*doc)};
      if (!doc->IsSequence()) {
        reader.error(root.loc, fmt::format("a VEX file holds a list of statements "
                                           "(- vulnerability: …), got {}",
                                           internal::kind_of(*doc)));
      } else {
        spec.vex.statements = internal::parse_vex_statements(context, root);
        if (spec.vex.statements.empty()) reader.error(root.loc, "the VEX file lists no statements");
        internal::check_vex(reader, spec, spec.vex.statements);
      }
    }
  }
  if (!diagnostics.empty()) return report_error(std::move(diagnostics), *text);
  return Ok{};
}

}  // namespace

std::string_view YamlNode::kind_name() const {
  switch (kind) {
    case Kind::kScalar:
      return "a string";
    case Kind::kSequence:
      return "a sequence";
    case Kind::kMapping:
      return "a mapping";
    case Kind::kNull:
      break;
  }
  return "nothing";
}

Result<YamlNode> parse_yaml_tree(std::string_view text, const std::string& file,
                                 std::string_view what) {
  std::vector<Diagnostic> diagnostics;
  Reader reader(file, &diagnostics);
  YamlNode tree;
  if (check_text(reader, text, what)) {
    if (std::optional<YAML::Node> doc = load_document(reader, text, what, "")) {
      tree = to_tree(reader, *doc, reader.loc(*doc));
    }
  }
  if (!diagnostics.empty()) return report_error(std::move(diagnostics), text);
  return tree;
}

ParseResult parse_spec_diagnostics(std::string_view yaml, const std::string& file,
                                   const std::string& dir, const ParseOptions& options) {
  ParseResult result;
  result.spec.file = file;
  result.spec.dir = absolute_dir(dir);
  // load_spec has refused a context that does not contain the directory.
  Result<std::string> root = input_context(options.context, result.spec.dir);
  result.spec.context = root.ok() ? *root : result.spec.dir;
  Reader reader(file, &result.diagnostics);
  internal::Context context{reader, result.spec.dir, result.spec.context, options};
  if (!check_text(reader, yaml, "spec")) return result;
  if (std::optional<YAML::Node> doc =
          load_document(reader, yaml, "spec", " (it needs at least apiVersion, name and image)")) {
    read_top_level(context, *doc, result.spec);
  }
  return result;
}

Result<Spec> parse_spec(std::string_view yaml, const std::string& file, const std::string& dir,
                        const ParseOptions& options) {
  ParseResult result = parse_spec_diagnostics(yaml, file, dir, options);
  if (!result.ok()) return report_error(std::move(result.diagnostics), yaml);
  if (!result.spec.vex.file.empty() && options.check_files) {
    STRATA_TRY(read_vex_file(result.spec, options));
  }
  return std::move(result.spec);
}

Result<std::string> read_spec_text(const std::string& path) {
  Result<std::string> text = read_spec_file(path);
  if (!text.ok()) {
    std::string why = text.error().sys_errno() ? std::strerror(*text.error().sys_errno())
                                               : text.error().message();
    return Error(ErrorCode::kSpec, fmt::format("{}: error: cannot read spec: {}", path, why));
  }
  return text;
}

Result<Spec> load_spec(const std::string& path, const ParseOptions& options) {
  STRATA_TRY(input_context(options.context, absolute_dir(dirname_of(path))));
  STRATA_TRY_ASSIGN(std::string text, read_spec_text(path));
  return parse_spec(text, path, dirname_of(path), options);
}

}  // namespace strata::specs
