// image.accounts and image.config.
#include <fmt/format.h>

#include <algorithm>

#include "specs/internal/sections.h"
#include "specs/suggest.h"
#include "specs/values.h"

namespace strata::specs::internal {
namespace {

bool is_number(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<std::string> read_account_name(Reader& r, const Value& v) {
  std::optional<std::string> name = read_string(r, v);
  if (name && !is_account_name(*name)) {
    r.error(v.loc, fmt::format("'{}' is not a valid user or group name (lowercase letters, "
                               "digits, '_' and '-', starting with a letter or '_', at most 32)",
                               *name));
    return std::nullopt;
  }
  return name;
}

// A user's gid: a number, or the name of a group declared in accounts.groups.
std::optional<int64_t> read_user_gid(Reader& r, const Value& v, const std::vector<Group>& groups) {
  if (!v.node.IsScalar() || is_number(v.node.Scalar())) return read_id(r, v);
  std::optional<std::string> name = read_account_name(r, v);
  if (!name) return std::nullopt;
  std::vector<std::string> names;
  for (const Group& g : groups) {
    if (g.name == *name) return g.gid;
    names.push_back(g.name);
  }
  r.error(v.loc, fmt::format("unknown group '{}' (a gid is a number or a group declared in "
                             "accounts.groups){}",
                             *name, did_you_mean(*name, names)));
  return std::nullopt;
}

std::optional<std::vector<std::string>> read_argv(Reader& r, const Value& v) {
  if (v.node.IsNull()) return std::nullopt;
  if (v.node.IsScalar()) {
    r.error(v.loc,
            "expected a sequence, got a string (write a list of arguments, like "
            "[/usr/bin/app, --flag])");
    return std::nullopt;
  }
  std::vector<std::string> argv;
  for (const Ref& arg : read_string_list(r, v)) argv.push_back(arg.name);
  return argv;
}

// One side of "USER:GROUP": a number, or a name that must be declared when the base is
// scratch (there is no /etc/passwd to find it in otherwise).
bool check_user_part(Reader& r, const Value& v, std::string_view part, std::string_view what,
                     const std::vector<std::string>& declared, bool scratch) {
  if (is_number(part)) {
    if (part.size() > 10 || std::stoll(std::string(part)) > 4294967294) {
      r.error(v.loc, fmt::format("{} id {} is out of range (at most 4294967294)", what, part));
      return false;
    }
    return true;
  }
  if (!is_account_name(part)) {
    r.error(v.loc, fmt::format("'{}' is not a valid {} name or id", part, what));
    return false;
  }
  if (scratch && std::find(declared.begin(), declared.end(), part) == declared.end()) {
    r.error(v.loc, fmt::format("{} '{}' is not declared in image.accounts.{}s and the base is "
                               "scratch{}",
                               what, part, what, did_you_mean(part, declared)));
    return false;
  }
  return true;
}

std::optional<std::string> read_user(Reader& r, const Value& v, const Image& image) {
  std::optional<std::string> user = read_string(r, v);
  if (!user) return std::nullopt;
  std::string_view text = *user;
  size_t colon = text.find(':');
  std::string_view name = text.substr(0, colon);
  std::string_view group = colon == std::string_view::npos ? "" : text.substr(colon + 1);
  if (name.empty() || (colon != std::string_view::npos && group.empty()) ||
      group.find(':') != std::string_view::npos) {
    r.error(v.loc, fmt::format("user '{}' is not USER, UID, USER:GROUP or UID:GID", text));
    return std::nullopt;
  }
  std::vector<std::string> users, groups;
  for (const User& u : image.accounts.users) users.push_back(u.name);
  for (const Group& g : image.accounts.groups) groups.push_back(g.name);
  bool scratch = !image.base.has_value();
  bool ok = check_user_part(r, v, name, "user", users, scratch);
  if (!group.empty()) ok = check_user_part(r, v, group, "group", groups, scratch) && ok;
  return ok ? user : std::nullopt;
}

std::vector<std::string> read_ports(Reader& r, const Value& v) {
  std::vector<std::string> ports;
  std::map<std::string, Loc> seen;
  for (const Value& item : read_sequence(r, v)) {
    std::optional<std::string> text = read_string(r, item);
    if (!text) continue;
    Result<std::string> port = normalize_port(*text);
    if (!port.ok()) {
      r.error(item.loc, "port " + port.error().message());
      continue;
    }
    check_unique(r, seen, *port, item.loc, "port");
    ports.push_back(*text);
  }
  return ports;
}

struct Seen {
  std::map<std::string, Loc> names;
  std::map<std::string, Loc> ids;
};

Group parse_group(Reader& r, const Value& v, Seen& seen) {
  MapReader m(r, v, {"name", "gid", "members"});
  Group g;
  g.loc = v.loc;
  if (std::optional<Field> f = m.require("name")) {
    g.name = read_account_name(r, *f).value_or("");
    if (!g.name.empty()) check_unique(r, seen.names, g.name, f->loc, "group");
  }
  if (std::optional<Field> f = m.require("gid")) {
    std::optional<int64_t> gid = read_id(r, *f);
    if (gid) check_unique(r, seen.ids, std::to_string(*gid), f->loc, "gid");
    g.gid = gid.value_or(0);
  }
  if (std::optional<Field> f = m.get("members")) {
    for (const Value& item : read_sequence(r, *f)) {
      if (std::optional<std::string> member = read_account_name(r, item)) {
        g.members.push_back(*member);
      }
    }
  }
  return g;
}

User parse_user(Reader& r, const Value& v, const std::vector<Group>& groups, Seen& seen) {
  MapReader m(r, v, {"name", "uid", "gid", "gecos", "home", "shell"});
  User u;
  u.loc = v.loc;
  if (std::optional<Field> f = m.require("name")) {
    u.name = read_account_name(r, *f).value_or("");
    if (!u.name.empty()) check_unique(r, seen.names, u.name, f->loc, "user");
  }
  if (std::optional<Field> f = m.require("uid")) {
    std::optional<int64_t> uid = read_id(r, *f);
    if (uid) check_unique(r, seen.ids, std::to_string(*uid), f->loc, "uid");
    u.uid = uid.value_or(0);
  }
  u.gid = u.uid;  // the usual "user private group" convention when gid is left out
  if (std::optional<Field> f = m.get("gid")) u.gid = read_user_gid(r, *f, groups).value_or(u.gid);
  if (std::optional<Field> f = m.get("gecos")) {
    u.gecos = read_string(r, *f).value_or("");
    if (u.gecos.find_first_of(":\n") != std::string::npos) {
      r.error(f->loc, "gecos must not contain ':' or a newline (they would break /etc/passwd)");
    }
  }
  if (std::optional<Field> f = m.get("home")) u.home = read_abs_path(r, *f, "home").value_or("");
  if (std::optional<Field> f = m.get("shell")) {
    u.shell = read_abs_path(r, *f, "shell").value_or("");
  }
  return u;
}

}  // namespace

Accounts parse_accounts(Context& c, const Value& v) {
  Reader& r = c.reader;
  MapReader m(r, v, {"groups", "users"});
  Accounts accounts;
  accounts.loc = v.loc;
  Seen groups_seen;
  if (std::optional<Field> f = m.get("groups")) {
    for (const Value& item : read_sequence(r, *f)) {
      accounts.groups.push_back(parse_group(r, item, groups_seen));
    }
  }
  Seen users_seen;
  if (std::optional<Field> f = m.get("users")) {
    for (const Value& item : read_sequence(r, *f)) {
      accounts.users.push_back(parse_user(r, item, accounts.groups, users_seen));
    }
  }
  return accounts;
}

ImageConfig parse_config(Context& c, const Value& v, const Image& image) {
  Reader& r = c.reader;
  MapReader m(
      r, v,
      {"entrypoint", "cmd", "env", "workdir", "user", "labels", "ports", "volumes", "stop_signal"});
  ImageConfig config;
  config.loc = v.loc;
  if (std::optional<Field> f = m.get("entrypoint")) config.entrypoint = read_argv(r, *f);
  if (std::optional<Field> f = m.get("cmd")) config.cmd = read_argv(r, *f);
  if (std::optional<Field> f = m.get("env")) config.env = read_env(r, *f, EnvKind::kConfig);
  if (std::optional<Field> f = m.get("workdir")) {
    config.workdir = read_abs_path(r, *f, "workdir").value_or("");
  }
  if (std::optional<Field> f = m.get("user")) config.user = read_user(r, *f, image).value_or("");
  if (std::optional<Field> f = m.get("labels")) config.labels = read_labels(r, *f);
  if (std::optional<Field> f = m.get("ports")) config.ports = read_ports(r, *f);
  if (std::optional<Field> f = m.get("volumes")) {
    std::map<std::string, Loc> seen;
    for (const Value& item : read_sequence(r, *f)) {
      std::optional<std::string> volume = read_abs_path(r, item, "volume");
      if (volume) check_unique(r, seen, *volume, item.loc, "volume");
      if (volume) config.volumes.push_back(*volume);
    }
  }
  if (std::optional<Field> f = m.get("stop_signal")) {
    std::optional<std::string> signal = read_string(r, *f);
    Result<void> checked = signal ? check_signal(*signal) : Result<void>(Ok{});
    if (!checked.ok()) r.error(f->loc, "stop_signal " + checked.error().message());
    if (signal && checked.ok()) config.stop_signal = *signal;
  }
  return config;
}

}  // namespace strata::specs::internal
