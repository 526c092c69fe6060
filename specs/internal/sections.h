// The section parsers of a strata/v1 spec and the field helpers they share. Private to
// specs/; parse.cc drives them in document order, then check_references() runs across
// sections.
#pragma once

#include <string>
#include <string_view>

#include "specs/internal/yaml_reader.h"
#include "specs/parse.h"

namespace strata::specs::internal {

struct Context {
  Reader& reader;
  std::string dir;   // absolute; relative paths in the spec resolve against it
  std::string root;  // the spec's context: local inputs resolve beneath it (specs/inputs.h)
  ParseOptions options;
};

// Field helpers: read one value and check its grammar (values.h), reporting at value.loc.
// `key` names the field in messages ("dest 'etc' must be an absolute path").
std::optional<std::string> read_abs_path(Reader& r, const Value& v, std::string_view key);
std::optional<uint32_t> read_mode(Reader& r, const Value& v);
// uid and gid: 0..4294967294 (4294967295 is (uid_t)-1, "no change", in chown(2)).
std::optional<int64_t> read_id(Reader& r, const Value& v);
// One of `options`, else "'x' is not a valid WHAT (expected a, b or c); did you mean …".
std::optional<std::string> read_enum(Reader& r, const Value& v, std::string_view what,
                                     const std::vector<std::string>& options);
// A build environment (names must be shell names, some names are strata's) or an image
// config environment (any name without '=').
enum class EnvKind { kBuild, kConfig };
std::map<std::string, std::string> read_env(Reader& r, const Value& v, EnvKind kind);
// A mapping with non-empty keys (labels, annotations).
std::map<std::string, std::string> read_labels(Reader& r, const Value& v);
// A spec-relative path that must exist as a regular file (or also a directory when
// `allow_dir`); reports "KEY 'x' does not exist (looked in /abs/x)". Returns is-directory.
std::optional<bool> check_local_file(const Context& c, const Value& v, std::string_view key,
                                     const std::string& path, bool allow_dir);
// A local input named relative to the spec's directory (files[].src, `vex: FILE`): the path
// normalized (normalize_rel_path; ".." allowed only under a wider --context, where
// resolve_local_input checks where it leads), or nullopt after "KEY <why>" at v.loc.
std::optional<std::string> read_rel_path(const Context& c, const Value& v, std::string_view key,
                                         const std::string& text);
// A name written at a location, with the first location it was declared at.
void check_unique(Reader& r, std::map<std::string, Loc>& seen, const std::string& name,
                  const Loc& loc, std::string_view what);

// Sections.
std::vector<Source> parse_sources(Context& c, const Value& v);
Environment parse_environment(Context& c, const Value& v);
std::vector<Package> parse_packages(Context& c, const Value& v);
Image parse_image(Context& c, const Value& v);
Debian parse_debian(Context& c, const Value& v);
// `vex:` (docs/vex.md): a list of statements, or the name of a YAML file holding the list
// (read later, by parse_vex_file, once the spec is known to be good).
Vex parse_vex(Context& c, const Value& v);
// The statements of a list (the `vex:` value, or a VEX file's top level).
std::vector<VexStatement> parse_vex_statements(Context& c, const Value& v);
// What statements refer to must be in the spec: packages of `packages:`, debs of `debs:`
// layers; and a vulnerability is stated once per package (or once for the whole image).
void check_vex(Reader& r, const Spec& spec, const std::vector<VexStatement>& statements);
// A Debian package name (Debian Policy 5.6.1), for `debs:` entries.
bool is_debian_package_name(const std::string& name);
// The keys of `image:`, in the order the reader lists them.
const std::vector<std::string>& image_keys();
std::vector<LayerSpec> parse_layers(Context& c, const Value& v);
std::vector<PathEntry> parse_paths(Context& c, const Value& v);
Accounts parse_accounts(Context& c, const Value& v);
// `image` holds base and accounts, already read: config.user is checked against them.
ImageConfig parse_config(Context& c, const Value& v, const Image& image);

// Reports each ref that names nothing in `declared` ("unknown WHAT 'x'; did you mean …"),
// and each one listed twice.
void check_refs(Reader& r, const std::vector<Ref>& refs, const std::vector<std::string>& declared,
                std::string_view what);

// Cross-section checks once everything is read: package source/depends references, cycles
// in depends, layer package references, config.user against the accounts, vex references.
void check_references(Reader& r, const Spec& spec);

}  // namespace strata::specs::internal
