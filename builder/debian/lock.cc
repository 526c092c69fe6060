#include "builder/debian/lock.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <deque>

#include "builder/base/fs.h"
#include "builder/base/path.h"
#include "builder/debian/apt_sources.h"
#include "builder/debian/repository.h"
#include "specs/inputs.h"

namespace strata::builder::debian {
namespace {

constexpr int kLockVersion = 1;

Result<Json> member_of(const Json& j, const char* key, Json::value_t type,
                       const std::string& what) {
  if (!j.is_object() || !j.contains(key) || j.at(key).type() != type) {
    return Error(ErrorCode::kSpec, fmt::format("{}: '{}' is missing or has the wrong type; run "
                                               "`strata lock` again",
                                               what, key));
  }
  return j.at(key);
}

Result<Digest> digest_member(const Json& j, const char* key, const std::string& what) {
  STRATA_TRY_ASSIGN(Json v, member_of(j, key, Json::value_t::string, what));
  Result<Digest> d = Digest::parse(v.get<std::string>());
  if (!d.ok()) {
    return Error(ErrorCode::kSpec, fmt::format("{}: '{}' is not a sha256 digest", what, key));
  }
  return *d;
}

Result<std::string> string_of(const Json& j, const char* key, const std::string& what) {
  STRATA_TRY_ASSIGN(Json v, member_of(j, key, Json::value_t::string, what));
  return v.get<std::string>();
}

// The keyring's absolute path: as written, or beneath the spec's directory (like every
// local input, no symlink may lead out of it).
Result<std::string> keyring_path(const specs::Spec& spec, const std::string& keyring) {
  if (keyring.starts_with('/')) return keyring;
  STRATA_TRY_ASSIGN(std::string path, specs::resolve_local_input(spec, keyring));
  return absolute_normal_path(path);
}

std::vector<std::string> requested_names(const specs::Spec& spec) {
  std::vector<std::string> names;
  for (const specs::LayerSpec& l : spec.image.layers) {
    for (const specs::Ref& r : l.debs) names.push_back(r.name);
  }
  return names;
}

// Every Essential package name of the index, sorted and without repeats: a toolchain needs
// the shell, coreutils, libc and the rest (Debian packages do not depend on them).
std::vector<std::string> essential_names(const std::vector<IndexPackage>& index) {
  std::set<std::string> names;
  for (const IndexPackage& p : index) {
    if (p.essential) names.insert(p.name);
  }
  return {names.begin(), names.end()};
}

Json package_json(const LockedPackage& p) {
  return {{"name", p.name},
          {"version", p.version},
          {"architecture", p.architecture},
          {"url", p.url},
          {"size", p.size},
          {"sha256", p.sha256.str()},
          {"release", p.release.str()},
          {"distro", p.distro},
          {"vendor", p.vendor},
          {"depends", p.depends}};
}

Json environment_json(const LockedEnvironment& env) {
  Json packages = Json::array();
  for (const LockedPackage& p : env.packages) packages.push_back(package_json(p));
  return {{"roots", env.roots}, {"packages", packages}};
}

Result<std::vector<LockedPackage>> parse_packages(const Json& packages, const std::string& what) {
  std::vector<LockedPackage> out;
  for (const Json& j : packages) {
    LockedPackage p;
    STRATA_TRY_ASSIGN(p.name, string_of(j, "name", what));
    std::string where = fmt::format("{}: package '{}'", what, p.name);
    STRATA_TRY_ASSIGN(p.version, string_of(j, "version", where));
    STRATA_TRY_ASSIGN(p.architecture, string_of(j, "architecture", where));
    STRATA_TRY_ASSIGN(p.url, string_of(j, "url", where));
    STRATA_TRY_ASSIGN(p.distro, string_of(j, "distro", where));
    STRATA_TRY_ASSIGN(p.vendor, string_of(j, "vendor", where));
    STRATA_TRY_ASSIGN(p.sha256, digest_member(j, "sha256", where));
    STRATA_TRY_ASSIGN(p.release, digest_member(j, "release", where));
    STRATA_TRY_ASSIGN(Json size, member_of(j, "size", Json::value_t::number_unsigned, where));
    p.size = size.get<int64_t>();
    STRATA_TRY_ASSIGN(Json deps, member_of(j, "depends", Json::value_t::array, where));
    for (const Json& d : deps) {
      if (!d.is_string()) return Error(ErrorCode::kSpec, where + ": a dependency is not a string");
      p.depends.push_back(d.get<std::string>());
    }
    out.push_back(std::move(p));
  }
  return out;
}

Result<std::map<std::string, std::string>> parse_roots(const Json& roots, const std::string& what) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : roots.items()) {
    if (!v.is_string()) return Error(ErrorCode::kSpec, what + ": a root is not a string");
    out[k] = v.get<std::string>();
  }
  return out;
}

