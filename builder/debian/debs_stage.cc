#include "builder/debian/debs_stage.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>

#include "builder/debian/deb822.h"
#include "builder/debian/deb_file.h"

namespace strata::builder::debian {
namespace {

LayerEntry status_file(std::string path, std::string content) {
  int64_t size = static_cast<int64_t>(content.size());
  return {.path = std::move(path), .mode = 0644, .content = std::move(content), .size = size};
}

Result<DebPackage> fetch_package(const LockedPackage& p, const sources::SourceStore& store,
                                 const std::string& spec_dir, sources::Fetcher& fetcher,
                                 const std::string& content_dir, DebLayer& layer) {
  STRATA_TRY_ASSIGN(DebContents deb, fetch_locked_deb(p, store, spec_dir, fetcher, content_dir));
  DebPackage out{.locked = p, .scripts = deb.scripts};
  std::string copyright_path = fmt::format("usr/share/doc/{}/copyright", p.name);
  for (LayerEntry& e : deb.entries) {
    if (e.type == EntryType::kRegular || e.type == EntryType::kHardlink)
      out.files.push_back(e.path);
    if (e.type == EntryType::kRegular && e.path == copyright_path) {
      Result<std::string> text = e.host_path.empty()
                                     ? Result<std::string>(e.content)
                                     : read_file_limited(e.host_path, int64_t{4} << 20);
      if (text.ok()) out.license = copyright_license(*text);
    }
    layer.entries.push_back(std::move(e));
  }
  std::string status_dir = "var/lib/dpkg/status.d/";
  layer.entries.push_back(status_file(status_dir + p.name, deb.control));
  if (!deb.md5sums.empty()) {
    layer.entries.push_back(status_file(status_dir + p.name + ".md5sums", deb.md5sums));
  }
  return out;
}

}  // namespace

Result<DebContents> fetch_locked_deb(const LockedPackage& p, const sources::SourceStore& store,
                                     const std::string& spec_dir, sources::Fetcher& fetcher,
                                     const std::string& content_dir) {
  std::string what = fmt::format("deb '{}' {} ({})", p.name, p.version, p.url);
  specs::Source source{.name = p.name, .url = p.url, .sha256 = p.sha256};
  Result<sources::StoredSource> stored = store.ensure(source, spec_dir, fetcher);
  if (!stored.ok()) {
    // The store locates its errors at the source's spec node; a deb has none of its own.
    const Error& e = stored.error();
    return Error(e.code(), fmt::format("deb '{}' {}: {}", p.name, p.version, e.message()));
  }
  struct stat st;
  if (::stat(stored->blob_path.c_str(), &st) != 0) {
    return Error::sys("stat " + stored->blob_path, errno);
  }
  if (st.st_size != p.size) {
    return Error(ErrorCode::kDigestMismatch,
                 fmt::format("{}: {} bytes, but strata.lock says {}", what, st.st_size, p.size));
  }
  return read_deb(stored->blob_path, what, content_dir);
}

std::string copyright_license(std::string_view copyright) {
  if (!copyright.starts_with("Format:")) return "";
  Result<std::vector<Stanza>> stanzas = parse_deb822(copyright, "copyright", 10000);
  if (!stanzas.ok() || stanzas->empty()) return "";
  std::string format = stanzas->front().get_or("Format");
  if (format.find("copyright-format/1.0") == std::string::npos) return "";
  std::vector<std::string> names;
  for (const Stanza& s : *stanzas) {
    if (!s.get("Files")) continue;
    std::optional<std::string> license = s.get("License");
    if (!license) continue;
    std::string first = license->substr(0, license->find('\n'));
    while (!first.empty() && first.back() == ' ') first.pop_back();
    if (!first.empty() && std::find(names.begin(), names.end(), first) == names.end()) {
      names.push_back(first);
    }
  }
  std::string out;
  for (const std::string& n : names) {
    if (!out.empty()) out += " AND ";
    out += n.find_first_of(" ") == std::string::npos ? n : "(" + n + ")";
  }
  return out;
}

Result<std::vector<DebLayer>> prepare_deb_layers(const specs::Spec& spec, const Lock& lock,
                                                 const sources::SourceOptions& options,
                                                 sources::Fetcher& fetcher,
                                                 const std::function<void(std::string)>& warn) {
  std::vector<std::vector<const LockedPackage*>> per_layer = layer_packages(spec, lock);
  sources::SourceStore store(options);
  std::shared_ptr<TempDir> contents;
  if (!options.cache_dir.empty()) {
    std::string tmp = options.cache_dir + "/packages/tmp";
    STRATA_TRY(make_dirs(tmp));
    STRATA_TRY_ASSIGN(TempDir dir, TempDir::create(tmp, "debs-"));
    contents = std::make_shared<TempDir>(std::move(dir));
  }
  std::vector<DebLayer> out;
  size_t n = 0;
  for (const std::vector<const LockedPackage*>& packages : per_layer) {
    DebLayer layer{.contents = contents};
    for (const LockedPackage* p : packages) {
      // One directory per package: its files are named by their position in it.
      std::string content_dir;
      if (contents) {
        content_dir = fmt::format("{}/{}", contents->path(), n++);
        STRATA_TRY(make_dirs(content_dir));
      }
      STRATA_TRY_ASSIGN(DebPackage pkg,
                        fetch_package(*p, store, spec.dir, fetcher, content_dir, layer));
      if (!pkg.scripts.empty() && warn) {
        warn(
            fmt::format("deb '{}' has maintainer scripts ({}) that strata does not run; see "
                        "docs/debian-packages.md",
                        p->name, fmt::join(pkg.scripts, ", ")));
      }
      layer.packages.push_back(std::move(pkg));
    }
    out.push_back(std::move(layer));
  }
  return out;
}

}  // namespace strata::builder::debian
