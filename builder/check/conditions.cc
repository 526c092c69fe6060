#include "builder/check/conditions.h"

#include <fmt/format.h>

#include "builder/check/seed.h"

namespace strata::builder {
namespace {

std::string first_other(const std::vector<std::string>& candidates, const std::string& current,
                        const std::string& fallback) {
  for (const std::string& c : candidates) {
    if (c != current) return c;
  }
  return fallback;
}

std::string env_or(const std::map<std::string, std::string>& env, const std::string& name,
                   const std::string& fallback) {
  auto it = env.find(name);
  return it == env.end() ? fallback : it->second;
}

std::string umask_text(uint32_t mask) { return fmt::format("{:03o}", mask); }

}  // namespace

VariedConditions vary_conditions(const HostConditions& host, const std::string& work_dir,
                                 uint64_t seed) {
  VariedConditions v;
  v.env = host.env;
  auto set = [&](const std::string& name, const std::string& value) {
    v.variations.push_back({name, env_or(host.env, name, "(unset)"), value});
    v.env[name] = value;
  };
  set("TZ", first_other(host.time_zones, env_or(host.env, "TZ", ""), "<+1245>-12:45"));
  // LC_ALL overrides LANG; both change so that whichever build 1 used differs.
  std::string locale = env_or(host.env, "LC_ALL", env_or(host.env, "LANG", "C"));
  std::string other = first_other(host.locales, locale, locale == "C" ? "C.UTF-8" : "C");
  set("LANG", other);
  set("LC_ALL", other);
  set("HOME", work_dir + "/home");
  set("TMPDIR", work_dir + "/tmp");
  // A directory that does not exist, at the end: like reprotest's exec_path variation.
  v.env["PATH"] = env_or(host.env, "PATH", "/usr/bin:/bin") + ":" + work_dir + "/no-such-bin";
  v.variations.push_back({"PATH", "$PATH", "$PATH:" + work_dir + "/no-such-bin"});
  // Steps see the Plan's epoch only; a different SOURCE_DATE_EPOCH here must change nothing.
  set("SOURCE_DATE_EPOCH", std::to_string(host.spec_epoch + 366 * 86400 + 1));
  set("STRATA_CHECK_NOISE", fmt::format("{:016x}", mix_seed(seed)));
  v.umask = host.umask == 077 ? 002 : 077;
  v.variations.push_back({"umask", umask_text(host.umask), umask_text(v.umask)});
  v.jobs = host.jobs > 1 ? 1 : 2;
  v.variations.push_back({"--jobs", std::to_string(host.jobs), std::to_string(v.jobs)});
  return v;
}

}  // namespace strata::builder