// Every dependency and root of a package list names a package of the list.
Result<void> check_closed(const std::vector<LockedPackage>& packages,
                          const std::map<std::string, std::string>& roots,
                          const std::string& what) {
  std::set<std::string> names;
  for (const LockedPackage& p : packages) names.insert(p.name);
  for (const LockedPackage& p : packages) {
    for (const std::string& d : p.depends) {
      if (!names.contains(d)) {
        return Error(ErrorCode::kSpec,
                     fmt::format("{}: package '{}' depends on '{}', which the lock does not "
                                 "hold; run `strata lock` again",
                                 what, p.name, d));
      }
    }
  }
  for (const auto& [req, chosen] : roots) {
    if (!names.contains(chosen)) {
      return Error(ErrorCode::kSpec, fmt::format("{}: '{}' is locked to '{}', which the lock "
                                                 "does not hold; run `strata lock` again",
                                                 what, req, chosen));
    }
  }
  return Ok{};
}

// A repository as make_lock reads it, with its keyring's absolute path.
struct ReadRepository {
  specs::DebRepository repo;
  std::string keyring;
};

// The spec's repositories in order, each `host` item replaced by the host's apt sources
// (debian/apt_sources.h), their keyrings written into `keyring_dir`.
Result<std::vector<ReadRepository>> repositories_to_read(const specs::Spec& spec,
                                                         const LockOptions& options,
                                                         const std::string& keyring_dir) {
  std::vector<ReadRepository> out;
  for (const specs::DebRepository& repo : spec.debian.repositories) {
    if (!repo.host) {
      Result<std::string> keyring = keyring_path(spec, repo.keyring);
      if (!keyring.ok()) {
        return Error::spec(
            repo.loc, fmt::format("keyring '{}': {}", repo.keyring, keyring.error().message()));
      }
      struct stat st;
      if (::stat(keyring->c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
        return Error::spec(repo.loc, fmt::format("keyring '{}' is not a file (looked at {})",
                                                 repo.keyring, *keyring));
      }
      out.push_back({repo, *keyring});
      continue;
    }
    Result<HostSources> host = read_host_sources(options.apt_etc);
    if (!host.ok()) return Error::spec(repo.loc, host.error().message());
    if (options.warn) {
      for (const std::string& w : host->warnings) options.warn(w);
    }
    for (const HostSource& source : host->sources) {
      Result<std::string> keyring = host_keyring(source, options.apt_etc);
      if (!keyring.ok()) return Error::spec(repo.loc, keyring.error().message());
      std::string path = fmt::format("{}/{}.gpg", keyring_dir, out.size());
      STRATA_TRY(write_file(path, *keyring));
      specs::DebRepository r{.url = source.url,
                             .suite = source.suite,
                             .components = source.components,
                             .keyring = path,
                             .loc = repo.loc};
      out.push_back({std::move(r), std::move(path)});
    }
  }
  return out;
}
std::vector<LockedPackage> locked_packages(const Resolution& res,
                                           const std::vector<RepositoryIndex>& repos) {
  std::vector<LockedPackage> out;
  for (const IndexPackage& p : res.packages) {
    const RepositoryIndex& r = repos[p.repository];
    LockedPackage l{.name = p.name,
                    .version = p.version,
                    .architecture = p.architecture,
                    .url = p.url,
                    .size = p.size,
                    .sha256 = p.sha256,
                    .release = r.release_sha256,
                    .distro = r.distro,
                    .vendor = r.vendor};
    auto deps = res.depends.find(p.name);
    if (deps != res.depends.end()) l.depends.assign(deps->second.begin(), deps->second.end());
    l.depends.erase(std::remove(l.depends.begin(), l.depends.end(), p.name), l.depends.end());
    out.push_back(std::move(l));
  }
  return out;
}

// Which package each requested name became: itself, or the provider of a virtual name.
std::map<std::string, std::string> resolved_roots(const Resolution& res,
                                                  const std::vector<std::string>& requested) {
  std::map<std::string, std::string> roots;
  for (const std::string& name : requested) {
    auto real = std::find_if(res.packages.begin(), res.packages.end(),
                             [&](const IndexPackage& p) { return p.name == name; });
    if (real != res.packages.end()) {
      roots[name] = name;
      continue;
    }
    for (const IndexPackage& p : res.packages) {
      bool provides = std::any_of(p.provides.begin(), p.provides.end(),
                                  [&](const Relation& r) { return r.name == name; });
      if (provides) {
        roots[name] = p.name;
        break;
      }
    }
  }
  return roots;
}

}  // namespace

