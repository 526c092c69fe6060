#include "builder/check/repro_check.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <set>

#include "builder/base/fs.h"
#include "builder/build/package_build.h"
#include "builder/check/inputs.h"
#include "builder/check/varied_copy.h"
#include "builder/diff/image_diff.h"

namespace strata::builder {
namespace {

namespace fs = std::filesystem;

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
    copy_options.only.push_back(normal_path(fs::path(input).lexically_relative(root)));
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
  std::string spec_abs = normal_path(fs::path(spec.dir) / basename_of(spec.file));
  Build2 b{.work = tmp + "/work", .output_root = tmp + "/out", .cache = tmp + "/cache"};
  b.spec_path = normal_path(fs::path("../in") / basename_of(root) /
                            fs::path(spec_abs).lexically_relative(root));
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

// Where a failed build 2's logs are kept once its temporary directory is gone: beside build
// 1's (CACHE/logs/NAME), replaced by the next failed check.
std::string kept_logs_dir(const CheckOptions& o, const specs::Spec& spec) {
  return fmt::format("{}/logs/{}.check-build2", o.cache_dir, spec.name);
}

// Copies build 2's stderr and its package logs (its cache's logs/) to kept_logs_dir. Best
// effort: the failure is reported either way, naming the directory only when it was kept.
std::optional<std::string> keep_build2_logs(const CheckOptions& o, const specs::Spec& spec,
                                            const Build2& b, const std::string& stderr_path) {
  std::string kept = kept_logs_dir(o, spec);
  std::error_code ec;
  fs::remove_all(kept, ec);
  fs::create_directories(kept, ec);
  if (ec) return std::nullopt;
  fs::copy_file(stderr_path, kept + "/build2.log", ec);
  std::string logs = b.cache + "/logs";
  if (fs::is_directory(logs, ec)) {
    fs::copy(logs, kept + "/packages", fs::copy_options::recursive, ec);
  }
  if (ec) return std::nullopt;
  return kept;
}

// The line of build 2's stderr that says what failed ("strata: error: package 'p' failed at
// step 2/3: make"), or "" when it has none.
std::string failure_line(const std::string& stderr_tail) {
  constexpr std::string_view kPrefix = "strata: error: ";
  size_t at = stderr_tail.rfind(kPrefix);
  if (at == std::string::npos) return "";
  size_t end = stderr_tail.find('\n', at);
  return stderr_tail.substr(at + kPrefix.size(), end == std::string::npos
                                                     ? std::string::npos
                                                     : end - at - kPrefix.size());
}

Error build2_failed(const CheckOptions& o, const specs::Spec& spec, const Build2& b,
                    const std::vector<Variation>& variations, const std::string& stderr_path,
                    int status) {
  std::string tail = build::log_tail(stderr_path, 25);
  std::string what = failure_line(tail);
  std::string out = fmt::format(
      "--check: build 2 (the same spec under varied conditions) failed with exit status {}{}; "
      "build 1 succeeded, so the build depends on one of the conditions --check varied:",
      status, what.empty() ? "" : ": " + what);
  for (const Variation& v : variations)
    out += fmt::format("\n  {}: {} -> {}", v.name, v.build1, v.build2);
  std::optional<std::string> kept = keep_build2_logs(o, spec, b, stderr_path);
  if (kept) out += fmt::format("\nBuild 2's logs are kept in {} (build2.log, packages/)", *kept);
  out += "\nBuild 2's log ends:\n" + tail;
  return Error(ErrorCode::kBuild, std::move(out));
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
  CheckResult r;
  r.variations = b.variations;
  r.variations.insert(r.variations.end(), v.variations.begin(), v.variations.end());
  if (status != 0) return build2_failed(o, spec, b, r.variations, p.stderr_path, status);
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
