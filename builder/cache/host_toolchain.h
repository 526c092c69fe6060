// The host build environment's identity (docs/cache.md "What a key holds"): the installed
// dpkg packages owning files under the paths the host sandbox exposes, with their versions,
// and os-release's ID and VERSION_ID. A pure function over the texts, plus their reader.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "builder/base/json.h"
#include "builder/base/result.h"

namespace strata::builder::cache {

// One paragraph of dpkg's status file.
struct DpkgPackage {
  std::string name;
  std::string architecture;
  std::string version;
  bool installed = false;  // Status: WANT FLAG installed ("install ok", "hold ok", ...)
  // "name:architecture", how the key and the texts' file_lists name a package.
  std::string id() const { return name + ":" + architecture; }
};

// Parses dpkg's status file (deb822 paragraphs separated by blank lines; continuation lines
// start with a space or tab). Errors read "ORIGIN:LINE: ..." for a line that is neither a
// field nor a continuation, or a paragraph without Package; an installed package also needs
// Architecture and Version.
Result<std::vector<DpkgPackage>> parse_dpkg_status(std::string_view text, std::string_view origin);

// The texts the host's identity is computed from.
struct HostTexts {
  std::string os_release;                  // /etc/os-release ("" when there is none)
  std::optional<std::string> dpkg_status;  // nullopt: not a dpkg host
  // The .list file of every installed package, by DpkgPackage::id(); nullopt when dpkg has
  // none for it (the package then counts as exposed: unknown is never left out of a key).
  std::map<std::string, std::optional<std::string>> file_lists;
};

// Whether `path` (a line of a dpkg .list file) is visible in the host sandbox, given the
// exposed host paths ("/usr", "/etc/ld.so.cache", ...): strictly below one of them, or equal
// to one that is not a top-level directory (every package lists "/usr" itself as a parent).
bool is_exposed_path(std::string_view path, std::span<const std::string> exposed);

// {"os": {"ID": ..., "VERSION_ID": ...}, "dpkg": {"NAME:ARCH": "VERSION", ...}} ("dpkg" is
// null when there is no dpkg status): only installed packages with at least one exposed
// file. Description, Status of packages that are not installed, and packages whose files are
// all elsewhere (/etc, /var) do not appear. Errors: those of parse_dpkg_status.
Result<Json> host_toolchain_document(const HostTexts& texts, std::span<const std::string> exposed);

// Reads the texts below `root` ("" = the real root; tests pass a fixture tree): ROOT/etc/
// os-release (else ROOT/usr/lib/os-release), ROOT/var/lib/dpkg/status and, for each
// installed package, ROOT/var/lib/dpkg/info/NAME:ARCH.list or NAME.list. Files are capped
// (status 64 MiB, a .list 16 MiB, os-release 64 KiB): a larger one is an error naming it.
Result<HostTexts> read_host_texts(const std::string& root);

}  // namespace strata::builder::cache