std::string spec_architecture(const specs::Spec& spec) {
  if (!spec.debian.architecture.empty()) return spec.debian.architecture;
  return debian_architecture(spec.image.architecture);
}

Json lock_inputs(const specs::Spec& spec, const std::string& architecture) {
  Json repos = Json::array();
  for (const specs::DebRepository& r : spec.debian.repositories) {
    if (r.host) {
      repos.push_back({{"host", true}});
      continue;
    }
    repos.push_back(
        {{"url", r.url}, {"suite", r.suite}, {"components", r.components}, {"keyring", r.keyring}});
  }
  Json layers = Json::array();
  for (const specs::LayerSpec& l : spec.image.layers) {
    if (l.debs.empty()) continue;
    Json names = Json::array();
    for (const specs::Ref& r : l.debs) names.push_back(r.name);
    layers.push_back(names);
  }
  Json inputs = {{"architecture", architecture}, {"repositories", repos}, {"debs", layers}};
  // Only with `rootfs: debs`, so the locks of other specs keep their bytes.
  if (spec.environment.rootfs == specs::RootfsKind::kDebs) {
    Json names = Json::array();
    for (const specs::Ref& r : spec.environment.debs) names.push_back(r.name);
    inputs["environment"] = names;
  }
  return inputs;
}

Digest environment_digest(const LockedEnvironment& environment) {
  Result<std::string> text = canonical_json(environment_json(environment));
  STRATA_CHECK(text.ok());  // strings and integers only
  return sha256_of(*text);
}

std::string lock_path(const specs::Spec& spec) { return spec.dir + "/" + kLockFileName; }

std::string render_lock(const Lock& lock) {
  Json repos = Json::array();
  for (const LockedRepository& r : lock.repositories) {
    repos.push_back(
        {{"url", r.url}, {"suite", r.suite}, {"release", r.release.str()}, {"distro", r.distro}});
  }
  Json packages = Json::array();
  for (const LockedPackage& p : lock.packages) packages.push_back(package_json(p));
  Json doc = {{"lockVersion", kLockVersion}, {"generator", "strata lock"}, {"inputs", lock.inputs},
              {"roots", lock.roots},         {"repositories", repos},      {"packages", packages}};
  if (lock.environment) doc["environment"] = environment_json(*lock.environment);
  return doc.dump(2) + "\n";
}

