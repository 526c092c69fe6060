// A repository's binary packages as the Packages index lists them, the relation fields
// (Depends, Pre-Depends, Provides) parsed, and the resolver `strata lock` runs on them.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "builder/base/digest.h"
#include "builder/base/result.h"
#include "builder/debian/deb822.h"

namespace strata::builder::debian {

// "name (op version)"; op and version are empty for an unversioned relation. An
// architecture qualifier (":any", ":native") is dropped from the name.
struct Relation {
  std::string name;
  std::string op;
  std::string version;
  std::string str() const;
};
// "a | b (>= 2)": satisfied by any one of them.
using Alternatives = std::vector<Relation>;
std::string alternatives_str(const Alternatives& alts);

// A Depends-style field: comma-separated groups of '|'-separated relations. Build profiles
// ("<!nocheck>") and architecture restrictions ("[amd64]") are dropped.
Result<std::vector<Alternatives>> parse_relations(std::string_view field, std::string_view what);

struct IndexPackage {
  std::string name;
  std::string version;
  std::string architecture;
  std::string filename;  // relative to the repository's URL
  std::string url;       // REPOSITORY_URL/filename
  int64_t size = 0;
  Digest sha256;
  bool essential = false;
  std::vector<Alternatives> depends;  // Pre-Depends, then Depends
  std::vector<Relation> provides;
  size_t repository = 0;  // index into the spec's repositories
};

// One Packages index's stanzas as packages; `base_url` is the repository's URL. A stanza
// missing Package, Version, Filename, Size or SHA256, or with malformed values, fails the
// index, naming the package.
Result<std::vector<IndexPackage>> index_packages(const std::vector<Stanza>& stanzas,
                                                 const std::string& base_url, size_t repository,
                                                 std::string_view what);

struct Resolution {
  // The chosen packages, sorted by name.
  std::vector<IndexPackage> packages;
  // Each chosen package's dependencies: the chosen packages that satisfy its groups.
  std::map<std::string, std::set<std::string>> depends;
};

// Resolves `requested` and their Pre-Depends and Depends, recursively. For each group the
// first alternative already chosen (or provided by a chosen package) wins, else the first
// that has a candidate; a name's candidate is the version in `prefer` when it satisfies the
// relation, else its highest version (the first repository's on a tie), else a package that
// Provides it (the first by name). Essential packages are not added unless something asks
// for them. A relation nothing satisfies is an error naming the chain:
// "unsatisfiable dependency: app -> libfoo (1.0-1) needs 'libbar (>= 2)': no package libbar
// satisfies it (available: 1.0-1)". Conflicts and Breaks are not checked.
Result<Resolution> resolve(const std::vector<IndexPackage>& index,
                           const std::vector<std::string>& requested,
                           const std::map<std::string, std::string>& prefer);

}  // namespace strata::builder::debian
