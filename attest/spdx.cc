// SPDX 2.3 JSON (https://spdx.github.io/spdx-spec/v2.3/, schema spdx-schema.json). The schema
// forbids unknown keys, so every object here uses only fields spdx-schema.json lists.
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "attest/ids.h"
#include "attest/sbom.h"

namespace strata::attest {
namespace {

constexpr char kNoAssertion[] = "NOASSERTION";

Json sha256_checksum(const Digest& d) {
  return Json::array({{{"algorithm", "SHA256"}, {"checksumValue", d.hex}}});
}

Json purl_ref(std::string purl) {
  return Json::array({{{"referenceCategory", "PACKAGE-MANAGER"},
                       {"referenceType", "purl"},
                       {"referenceLocator", std::move(purl)}}});
}

Json relationship(const std::string& from, const char* type, const std::string& to) {
  return {{"spdxElementId", from}, {"relationshipType", type}, {"relatedSpdxElement", to}};
}

// Packages that are not a set of analyzed files: metadata only, so filesAnalyzed is false
// and no verification code is expected.
Json metadata_package(const std::string& id, const std::string& name) {
  return {{"SPDXID", id},
          {"name", name},
          {"downloadLocation", kNoAssertion},
          {"filesAnalyzed", false},
          {"licenseConcluded", kNoAssertion},
          {"licenseDeclared", kNoAssertion},
          {"copyrightText", kNoAssertion}};
}

// The document lists each file of each layer in three places (files, their CONTAINS
// relationships, and the Debian packages' ones), so it is written in passes over the layers,
// one per array, in the order the arrays come in the text; nothing per file is kept from one
// pass to the next. Every pass makes the same calls in the same order: the element ids come
// out the same in each.
enum class Pass { kProbe, kFiles, kPackages, kRelationships };

// SPDX ids for one pass. When the probe pass found no two natural ids alike (the usual case),
// every id is its natural form and nothing is remembered per file; otherwise each pass hands
// them out with a fresh SpdxIds, as the one-pass builder did, at the cost of a set of every id.
class IdMaker {
 public:
  enum class Mode { kProbe, kNatural, kExact };
  explicit IdMaker(Mode mode) : mode_(mode) {}
  std::string make(std::string_view prefix, std::string_view text) {
    if (mode_ == Mode::kExact) return exact_.make(prefix, text);
    std::string id = SpdxIds::natural(prefix, text);
    if (mode_ == Mode::kProbe) hashes_.push_back(std::hash<std::string_view>()(id));
    return id;
  }
  bool is_exact() const { return mode_ == Mode::kExact; }
  // kProbe: whether two ids made may have been alike (equal hashes; then kExact is used).
  bool may_collide() {
    std::sort(hashes_.begin(), hashes_.end());
    return std::adjacent_find(hashes_.begin(), hashes_.end()) != hashes_.end();
  }

 private:
  Mode mode_;
  SpdxIds exact_;
  std::vector<size_t> hashes_;  // kProbe: 8 bytes per id, for the probe only
};

struct Document {
  Pass pass;
  IdMaker ids;
  CanonicalArray* files = nullptr;  // the array this pass writes, or null
  CanonicalArray* packages = nullptr;
  CanonicalArray* relationships = nullptr;
  // kExact, relationships pass: per image layer, path -> id, for the Debian packages' files.
  std::vector<std::map<std::string, std::string>> file_ids;

