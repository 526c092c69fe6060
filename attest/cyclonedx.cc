// CycloneDX 1.6 JSON (https://cyclonedx.org/docs/1.6/json/). Licenses go in as expressions: an id
// missing from the schema's SPDX list would fail validation, an expression is free text.
#include <fmt/format.h>

#include <map>

#include "attest/ids.h"
#include "attest/sbom.h"

namespace strata::attest {
namespace {

Json sha256_hashes(const Digest& d) {
  return Json::array({{{"alg", "SHA-256"}, {"content", d.hex}}});
}

struct Bom {
  CanonicalArray* components = nullptr;                     // written as they come
  std::map<std::string, std::vector<std::string>> depends;  // bom-ref -> refs, sorted output

  void depend(const std::string& from, const std::string& to) { depends[from].push_back(to); }
  Json dependencies() const {
    Json out = Json::array();
    for (const auto& [ref, on] : depends) out.push_back({{"ref", ref}, {"dependsOn", on}});
    return out;
  }
};

Json image_component(const specs::Spec& spec, const SbomInputs& in) {
  return {
      {"type", "container"},
      {"bom-ref", "image"},
      {"name", spec.name},
      {"version", spec.version},
      {"purl", oci_purl(spec.name, in.manifest_digest.hex, spec.image.architecture, spec.version)},
      {"hashes", sha256_hashes(in.manifest_digest)}};
}

// A layer is a file (its blob) holding files; nesting keeps each file under its layer. Its
// files are written one by one, never held.
void write_layer_component(CanonicalWriter& out, const specs::Spec& spec, const SbomLayer& layer,
                           size_t n, bool from_base) {
  Json head = {
      {"type", "file"},
      {"bom-ref", fmt::format("layer-{}", n)},
      {"name", fmt::format("{} layer {}", spec.name, n)},
      {"description", fmt::format("OCI layer ({}), diff_id {}{}", layer.media_type,
                                  layer.diff_id.str(), from_base ? ", from the base image" : "")},
      {"hashes", sha256_hashes(layer.digest)}};
  auto files = [&](CanonicalWriter& w) {
    CanonicalArray items(w);
    for_each_file(layer, [&](std::string_view path, const Digest& sha256, int64_t) {
      if (!w.ok()) return;
      items.push_back({{"type", "file"},
                       {"bom-ref", fmt::format("layer-{}:/{}", n, path)},
                       {"name", "/" + std::string(path)},
                       {"hashes", sha256_hashes(sha256)}});
    });
    items.close();
  };
  out.object(head, {{"components", files}});
}

Json source_component(const specs::Source& s) {
  std::map<std::string, std::string> q = {{"checksum", "sha256:" + s.sha256.hex}};
  if (!s.url.empty()) q["download_url"] = s.url;
  Json c = {{"type", "file"},
            {"bom-ref", "source:" + s.name},
            {"name", s.name},
            {"purl", generic_purl(s.name, "", q)},
            {"hashes", sha256_hashes(s.sha256)}};
  if (!s.url.empty()) {
    c["externalReferences"] = {
        {{"type", "source-distribution"}, {"url", s.url}, {"hashes", sha256_hashes(s.sha256)}}};
  }
  return c;
}

Json package_component(const specs::Package& p) {
  Json c = {{"type", "application"},
            {"bom-ref", "package:" + p.name},
            {"name", p.name},
            {"purl", generic_purl(p.name, p.version)}};
  if (!p.version.empty()) c["version"] = p.version;
  if (!p.license.empty()) c["licenses"] = {{{"expression", p.license}}};
  return c;
}

Json oci_component(const std::string& ref, const specs::ImageRef& image, const std::string& arch) {
  return {{"type", "container"},
          {"bom-ref", ref},
          {"name", image.name()},
          {"scope", "excluded"},  // used to build, not shipped in the image
          {"purl", image_purl(image, arch)},
          {"hashes", sha256_hashes(image.digest)}};
}

// A Debian package: a library component with its purl, the .deb's digest, its licence as
// its copyright file names it, and its files as properties (they are nested in its layer).
Json deb_component(const SbomDeb& d) {
  Json c = {{"type", "library"},
            {"bom-ref", "deb:" + d.name},
            {"name", d.name},
            {"version", d.version},
            {"publisher", d.vendor},
            {"purl", deb_purl(d)},
            {"hashes", sha256_hashes(d.sha256)},
            {"externalReferences", {{{"type", "distribution"}, {"url", d.url}}}}};
  if (!d.license.empty()) {
    std::string spdx = spdx_license_of_debian(d.license);
    c["licenses"] =
        spdx.empty() ? Json{{{"license", {{"name", d.license}}}}} : Json{{{"expression", spdx}}};
  }
  Json props = Json::array();
  for (const std::string& f : d.files) props.push_back({{"name", "strata:file"}, {"value", f}});
  if (!props.empty()) c["properties"] = props;
  return c;
}

void add_debs(Bom& bom, const SbomInputs& in) {
  for (const SbomDeb& d : in.debs) {
    bom.components->push_back(deb_component(d));
    std::string ref = "deb:" + d.name;
    bom.depends[ref];
    for (const std::string& dep : d.depends) bom.depend(ref, "deb:" + dep);
    bom.depend(fmt::format("layer-{}", in.base_layers + d.layer + 1), ref);
  }
}

// `base_layers`: how many image layers precede spec.image.layers[0] (the base image's).
void add_build_inputs(Bom& bom, const specs::Spec& spec, size_t base_layers) {
  for (const specs::Source& s : spec.sources) bom.components->push_back(source_component(s));
  for (const specs::Package& p : spec.packages) {
    bom.components->push_back(package_component(p));
    std::string ref = "package:" + p.name;
    bom.depends[ref];  // every component appears, even with nothing to depend on
    for (const specs::Ref& s : p.sources) bom.depend(ref, "source:" + s.name);
    for (const specs::Ref& d : p.depends) bom.depend(ref, "package:" + d.name);
    if (spec.environment.image) bom.depend(ref, "environment");
  }
  if (spec.environment.image) {
    bom.components->push_back(
        oci_component("environment", *spec.environment.image, spec.image.architecture));
  }
  if (spec.image.base) {
    bom.components->push_back(
        oci_component("base-image", *spec.image.base, spec.image.architecture));
    bom.depend("image", "base-image");
  }
  for (size_t i = 0; i < spec.image.layers.size(); ++i) {
    for (const specs::Ref& r : spec.image.layers[i].packages) {
      bom.depend(fmt::format("layer-{}", base_layers + i + 1), "package:" + r.name);
    }
  }
}

}  // namespace

Result<void> write_cyclonedx(const specs::Plan& plan, const SbomInputs& in, TextSink& sink) {
  const specs::Spec& spec = plan.spec;
  Bom bom;
  // Components come before dependencies in the text, and writing them fills bom.depends.
  auto components = [&](CanonicalWriter& out) {
    CanonicalArray items(out);
    bom.components = &items;
    bom.depends["image"];
    for (size_t i = 0; i < in.layers.size(); ++i) {
      std::string ref = fmt::format("layer-{}", i + 1);
      write_layer_component(items.next(), spec, in.layers[i], i + 1, i < in.base_layers);
      bom.depend("image", ref);
      bom.depends[ref];
    }
    add_build_inputs(bom, spec, in.base_layers);
    add_debs(bom, in);
    items.close();
    bom.components = nullptr;
  };
  auto dependencies = [&](CanonicalWriter& out) { out.value(bom.dependencies()); };
  Json tool = {{"type", "application"}, {"name", "strata"}, {"version", in.strata_version}};
  Json head = {{"bomFormat", "CycloneDX"},
               {"specVersion", "1.6"},
               // UUIDv5 of the manifest digest: the same image always gets the same serial.
               {"serialNumber", "urn:uuid:" + uuid_v5_url(in.manifest_digest.str())},
               {"version", 1},
               {"metadata",
                {{"timestamp", rfc3339_utc(spec.epoch)},
                 {"tools", {{"components", {tool}}}},
                 {"component", image_component(spec, in)}}}};
  CanonicalWriter out(sink);
  out.object(head, {{"components", components}, {"dependencies", dependencies}});
  return out.finish();
}

Result<std::string> make_cyclonedx(const specs::Plan& plan, const SbomInputs& in) {
  StringSink sink;
  STRATA_TRY(write_cyclonedx(plan, in, sink));
  return std::move(sink.text());
}

}  // namespace strata::attest
