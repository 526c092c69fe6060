// Temporaries owned by a process: the owner tag strata writes into the name of every
// temporary file, directory and cgroup it makes ("@PID.START", START = field 22 of
// /proc/PID/stat, so a reused pid is not taken for the owner), whether that owner is gone,
// and the sweep that removes a gone owner's leftovers. The one copy of this logic; every
// store, the output directory and the sandbox's cgroups use it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "builder/base/result.h"

namespace strata {

struct ProcessOwner {
  pid_t pid = 0;
  uint64_t start_ticks = 0;  // clock ticks after boot, /proc/PID/stat field 22
  bool operator==(const ProcessOwner&) const = default;
};

// The start time of `pid` (field 22 of /proc/PID/stat), or nullopt when there is no such
// process. `stat_text` overload: parses a /proc/PID/stat line (the command name may hold
// spaces and parentheses; fields are counted after the last ')').
std::optional<uint64_t> process_start_ticks(pid_t pid);
std::optional<uint64_t> parse_start_ticks(std::string_view stat_text);

// This process, read once.
const ProcessOwner& self_owner();

// "@PID.START": appended to a temporary's prefix, before any random part.
std::string owner_tag(const ProcessOwner& owner);
// owner_tag(self_owner()).
const std::string& self_owner_tag();

// The owner recorded in `name`: the last "@PID.START" in it, followed by '-' or the end.
std::optional<ProcessOwner> parse_owner_tag(std::string_view name);

// True only when the owner is provably gone: /proc/PID does not exist, or belongs to a
// process that started at another time (the pid was reused). A process we cannot inspect
// counts as alive. Owners must share this pid namespace (docs/package-builds.md, "Killed and
// interrupted builds").
bool is_owner_gone(const ProcessOwner& owner);

// Whether `name` starts with one of `prefixes` and carries the tag of a gone owner.
bool is_stale_temporary(std::string_view name, std::span<const std::string_view> prefixes);

// Removes every entry of `dir` that is_stale_temporary says is a gone owner's leftover
// (never following a symlink). Each is first claimed by a rename to a name carrying this
// process's tag, so two sweeps never remove the same entry at once, and an entry whose
// removal is cut short is found again by the next sweep (".strata-stale-" is always swept).
// Best effort: an entry that cannot be removed is left. Returns the names removed.
std::vector<std::string> remove_stale_temporaries(const std::string& dir,
                                                  std::span<const std::string_view> prefixes);

// The prefix of every AtomicFile ("DIR/.strata-tmp-@PID.START-XXXXXX").
inline constexpr std::string_view kAtomicFilePrefix = ".strata-tmp-";

}  // namespace strata