  void package(const Json& p) {
    if (packages) packages->push_back(p);
  }
  void relate(const std::string& from, const char* type, const std::string& to) {
    if (relationships) relationships->push_back(relationship(from, type, to));
  }
  // Whether this pass needs the files' ids: to write them, or to keep the call order exact.
  bool wants_file_ids() const { return pass != Pass::kPackages || ids.is_exact(); }
};

std::string add_image(Document& doc, const specs::Spec& spec, const SbomInputs& in) {
  std::string id = doc.ids.make("Image", spec.name);
  if (doc.packages) {
    Json p = metadata_package(id, spec.name);
    p["versionInfo"] = spec.version;
    p["primaryPackagePurpose"] = "CONTAINER";
    p["checksums"] = sha256_checksum(in.manifest_digest);
    p["externalRefs"] = purl_ref(
        oci_purl(spec.name, in.manifest_digest.hex, spec.image.architecture, spec.version));
    doc.package(p);
  }
  doc.relate("SPDXRef-DOCUMENT", "DESCRIBES", id);
  return id;
}

// A layer's files are analyzed (listed with digests); the verification code SPDX defines
// needs SHA-1s strata does not compute, and is optional in 2.3 (docs/sbom.md).
std::string add_layer(Document& doc, const specs::Spec& spec, const SbomLayer& layer, size_t n,
                      bool from_base) {
  std::string id = doc.ids.make("Layer", std::to_string(n));
  if (doc.packages) {
    Json p = metadata_package(id, fmt::format("{} layer {}", spec.name, n));
    p["filesAnalyzed"] = true;
    p["primaryPackagePurpose"] = "ARCHIVE";
    p["checksums"] = sha256_checksum(layer.digest);
    p["comment"] = fmt::format("OCI layer {} ({}), diff_id {}{}", n, layer.media_type,
                               layer.diff_id.str(), from_base ? ", from the base image" : "");
    doc.package(p);
  }
  bool keep_ids = doc.ids.is_exact() && doc.pass == Pass::kRelationships;
  if (keep_ids) doc.file_ids.resize(n);
  if (!doc.wants_file_ids()) return id;
  std::string prefix = fmt::format("File-L{}", n);
  for_each_file(layer, [&](std::string_view path, const Digest& sha256, int64_t) {
    std::string file_id = doc.ids.make(prefix, path);
    if (keep_ids) doc.file_ids[n - 1][std::string(path)] = file_id;
    if (doc.files) {
      doc.files->push_back({{"SPDXID", file_id},
                            {"fileName", "./" + std::string(path)},
                            {"checksums", sha256_checksum(sha256)},
                            {"licenseConcluded", kNoAssertion},
                            {"copyrightText", kNoAssertion}});
    }
    doc.relate(id, "CONTAINS", file_id);
  });
  return id;
}

std::string add_source(Document& doc, const specs::Source& s) {
  std::string id = doc.ids.make("Source", s.name);
  Json p = metadata_package(id, s.name);
  if (!s.url.empty()) p["downloadLocation"] = s.url;
  p["primaryPackagePurpose"] = "SOURCE";
  p["checksums"] = sha256_checksum(s.sha256);
  std::map<std::string, std::string> q = {{"checksum", "sha256:" + s.sha256.hex}};
  if (!s.url.empty()) q["download_url"] = s.url;
  p["externalRefs"] = purl_ref(generic_purl(s.name, "", q));
  if (!s.path.empty()) p["sourceInfo"] = "path relative to the spec: " + s.path;
  doc.package(p);
  return id;
}

std::string add_package(Document& doc, const specs::Package& pkg,
                        const std::map<std::string, const specs::Source*>& sources) {
  std::string id = doc.ids.make("Package", pkg.name);
  Json p = metadata_package(id, pkg.name);
  if (!pkg.version.empty()) p["versionInfo"] = pkg.version;
  if (!pkg.license.empty()) p["licenseDeclared"] = pkg.license;
  p["externalRefs"] = purl_ref(generic_purl(pkg.name, pkg.version));
  // The download location of a package is that of its first source fetched by URL.
  for (const specs::Ref& r : pkg.sources) {
    auto it = sources.find(r.name);
    if (it != sources.end() && !it->second->url.empty()) {
      p["downloadLocation"] = it->second->url;
      break;
    }
  }
  doc.package(p);
  return id;
}

std::string add_oci_dependency(Document& doc, const char* prefix, const specs::ImageRef& ref,
                               const std::string& arch) {
  std::string id = doc.ids.make(prefix, ref.name());
  Json p = metadata_package(id, ref.name());
  p["primaryPackagePurpose"] = "CONTAINER";
  p["checksums"] = sha256_checksum(ref.digest);
  p["externalRefs"] = purl_ref(image_purl(ref, arch));
  doc.package(p);
  return id;
}

// The Debian package `d` (id `id`) contains each of its files its layer lists. With natural
// ids a file's id follows from its path; which of the package's files the layer lists is
// found by looking each of the layer's paths up in the package's list, sorted (views into
// d.files): a path the visitor passes is only valid during the call, and the package is
// usually the smaller list.
void relate_deb_files(Document& doc, const SbomInputs& in, const SbomDeb& d,
                      const std::string& id) {
  size_t image_layer = in.base_layers + d.layer;
  if (doc.ids.is_exact()) {
    if (image_layer >= doc.file_ids.size()) return;
    const std::map<std::string, std::string>& files = doc.file_ids[image_layer];
    for (const std::string& f : d.files) {
      auto it = files.find(f);
      if (it != files.end()) doc.relate(id, "CONTAINS", it->second);
    }
    return;
  }
  if (image_layer >= in.layers.size() || d.files.empty()) return;
  std::vector<std::pair<std::string_view, size_t>> wanted;  // {path, index in d.files}
  wanted.reserve(d.files.size());
  for (size_t i = 0; i < d.files.size(); ++i) wanted.emplace_back(d.files[i], i);
  std::sort(wanted.begin(), wanted.end());
  std::vector<bool> listed(d.files.size());
  for_each_file(in.layers[image_layer], [&](std::string_view path, const Digest&, int64_t) {
    auto at = std::lower_bound(wanted.begin(), wanted.end(), std::make_pair(path, size_t{0}));
    for (; at != wanted.end() && at->first == path; ++at) listed[at->second] = true;
  });
  std::string prefix = fmt::format("File-L{}", image_layer + 1);
  for (size_t i = 0; i < d.files.size(); ++i) {
    if (listed[i]) doc.relate(id, "CONTAINS", SpdxIds::natural(prefix, d.files[i]));
  }
}

// A Debian package of a `debs:` layer: contained by its layer, containing its files, and
// depending on the packages it was resolved with.
void add_debs(Document& doc, const SbomInputs& in, const std::vector<std::string>& layer_ids) {
  std::map<std::string, std::string> ids;
  for (const SbomDeb& d : in.debs) {
    std::string id = doc.ids.make("Deb", d.name);
    ids[d.name] = id;
    Json p = metadata_package(id, d.name);
    p["versionInfo"] = d.version;
    p["downloadLocation"] = d.url;
    p["checksums"] = sha256_checksum(d.sha256);
    p["externalRefs"] = purl_ref(deb_purl(d));
    p["supplier"] = "Organization: " + d.vendor;
    if (!d.license.empty()) {
      std::string spdx = spdx_license_of_debian(d.license);
      if (!spdx.empty()) p["licenseDeclared"] = spdx;
      p["licenseComments"] = "debian/copyright: " + d.license;
    }
    doc.package(p);
    if (d.layer < layer_ids.size()) doc.relate(layer_ids[d.layer], "CONTAINS", id);
    if (doc.relationships) relate_deb_files(doc, in, d, id);
  }
  for (const SbomDeb& d : in.debs) {
    for (const std::string& dep : d.depends) {
      if (ids.contains(dep)) doc.relate(ids[d.name], "DEPENDS_ON", ids[dep]);
    }
  }
}

}  // namespace

namespace {

// Packages, their sources and the images they are built in, with the relationships that
// say which layer holds a package and what each package came from. `layer_ids`: the spec's
// layers, spec.image.layers[i] first.
void add_build_inputs(Document& doc, const specs::Spec& spec, const std::string& image_id,
                      const std::vector<std::string>& layer_ids) {
  std::map<std::string, const specs::Source*> sources;
  std::map<std::string, std::string> source_ids;
  for (const specs::Source& s : spec.sources) {
    sources[s.name] = &s;
    source_ids[s.name] = add_source(doc, s);
  }
  std::map<std::string, std::string> package_ids;
  for (const specs::Package& p : spec.packages) package_ids[p.name] = add_package(doc, p, sources);
  std::string env_id;
  if (spec.environment.image) {
    env_id =
        add_oci_dependency(doc, "Environment", *spec.environment.image, spec.image.architecture);
    if (spec.packages.empty()) doc.relate(env_id, "BUILD_DEPENDENCY_OF", image_id);
  }
  std::map<std::string, bool> source_used;
  for (const specs::Package& p : spec.packages) {
    const std::string& id = package_ids[p.name];
    for (const specs::Ref& r : p.sources) {
      if (!source_ids.contains(r.name)) continue;
      doc.relate(id, "GENERATED_FROM", source_ids[r.name]);
      source_used[r.name] = true;
    }
    for (const specs::Ref& d : p.depends) {
      if (package_ids.contains(d.name)) doc.relate(package_ids[d.name], "BUILD_DEPENDENCY_OF", id);
    }
    if (!env_id.empty()) doc.relate(env_id, "BUILD_DEPENDENCY_OF", id);
  }
  for (const specs::Source& s : spec.sources) {
    if (!source_used[s.name]) doc.relate(source_ids[s.name], "BUILD_DEPENDENCY_OF", image_id);
  }
  for (size_t i = 0; i < spec.image.layers.size() && i < layer_ids.size(); ++i) {
    for (const specs::Ref& r : spec.image.layers[i].packages) {
      if (package_ids.contains(r.name)) doc.relate(layer_ids[i], "CONTAINS", package_ids[r.name]);
    }
  }
  if (spec.image.base) {
    std::string base_id =
        add_oci_dependency(doc, "BaseImage", *spec.image.base, spec.image.architecture);
    doc.relate(image_id, "DESCENDANT_OF", base_id);
  }
}

}  // namespace

void for_each_file(const SbomLayer& layer, const SbomFileVisitor& visit) {
  if (layer.for_each_file) return layer.for_each_file(visit);
  for (const SbomFile& f : layer.files) visit(f.path, f.sha256, f.size);
}

std::string spdx_namespace(std::string_view name, const Digest& manifest_digest) {
  return fmt::format("https://strata.dev/spdx/{}/sha256-{}", percent_encode(name, true),
                     manifest_digest.hex);
}

namespace {

// One pass over everything the document describes, in the order the one-pass builder added it.
void describe(Document& doc, const specs::Spec& spec, const SbomInputs& in) {
  std::string image_id = add_image(doc, spec, in);
  std::vector<std::string> layer_ids;
  for (size_t i = 0; i < in.layers.size(); ++i) {
    layer_ids.push_back(add_layer(doc, spec, in.layers[i], i + 1, i < in.base_layers));
    doc.relate(image_id, "CONTAINS", layer_ids.back());
  }
  // The spec's layers follow the base image's.
  size_t base = std::min(in.base_layers, layer_ids.size());
  std::vector<std::string> spec_layer_ids(layer_ids.begin() + static_cast<ptrdiff_t>(base),
                                          layer_ids.end());
  add_build_inputs(doc, spec, image_id, spec_layer_ids);
  add_debs(doc, in, spec_layer_ids);
}

}  // namespace

Result<void> write_spdx(const specs::Plan& plan, const SbomInputs& in, TextSink& sink) {
  const specs::Spec& spec = plan.spec;
  IdMaker::Mode mode = IdMaker::Mode::kNatural;
  {
    Document probe{.pass = Pass::kProbe, .ids = IdMaker(IdMaker::Mode::kProbe)};
    describe(probe, spec, in);
    if (probe.ids.may_collide()) mode = IdMaker::Mode::kExact;
  }
  auto array = [&](Pass pass, CanonicalArray* Document::*member) {
    return [&, pass, member](CanonicalWriter& out) {
      CanonicalArray items(out);
      Document doc{.pass = pass, .ids = IdMaker(mode)};
      doc.*member = &items;
      describe(doc, spec, in);
      items.close();
    };
  };
  Json head = {{"spdxVersion", "SPDX-2.3"},
               {"dataLicense", "CC0-1.0"},
               {"SPDXID", "SPDXRef-DOCUMENT"},
               {"name", fmt::format("{}:{}", spec.name, spec.version)},
               {"documentNamespace", spdx_namespace(spec.name, in.manifest_digest)},
               {"creationInfo",
                {{"created", rfc3339_utc(spec.epoch)},
                 {"creators", {fmt::format("Tool: strata-{}", in.strata_version)}}}}};
  CanonicalWriter out(sink);
  out.object(head, {{"files", array(Pass::kFiles, &Document::files)},
                    {"packages", array(Pass::kPackages, &Document::packages)},
                    {"relationships", array(Pass::kRelationships, &Document::relationships)}});
  return out.finish();
}

Result<std::string> make_spdx(const specs::Plan& plan, const SbomInputs& in) {
  StringSink sink;
  STRATA_TRY(write_spdx(plan, in, sink));
  return std::move(sink.text());
}

}  // namespace strata::attest