Result<Lock> parse_lock(std::string_view text, const std::string& what) {
  Result<Json> parsed = parse_json(text, what);
  if (!parsed.ok()) {
    return Error(ErrorCode::kSpec,
                 fmt::format("{}; run `strata lock` again", parsed.error().message()));
  }
  const Json& doc = *parsed;
  STRATA_TRY_ASSIGN(Json version,
                    member_of(doc, "lockVersion", Json::value_t::number_unsigned, what));
  if (version.get<int64_t>() != kLockVersion) {
    return Error(ErrorCode::kSpec, fmt::format("{}: lockVersion {} is not {}; run `strata lock` "
                                               "again",
                                               what, version.get<int64_t>(), kLockVersion));
  }
  Lock lock;
  STRATA_TRY_ASSIGN(lock.inputs, member_of(doc, "inputs", Json::value_t::object, what));
  STRATA_TRY_ASSIGN(Json roots, member_of(doc, "roots", Json::value_t::object, what));
  STRATA_TRY_ASSIGN(lock.roots, parse_roots(roots, what));
  STRATA_TRY_ASSIGN(Json repos, member_of(doc, "repositories", Json::value_t::array, what));
  for (const Json& r : repos) {
    LockedRepository repo;
    STRATA_TRY_ASSIGN(repo.url, string_of(r, "url", what));
    STRATA_TRY_ASSIGN(repo.suite, string_of(r, "suite", what));
    STRATA_TRY_ASSIGN(repo.distro, string_of(r, "distro", what));
    STRATA_TRY_ASSIGN(repo.release, digest_member(r, "release", what));
    lock.repositories.push_back(std::move(repo));
  }
  STRATA_TRY_ASSIGN(Json packages, member_of(doc, "packages", Json::value_t::array, what));
  STRATA_TRY_ASSIGN(lock.packages, parse_packages(packages, what));
  STRATA_TRY(check_closed(lock.packages, lock.roots, what));
  if (doc.contains("environment")) {
    std::string where = what + ": environment";
    STRATA_TRY_ASSIGN(Json env, member_of(doc, "environment", Json::value_t::object, what));
    STRATA_TRY_ASSIGN(Json env_roots, member_of(env, "roots", Json::value_t::object, where));
    STRATA_TRY_ASSIGN(Json env_packages, member_of(env, "packages", Json::value_t::array, where));
    LockedEnvironment e;
    STRATA_TRY_ASSIGN(e.roots, parse_roots(env_roots, where));
    STRATA_TRY_ASSIGN(e.packages, parse_packages(env_packages, where));
    STRATA_TRY(check_closed(e.packages, e.roots, where));
    lock.environment = std::move(e);
  }
  return lock;
}

Result<Lock> load_lock(const specs::Spec& spec) {
  std::string path = lock_path(spec);
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return Error(ErrorCode::kSpec,
                 fmt::format("{}: error: the spec has debs but there is no {} beside it; run "
                             "`strata lock {}`",
                             spec.file, kLockFileName, spec.file));
  }
  STRATA_TRY_ASSIGN(std::string text, read_file_limited(path, 64 << 20));
  STRATA_TRY_ASSIGN(Lock lock, parse_lock(text, path));
  Json want = lock_inputs(spec, spec_architecture(spec));
  if (lock.inputs.value("architecture", Json()) != want["architecture"]) {
    return Error(ErrorCode::kSpec,
                 fmt::format("{}: error: {} is for architecture {}, and this build is for {} "
                             "(set debian.architecture or image.architecture to build for the "
                             "lock's); run `strata lock {}` to lock for this one",
                             spec.file, path, lock.inputs.value("architecture", Json()).dump(),
                             want["architecture"].dump(), spec.file));
  }
  if (lock.inputs != want) {
    return Error(ErrorCode::kSpec,
                 fmt::format("{}: error: {} does not match the spec: its debian section or debs "
                             "changed since the lock was written; run `strata lock {}`",
                             spec.file, path, spec.file));
  }
  return lock;
}

