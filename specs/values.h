// The grammars of strata/v1 scalar values (names, tags, modes, paths, ports, signals,
// durations, pinned image references). Pure functions on text, shared by the parser and the
// plan; each error message quotes the value so the caller can prefix the key:
// "dest " + "'etc/motd' must be an absolute path".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "builder/base/digest.h"
#include "builder/base/result.h"
#include "specs/spec.h"

namespace strata::specs {

// OCI distribution repository name (lowercase components joined by '/'), at most 255 bytes.
bool is_image_name(std::string_view s);
// OCI tag: [A-Za-z0-9_][A-Za-z0-9._-]{0,127}.
bool is_tag(std::string_view s);
// Source and package names: [A-Za-z0-9][A-Za-z0-9._+-]*, at most 128 bytes (they become
// directory and cache-key names, so no '/' or spaces).
bool is_entry_name(std::string_view s);
// A vulnerability id for `vex:` (docs/vex.md): "CVE-YYYY-NNNN" (4 or more digits),
// "GHSA-xxxx-xxxx-xxxx" (GitHub's alphabet 23456789cfghjmpqrvwx), or another OSV-style
// "PREFIX-ID": PREFIX upper-case letters and digits starting with a letter (PYSEC, RUSTSEC,
// GO, DSA, OSV…), ID letters, digits, '.', '_', ':' and '-'; at most 128 bytes.
bool is_vulnerability_id(std::string_view s);
// User and group names: [a-z_][a-z0-9_-]* with an optional trailing '$', at most 32 bytes
// (shadow-utils' default NAME_REGEX).
bool is_account_name(std::string_view s);
// Environment variable names for the build sandbox: [A-Za-z_][A-Za-z0-9_]* (steps run in a
// POSIX shell, which cannot reference anything else).
bool is_shell_name(std::string_view s);
// Environment names for the image config: non-empty, no '=' and no NUL.
bool is_config_env_name(std::string_view s);

// Permission bits written as 3 or 4 octal digits ("644", "0644", "1777") -> value <= 07777.
Result<uint32_t> parse_mode(std::string_view text);
// Seconds from "90", "90s", "30m", "2h", "1h30m", "1h2m3s"; must be > 0 and at most a week.
Result<int64_t> parse_duration_s(std::string_view text);

// An absolute path with a trailing '/' dropped; rejects empty, relative, "//", "." and "..".
Result<std::string> normalize_abs_path(std::string_view path);
// A path relative to the spec's directory that stays inside it: not absolute, no "..",
// not empty. Returns it with "./" prefixes, "//" and trailing '/' dropped.
Result<std::string> normalize_rel_path(std::string_view path);

// "N", "N/tcp", "N/udp" with N in 1..65535 and no leading zero -> "N/tcp" or "N/udp".
Result<std::string> normalize_port(std::string_view port);
// "SIGTERM", "SIGRTMIN+3", "SIGRTMAX-2" or a number 1..64.
Result<void> check_signal(std::string_view signal);

// "PATH@sha256:HEX": a local OCI layout or archive pinned by manifest digest. With
// `allow_unpinned` (strata pin), a PATH without "@…" is accepted with an empty digest.
Result<std::pair<std::string, Digest>> parse_pinned_image(std::string_view text,
                                                          bool allow_unpinned = false);
// image.base and environment.image: "docker://…" is a registry image (parse_registry_ref; its
// digest required unless `allow_unpinned`), anything else parse_pinned_image. Loc unset.
Result<ImageRef> parse_image_ref(std::string_view text, bool allow_unpinned = false);

// The GOARCH values strata accepts for image.architecture.
const std::vector<std::string>& goarch_names();
// The GOARCH for a uname(2) machine ("x86_64" -> "amd64", "aarch64" -> "arm64").
Result<std::string> goarch_for_machine(std::string_view machine);

}  // namespace strata::specs
