#include "builder/repro_check.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "builder/base/fs.h"
#include "builder/build/package_build.h"
#include "builder/diff/image_diff.h"

namespace strata::builder {
namespace {

namespace fs = std::filesystem;

std::string normal(const fs::path& p) {
  std::string out = p.lexically_normal().string();
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

// Relative inputs resolve against the spec's directory (spec.dir is absolute); absolute ones
// are not copied (see local_inputs).
void add_relative(std::vector<std::string>& out, const std::string& dir, const std::string& p) {
  if (p.empty() || p.starts_with('/')) return;
  out.push_back(normal(fs::path(dir) / p));
}

// splitmix64: a small, seedable, well-mixed generator; the mtimes only need to differ.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

struct CopyEntry {
  std::string rel;
  fs::file_type type = fs::file_type::none;
  uint32_t mode = 0;
};

bool is_skipped(const std::string& path, const std::vector<std::string>& skip) {
  return std::any_of(skip.begin(), skip.end(),
                     [&](const std::string& s) { return is_within(path, s); });
}

// `follow`: an input named in the spec that is a symlink is copied as what it points to,
// as strata reads it; a relative link would otherwise dangle in the copy.
Result<CopyEntry> entry_for(const std::string& from, const std::string& rel, bool follow = false) {
  std::error_code ec;
  fs::path path = fs::path(from) / rel;
  fs::file_status st = follow ? fs::status(path, ec) : fs::symlink_status(path, ec);
  if (ec) return Error::sys(fmt::format("stat {}/{}", from, rel), ec.value());
  return CopyEntry{
      .rel = rel, .type = st.type(), .mode = static_cast<uint32_t>(st.permissions()) & 07777};
}

// Every entry of the tree at from/rel ("" = from itself), skipped paths left out.
Result<void> list_subtree(const std::string& from, const std::string& rel,
                          const std::vector<std::string>& skip, std::vector<CopyEntry>& out) {
  std::string top = rel.empty() ? from : from + "/" + rel;
  std::error_code ec;
  fs::recursive_directory_iterator it(top, fs::directory_options::none, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::string path = normal(it->path());
    if (is_skipped(path, skip)) {
      it.disable_recursion_pending();
      continue;
    }
    STRATA_TRY_ASSIGN(CopyEntry e,
                      entry_for(from, normal(fs::path(path).lexically_relative(from))));
    out.push_back(std::move(e));
  }
  if (ec) return Error::sys("listing " + top, ec.value());
  return {};
}

// The entries to copy: each `only` path, its parent directories and (for a directory) its
// whole tree; every entry once, in reverse byte order of the relative path.
Result<std::vector<CopyEntry>> list_tree(const std::string& from, const VariedCopyOptions& o) {
  std::vector<CopyEntry> entries;
  if (o.only.empty()) STRATA_TRY(list_subtree(from, "", o.skip, entries));
  for (const std::string& rel : o.only) {
    for (fs::path p = fs::path(rel).parent_path(); !p.empty(); p = p.parent_path()) {
      STRATA_TRY_ASSIGN(CopyEntry dir, entry_for(from, p.string()));
      entries.push_back(std::move(dir));
    }
    STRATA_TRY_ASSIGN(CopyEntry e, entry_for(from, rel, /*follow=*/true));
    if (e.type == fs::file_type::directory) STRATA_TRY(list_subtree(from, rel, o.skip, entries));
    entries.push_back(std::move(e));
  }
  std::erase_if(entries, [](const CopyEntry& e) {
    return e.type != fs::file_type::directory && e.type != fs::file_type::regular &&
           e.type != fs::file_type::symlink;
  });
  std::sort(entries.begin(), entries.end(),
            [](const CopyEntry& a, const CopyEntry& b) { return a.rel > b.rel; });
  entries.erase(std::unique(entries.begin(), entries.end(),
                            [](const CopyEntry& a, const CopyEntry& b) { return a.rel == b.rel; }),
                entries.end());
  return entries;
}

Result<void> copy_file_contents(const std::string& from, const std::string& to, uint32_t mode) {
  STRATA_TRY_ASSIGN(UniqueFd in, open_fd(from, O_RDONLY));
  STRATA_TRY_ASSIGN(UniqueFd out, open_fd(to, O_WRONLY | O_CREAT | O_EXCL, static_cast<int>(mode)));
  char buf[65536];
  for (;;) {
    STRATA_TRY_ASSIGN(int64_t n, read_some(in.get(), buf, sizeof buf, from));
    if (n == 0) break;
    STRATA_TRY(write_all(out.get(), std::string_view(buf, static_cast<size_t>(n)), to));
  }
  return out.close(to);
}

Result<void> create_entry(const std::string& from, const std::string& to, const CopyEntry& e,
                          uint32_t mode) {
  std::string src = from + "/" + e.rel;
  std::string dst = to + "/" + e.rel;
  if (e.type == fs::file_type::directory) return make_dirs(dst);
  STRATA_TRY(make_dirs(dirname_of(dst)));
  if (e.type == fs::file_type::regular) return copy_file_contents(src, dst, mode);
  std::error_code ec;
  fs::path target = fs::read_symlink(src, ec);
  if (ec) return Error::sys("readlink " + src, ec.value());
  if (::symlink(target.c_str(), dst.c_str()) != 0) return Error::sys("symlink " + dst, errno);
  return {};
}

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

std::vector<std::string> local_inputs(const specs::Spec& spec) {
  std::vector<std::string> out;
  add_relative(out, spec.dir, basename_of(spec.file));
  for (const specs::Source& s : spec.sources) add_relative(out, spec.dir, s.path);
  if (spec.environment.image) add_relative(out, spec.dir, spec.environment.image->path);
  if (spec.image.base) add_relative(out, spec.dir, spec.image.base->path);
  for (const specs::LayerSpec& layer : spec.image.layers) {
    for (const specs::FileMapping& f : layer.files) add_relative(out, spec.dir, f.src);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Result<std::string> copy_root(const std::vector<std::string>& inputs) {
  STRATA_CHECK(!inputs.empty());
  fs::path root = fs::path(inputs.front()).parent_path();
  for (const std::string& input : inputs) {
    fs::path parent = fs::path(input).parent_path();
    fs::path common;
    auto a = root.begin();
    auto b = parent.begin();
    for (; a != root.end() && b != parent.end() && *a == *b; ++a, ++b) common /= *a;
    root = common;
  }
  std::string out = normal(root);
  if (out.empty() || out == "/") {
    return Error(ErrorCode::kSpec,
                 fmt::format("--check: the spec's local inputs ({} and {}) have no common "
                             "directory below /; --check copies that directory",
                             inputs.front(), inputs.back()));
  }
  return out;
}

Result<std::vector<std::string>> copy_tree_varied(const std::string& from, const std::string& to,
                                                  const VariedCopyOptions& options) {
  STRATA_TRY_ASSIGN(std::vector<CopyEntry> entries, list_tree(from, options));
  if (::mkdir(to.c_str(), 0700) != 0) return Error::sys("mkdir " + to, errno);
  // Reverse order creates children before their parents (make_dirs fills those in), the
  // opposite of what a checkout or `cp -r` does, so directory order on disk differs too.
  auto masked = [&](uint32_t mode) { return (mode & ~options.umask & 07777) | (mode & 0700); };
  for (const CopyEntry& e : entries) {
    STRATA_TRY(create_entry(from, to, e, masked(e.mode)));
  }
  // Modes and times last: creating a child changes its directory's mtime, and a directory
  // made read-only first could not receive its children.
  const int64_t kSpreadS = 3 * 365 * 86400;
  for (size_t i = 0; i < entries.size(); ++i) {
    const CopyEntry& e = entries[i];
    std::string dst = to + "/" + e.rel;
    if (e.type == fs::file_type::directory && ::chmod(dst.c_str(), masked(e.mode)) != 0) {
      return Error::sys("chmod " + dst, errno);
    }
    uint64_t r = mix(options.seed ^ mix(i));
    struct timespec times[2];
    times[0].tv_sec = times[1].tv_sec =
        options.now_s - 1 - static_cast<int64_t>(r % static_cast<uint64_t>(kSpreadS));
    times[0].tv_nsec = times[1].tv_nsec = static_cast<long>((r >> 32) % 1000000000);
    if (::utimensat(AT_FDCWD, dst.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
      return Error::sys("utimensat " + dst, errno);
    }
  }
  std::vector<std::string> created;
  for (const CopyEntry& e : entries) created.push_back(e.rel);
  return created;
}

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
  set("STRATA_CHECK_NOISE", fmt::format("{:016x}", mix(seed)));
  v.umask = host.umask == 077 ? 002 : 077;
  v.variations.push_back({"umask", umask_text(host.umask), umask_text(v.umask)});
  v.jobs = host.jobs > 1 ? 1 : 2;
  v.variations.push_back({"--jobs", std::to_string(host.jobs), std::to_string(v.jobs)});
  return v;
}

Result<int> ForkExecLauncher::run(const ProcessSpec& spec) {
  STRATA_CHECK(!spec.argv.empty());
  // Everything the child touches is prepared before fork: it may only make syscalls.
  std::vector<char*> argv;
  for (const std::string& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : spec.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (std::string& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  STRATA_TRY_ASSIGN(UniqueFd in, open_fd("/dev/null", O_RDONLY));
  STRATA_TRY_ASSIGN(UniqueFd out, open_fd(spec.stdout_path, O_WRONLY | O_CREAT | O_TRUNC, 0600));
  STRATA_TRY_ASSIGN(UniqueFd err, open_fd(spec.stderr_path, O_WRONLY | O_CREAT | O_TRUNC, 0600));
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return Error::sys("pipe2", errno);
  UniqueFd report_read(report[0]);
  UniqueFd report_write(report[1]);
  pid_t pid = ::fork();
  if (pid < 0) return Error::sys("fork", errno);
  if (pid == 0) {
    // The child: dup2 clears FD_CLOEXEC on 0-2; every other descriptor closes on exec. A
    // failure is reported as {step, errno} through the pipe; EOF means exec succeeded.
    int record[2] = {0, 0};
    if (::dup2(in.get(), 0) < 0 || ::dup2(out.get(), 1) < 0 || ::dup2(err.get(), 2) < 0) {
      record[0] = 1;
    } else if (::umask(static_cast<mode_t>(spec.umask)), ::chdir(spec.cwd.c_str()) != 0) {
      record[0] = 2;
    } else {
      ::execve(argv[0], argv.data(), envp.data());
      record[0] = 3;
    }
    record[1] = errno;
    ssize_t ignored = ::write(report_write.get(), record, sizeof record);
    (void)ignored;
    ::_exit(127);
  }
  report_write = UniqueFd();
  int record[2] = {0, 0};
  ssize_t n;
  do {
    n = ::read(report_read.get(), record, sizeof record);
  } while (n < 0 && errno == EINTR);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return Error::sys("waitpid", errno);
  }
  if (n == static_cast<ssize_t>(sizeof record)) {
    std::string what = record[0] == 1   ? std::string("dup2")
                       : record[0] == 2 ? "chdir " + spec.cwd
                                        : "execve " + spec.argv[0];
    return Error::sys(what, record[1]);
  }
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

namespace {

// Build 2's cache: sources/ and rootfs/ are the real cache's (content-addressed and verified
// on use, so sharing them changes nothing but the time to fetch); packages/ starts empty, so
// every package is built again from source.
Result<void> make_shared_cache(const std::string& real, const std::string& cache) {
  STRATA_TRY(make_dirs(cache));
  for (const char* sub : {"sources", "rootfs"}) {
    std::string target = real + "/" + sub;
    struct stat st;
    if (::stat(target.c_str(), &st) != 0) continue;
    std::string link = cache + "/" + sub;
    if (::symlink(target.c_str(), link.c_str()) != 0) return Error::sys("symlink " + link, errno);
  }
  return {};
}

struct Build2 {
  std::string spec_path;  // relative to `work`, so it differs from build 1's as given
  std::string work;
  std::string output_root;
  std::string cache;
  std::vector<Variation> variations;
};

// Copies the inputs and lays out build 2's directories under `tmp`.
Result<Build2> prepare_build2(const specs::Spec& spec, const CheckOptions& o,
                              const std::string& tmp) {
  std::vector<std::string> inputs = local_inputs(spec);
  STRATA_TRY_ASSIGN(std::string root, copy_root(inputs));
  std::string copy = tmp + "/in/" + basename_of(root);
  STRATA_TRY(make_dirs(tmp + "/in"));
  VariedCopyOptions copy_options{.umask = 077, .now_s = o.now_s, .seed = o.seed};
  for (const std::string& input : inputs) {
    copy_options.only.push_back(normal(fs::path(input).lexically_relative(root)));
  }
  // An output inside a copied directory (`-o .`, a cache under the spec's directory) is not
  // an input; one that holds an input cannot be left out.
  std::vector<std::string> skip = o.build1_outputs;
  skip.insert(skip.end(), {tmp, o.cache_dir});
  for (const std::string& s : skip) {
    if (std::none_of(inputs.begin(), inputs.end(),
                     [&](const std::string& i) { return is_within(i, s); })) {
      copy_options.skip.push_back(s);
    }
  }
  STRATA_TRY_ASSIGN(std::vector<std::string> copied, copy_tree_varied(root, copy, copy_options));
  std::string spec_abs = normal(fs::path(spec.dir) / basename_of(spec.file));
  Build2 b{.work = tmp + "/work", .output_root = tmp + "/out", .cache = tmp + "/cache"};
  b.spec_path =
      normal(fs::path("../in") / basename_of(root) / fs::path(spec_abs).lexically_relative(root));
  for (const char* dir : {"/work", "/home", "/tmp"}) STRATA_TRY(make_dirs(tmp + dir));
  STRATA_TRY(make_shared_cache(o.cache_dir, b.cache));
  b.variations = {
      {"working directory", o.host.working_dir, b.work},
      {"spec path", o.host.spec_path, b.spec_path},
      {"inputs", root,
       fmt::format("{} ({} {} created in reverse order, modes under umask 077, mtimes spread "
                   "over three years)",
                   copy, copied.size(), copied.size() == 1 ? "entry" : "entries")},
      {"cache", o.cache_dir, b.cache + " (sources and environments shared, packages rebuilt)"},
  };
  return b;
}

// With --attach the index also lists the provenance as an OCI 1.1 artifact, and the
// provenance records the spec path as given, which build 2 changes on purpose. Index fields
// of entries whose artifactType is an in-toto type, on either side, are dropped; the image
// manifest and the SBOM artifact are still compared.
void drop_provenance_artifacts(diff::ImageDiff& d, const oci::ImageView& a,
                               const oci::ImageView& b) {
  std::set<std::string> prefixes;
  for (const oci::ImageView* view : {&a, &b}) {
    const Json& manifests = member(view->index, "manifests");
    for (size_t i = 0; manifests.is_array() && i < manifests.size(); ++i) {
      // member(), not operator[]: on a const Json a missing key is undefined behaviour.
      const Json& type = member(manifests[i], "artifactType");
      if (type.is_string() && type.get<std::string>().starts_with("application/vnd.in-toto")) {
        prefixes.insert(fmt::format("/manifests/{}", i));
      }
    }
  }
  std::erase_if(d.fields, [&](const diff::FieldDiff& f) {
    return f.document == "index" &&
           std::any_of(prefixes.begin(), prefixes.end(), [&](const std::string& p) {
             return f.pointer == p || f.pointer.starts_with(p + "/");
           });
  });
}

// Compares the layouts, and the SBOMs when build 1 wrote one: both derive from the image and
// the spec only. The provenance is not compared (docs/reproducibility-check.md: it records
// the spec path as given, which build 2 changes on purpose).
Result<void> compare_builds(const CheckOptions& o, const specs::Spec& spec, const Build2& b,
                            CheckResult& r) {
  std::string layout2 = b.output_root + "/" + spec.name;
  STRATA_TRY_ASSIGN(oci::ImageView view1, oci::open_image(o.layout_dir));
  STRATA_TRY_ASSIGN(oci::ImageView view2, oci::open_image(layout2));
  STRATA_TRY_ASSIGN(diff::ImageDiff d, diff::diff_images(view1, view2, {}));
  drop_provenance_artifacts(d, view1, view2);
  d.source_a = "build 1 (" + o.layout_dir + ")";
  d.source_b = "build 2 (varied conditions)";
  r.digest1 = d.manifest_a;
  r.digest2 = d.manifest_b;
  if (!o.sbom_path.empty()) {
    std::string sbom2 = b.output_root + "/" + basename_of(o.sbom_path);
    STRATA_TRY_ASSIGN(std::string a, read_file(o.sbom_path));
    STRATA_TRY_ASSIGN(std::string c, read_file(sbom2));
    r.sbom_same = a == c;
  }
  r.reproducible = d.is_same() && r.sbom_same;
  if (!r.reproducible) {
    r.diff_json = diff::diff_to_json(d);
    r.diff_text = d.is_same() ? "" : diff::format_diff(d);
    if (!r.sbom_same) {
      r.diff_text += fmt::format("SBOM {} differs between the builds\n", basename_of(o.sbom_path));
    }
  }
  return {};
}

}  // namespace

Result<CheckResult> check_reproducible(const specs::Spec& spec, const CheckOptions& o) {
  STRATA_CHECK(o.launcher != nullptr);
  STRATA_TRY_ASSIGN(TempDir tmp, TempDir::create(o.temp_parent, "strata-check-"));
  STRATA_TRY_ASSIGN(Build2 b, prepare_build2(spec, o, tmp.path()));
  VariedConditions v = vary_conditions(o.host, tmp.path(), o.seed);
  ProcessSpec p{.argv = {o.self_exe, "build", b.spec_path, "-o", "../out", "--cache", b.cache,
                         "--offline", "--jobs", std::to_string(v.jobs)},
                .env = v.env,
                .cwd = b.work,
                .umask = v.umask,
                .stdout_path = tmp.path() + "/build2.stdout",
                .stderr_path = tmp.path() + "/build2.log"};
  p.argv.insert(p.argv.end(), o.output_args.begin(), o.output_args.end());
  STRATA_TRY_ASSIGN(int status, o.launcher->run(p));
  if (status != 0) {
    return Error::io(fmt::format(
        "--check: build 2 (the same spec under varied conditions) failed with exit status {}; "
        "build 1 succeeded, so the build depends on what --check varies. Build 2's log "
        "ends:\n{}",
        status, build::log_tail(p.stderr_path, 25)));
  }
  CheckResult r;
  r.variations = std::move(b.variations);
  r.variations.insert(r.variations.end(), v.variations.begin(), v.variations.end());
  STRATA_TRY(compare_builds(o, spec, b, r));
  return r;
}

Json check_to_json(const CheckResult& r) {
  Json variations = Json::array();
  for (const Variation& v : r.variations) {
    variations.push_back({{"name", v.name}, {"build1", v.build1}, {"build2", v.build2}});
  }
  Json out = {{"reproducible", r.reproducible},
              {"digest1", r.digest1.str()},
              {"digest2", r.digest2.str()},
              {"sbom_same", r.sbom_same},
              {"variations", variations}};
  if (!r.reproducible) out["diff"] = r.diff_json;
  return out;
}

}  // namespace strata::builder