Result<Lock> make_lock(const specs::Spec& spec, const LockOptions& options) {
  std::string arch = spec_architecture(spec);
  std::string scratch_parent = options.cache_dir + "/debian";
  STRATA_TRY(make_dirs(scratch_parent));
  Lock lock;
  lock.inputs = lock_inputs(spec, arch);
  std::vector<IndexPackage> index;
  std::vector<RepositoryIndex> repos;
  // Host keyrings are written here: gpgv reads a file, and a Signed-By key may be inline or
  // armored.
  STRATA_TRY_ASSIGN(TempDir keyrings, TempDir::create(scratch_parent, "keyrings"));
  STRATA_TRY_ASSIGN(std::vector<ReadRepository> to_read,
                    repositories_to_read(spec, options, keyrings.path()));
  for (size_t i = 0; i < to_read.size(); ++i) {
    const specs::DebRepository& repo = to_read[i].repo;
    const std::string& keyring = to_read[i].keyring;
    STRATA_TRY_ASSIGN(TempDir scratch, TempDir::create(scratch_parent, "lock"));
    RepositoryContext ctx{.fetcher = options.fetcher,
                          .fetch = options.fetch,
                          .work_dir = scratch.path(),
                          .gpgv = options.gpgv};
    STRATA_TRY_ASSIGN(RepositoryIndex read, read_repository(repo, i, keyring, arch, ctx));
    lock.repositories.push_back({.url = repo.url,
                                 .suite = repo.suite,
                                 .release = read.release_sha256,
                                 .distro = read.distro});
    index.insert(index.end(), read.packages.begin(), read.packages.end());
    repos.push_back(std::move(read));
  }
  std::map<std::string, std::string> prefer;
  std::map<std::string, std::string> prefer_env;
  if (options.previous && !options.update_all) {
    for (const LockedPackage& p : options.previous->packages) {
      if (!options.update.contains(p.name)) prefer[p.name] = p.version;
    }
    if (options.previous->environment) {
      for (const LockedPackage& p : options.previous->environment->packages) {
        if (!options.update.contains(p.name)) prefer_env[p.name] = p.version;
      }
    }
  }
  std::vector<std::string> requested = requested_names(spec);
  STRATA_TRY_ASSIGN(Resolution res, resolve(index, requested, prefer));
  lock.packages = locked_packages(res, repos);
  lock.roots = resolved_roots(res, requested);
  if (spec.environment.rootfs == specs::RootfsKind::kDebs) {
    std::vector<std::string> env_requested;
    for (const specs::Ref& r : spec.environment.debs) env_requested.push_back(r.name);
    std::vector<std::string> essential = essential_names(index);
    env_requested.insert(env_requested.end(), essential.begin(), essential.end());
    Result<Resolution> env_res = resolve(index, env_requested, prefer_env);
    if (!env_res.ok()) return std::move(env_res).error().context("environment.debs");
    LockedEnvironment env{.packages = locked_packages(*env_res, repos)};
    // The roots are the names the spec wrote; the Essential set is implied.
    std::vector<std::string> named;
    for (const specs::Ref& r : spec.environment.debs) named.push_back(r.name);
    env.roots = resolved_roots(*env_res, named);
    lock.environment = std::move(env);
  }
  return lock;
}

std::vector<std::vector<const LockedPackage*>> layer_packages(const specs::Spec& spec,
                                                              const Lock& lock) {
  std::map<std::string, const LockedPackage*> by_name;
  for (const LockedPackage& p : lock.packages) by_name[p.name] = &p;
  std::set<std::string> placed;
  std::vector<std::vector<const LockedPackage*>> out;
  for (const specs::LayerSpec& layer : spec.image.layers) {
    std::map<std::string, const LockedPackage*> here;
    std::deque<std::string> queue;
    for (const specs::Ref& r : layer.debs) {
      auto root = lock.roots.find(r.name);
      if (root != lock.roots.end()) queue.push_back(root->second);
    }
    while (!queue.empty()) {
      std::string name = queue.front();
      queue.pop_front();
      if (placed.contains(name)) continue;
      auto it = by_name.find(name);
      if (it == by_name.end()) continue;
      placed.insert(name);
      here[name] = it->second;
      for (const std::string& d : it->second->depends) queue.push_back(d);
    }
    std::vector<const LockedPackage*> list;
    for (const auto& [name, p] : here) list.push_back(p);
    out.push_back(std::move(list));
  }
  return out;
}

}  // namespace strata::builder::debian
