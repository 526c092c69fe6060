#include "builder/base/owner.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <stdio.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>

#include "builder/base/beneath.h"
#include "builder/base/fd.h"

namespace strata {
namespace {

constexpr std::string_view kStalePrefix = ".strata-stale-";

template <typename T>
std::optional<T> parse_number(std::string_view text) {
  T value{};
  if (text.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// /proc/PID/stat, or nullopt with errno set.
std::optional<std::string> read_stat(pid_t pid) {
  std::string path = fmt::format("/proc/{}/stat", pid);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  UniqueFd owned(fd);
  char buf[1024];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) < 0 && errno == EINTR) {
  }
  if (n < 0) return std::nullopt;
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace

std::optional<uint64_t> parse_start_ticks(std::string_view stat_text) {
  // "pid (comm) state ppid ... starttime ...": starttime is field 22, the 20th after ')'.
  size_t paren = stat_text.rfind(')');
  if (paren == std::string_view::npos) return std::nullopt;
  std::string_view rest = stat_text.substr(paren + 1);
  for (int field = 3; field <= 22; ++field) {
    size_t start = rest.find_first_not_of(' ');
    if (start == std::string_view::npos) return std::nullopt;
    rest = rest.substr(start);
    size_t end = rest.find_first_of(" \n");
    std::string_view word = rest.substr(0, end);
    if (field == 22) return parse_number<uint64_t>(word);
    if (end == std::string_view::npos) return std::nullopt;
    rest = rest.substr(end);
  }
  return std::nullopt;
}

std::optional<uint64_t> process_start_ticks(pid_t pid) {
  std::optional<std::string> stat = read_stat(pid);
  if (!stat) return std::nullopt;
  return parse_start_ticks(*stat);
}

const ProcessOwner& self_owner() {
  static const ProcessOwner self = [] {
    ProcessOwner o{.pid = ::getpid()};
    o.start_ticks = process_start_ticks(o.pid).value_or(0);
    return o;
  }();
  return self;
}

std::string owner_tag(const ProcessOwner& owner) {
  return fmt::format("@{}.{}", owner.pid, owner.start_ticks);
}

const std::string& self_owner_tag() {
  static const std::string tag = owner_tag(self_owner());
  return tag;
}

std::optional<ProcessOwner> parse_owner_tag(std::string_view name) {
  size_t at = name.rfind('@');
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view tag = name.substr(at + 1);
  tag = tag.substr(0, tag.find('-'));
  size_t dot = tag.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::optional<pid_t> pid = parse_number<pid_t>(tag.substr(0, dot));
  std::optional<uint64_t> start = parse_number<uint64_t>(tag.substr(dot + 1));
  if (!pid || !start || *pid <= 0) return std::nullopt;
  return ProcessOwner{.pid = *pid, .start_ticks = *start};
}

bool is_owner_gone(const ProcessOwner& owner) {
  std::optional<std::string> stat = read_stat(owner.pid);
  if (!stat) return errno == ENOENT || errno == ESRCH;
  std::optional<uint64_t> start = parse_start_ticks(*stat);
  return start && *start != owner.start_ticks;
}

bool is_stale_temporary(std::string_view name, std::span<const std::string_view> prefixes) {
  bool matches = name.starts_with(kStalePrefix);
  for (std::string_view p : prefixes) matches = matches || name.starts_with(p);
  if (!matches) return false;
  std::optional<ProcessOwner> owner = parse_owner_tag(name);
  return owner && *owner != self_owner() && is_owner_gone(*owner);
}

std::vector<std::string> remove_stale_temporaries(const std::string& dir,
                                                  std::span<const std::string_view> prefixes) {
  std::vector<std::string> removed;
  Result<UniqueFd> fd = open_fd(dir, O_RDONLY | O_DIRECTORY);
  if (!fd.ok()) return removed;
  Result<std::vector<std::string>> names = list_dir(fd->get());
  if (!names.ok()) return removed;
  static std::atomic<uint64_t> counter{0};
  for (const std::string& name : *names) {
    if (!is_stale_temporary(name, prefixes)) continue;
    // Claimed by a rename: a concurrent sweep's rename of the same entry fails with ENOENT.
    std::string claimed = fmt::format("{}{}-{}", kStalePrefix, self_owner_tag(), counter++);
    if (::renameat(fd->get(), name.c_str(), fd->get(), claimed.c_str()) != 0) continue;
    if (remove_beneath(fd->get(), claimed).ok()) removed.push_back(name);
  }
  return removed;
}

}  // namespace strata
