#include "builder/build/cache_key.h"

namespace strata::builder::build {

Json cache_key_document(const CacheKeyInputs& in) {
  STRATA_CHECK(in.package != nullptr);
  const specs::Package& p = *in.package;
  Json sources = Json::object();
  for (const auto& [name, source] : in.sources) {
    sources[name] = {{"sha256", source->sha256.str()}, {"strip", source->strip}};
  }
  Json deps = Json::object();
  for (const auto& [name, digest] : in.dependencies) deps[name] = digest.str();
  return {
      {"profile", kDeterminismProfile},
      {"environment", in.environment.str()},
      {"package", {{"name", p.name}, {"version", p.version}, {"steps", p.steps}, {"env", in.env}}},
      {"sources", sources},
      {"dependencies", deps}};
}

Result<Digest> cache_key(const CacheKeyInputs& inputs) {
  STRATA_TRY_ASSIGN(std::string text, canonical_json(cache_key_document(inputs)));
  return sha256_of(text);
}

Digest environment_digest_for_image(const Digest& manifest) {
  return sha256_of("image " + manifest.str());
}

Digest environment_digest_for_host(std::string_view host_description) {
  return sha256_of("host " + std::string(host_description));
}

Digest environment_digest_for_debs(const Digest& lock_environment) {
  return sha256_of("debs " + lock_environment.str());
}

}  // namespace strata::builder::build
