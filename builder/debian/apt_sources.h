// The host's apt sources (sources.list(5)) as repositories for `strata lock`: a spec's
// `repositories: [host]` follows whatever mirror the machine is configured with
// (docs/debian-packages.md). Both formats are read: one-line `deb [options] URI SUITE
// COMPONENT...` in sources.list and sources.list.d/*.list, and deb822 stanzas in
// sources.list.d/*.sources. Only `deb` entries of http, https and file URIs count; others
// are skipped with a warning. Each keeps the keyrings its Signed-By names (files, or a key
// block written inline in a .sources file); without Signed-By, apt's trusted.gpg and
// trusted.gpg.d/ (binary or ASCII-armored keys), as apt itself does.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "builder/base/result.h"

namespace strata::builder::debian {

struct HostSource {
  std::string url;  // without a trailing '/'; "file:/srv/repo" is written "file:///srv/repo"
  std::string suite;
  std::vector<std::string> components;
  std::vector<std::string> signed_by;  // keyring files; empty: apt's trusted keyrings
  std::string inline_key;              // an armored key block given in Signed-By itself
  std::string origin;                  // "FILE:LINE", for messages
};

struct HostSources {
  std::vector<HostSource> sources;
  std::vector<std::string> warnings;  // entries skipped, and why
};

// One-line sources.list text; `file` names it in origins and errors.
Result<HostSources> parse_sources_list(std::string_view text, const std::string& file);
// deb822 .sources text.
Result<HostSources> parse_sources_deb822(std::string_view text, const std::string& file);

// Every source under `etc_apt` (normally /etc/apt): sources.list, then sources.list.d/*.list
// and *.sources in byte order of their names. Fails when none remains.
Result<HostSources> read_host_sources(const std::string& etc_apt);

// The binary OpenPGP keyring gpgv reads for `source`: its Signed-By files (or inline key),
// else etc_apt's trusted.gpg and trusted.gpg.d/*.gpg, *.asc, concatenated, armored ones
// decoded (RFC 4880 section 6).
Result<std::string> host_keyring(const HostSource& source, const std::string& etc_apt);

// The packets of an ASCII-armored key block; an error when `text` is not one.
Result<std::string> dearmor(std::string_view text, const std::string& what);

}  // namespace strata::builder::debian
