// The registry cache against an in-memory registry: entries written and read back verified,
// first writer wins, untrusted, replaced and misdirected entries ignored with a warning,
// registry failures degrading once (or failing when required), and the listing that
// `strata cache prune --registry` and `--explain-cache` read; layer blobs shared the same way
// and checked down to their DiffID.
#include "builder/registry_cache/registry_cache.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "builder/base/fs.h"
#include "builder/build/output_store.h"
#include "builder/layer/layer_blob.h"
#include "builder/layer/layer_inputs.h"
#include "tests/support/memory_registry.h"
#include "tests/support/test_util.h"

namespace strata::builder::registry_cache {
namespace {

using strata::testing::MemoryRegistry;

registry::RegistryOptions quick() {
  registry::RegistryOptions o{.max_attempts = 2, .retry_backoff_ms = 1};
  o.helpers = [](const std::string&, const std::string&) -> Result<std::optional<std::string>> {
    return std::optional<std::string>();
  };
  return o;
}

Digest key_of(const std::string& s) { return sha256_of(s); }

class RegistryCacheTest : public ::testing::Test {
 protected:
  void SetUp() override { output_ = make_output("out", "hello\n"); }

  struct Output {
    std::string dir;
    Digest digest;
  };
  Output make_output(const std::string& name, const std::string& content) {
    std::string dir = dir_.path() + "/" + name;
    EXPECT_TRUE(make_dirs(dir + "/usr/lib").ok());
    EXPECT_TRUE(write_file(dir + "/usr/lib/libx", content).ok());
    Result<Digest> d = build::tree_digest(dir);
    EXPECT_TRUE(d.ok()) << d.error().message();
    return {dir, *d};
  }

  // A cache that signs with `sign` (if any) and trusts `trust`.
  RegistryCache cache(const std::optional<attest::PrivateKey>& sign,
                      const std::vector<const attest::PrivateKey*>& trust, bool required = false) {
    RegistryCacheOptions o{.repository = *specs::parse_registry_ref("docker://reg.io/team/app"),
                           .sign_key = sign,
                           .required = required,
                           .scratch_dir = dir_.path(),
                           .strata_version = "test"};
    for (const attest::PrivateKey* k : trust) o.trusted.push_back(*k->public_key());
    o.warn = [this](const std::string& line) { warnings_.push_back(line); };
    o.log = [this](const std::string& line) { logs_.push_back(line); };
    o.now_s = [] { return int64_t{1700000000}; };
    return RegistryCache(client_, std::move(o));
  }

  Json preimage(const std::string& step) {
    return {{"key", {{"package", {{"steps", {step}}}}}}, {"environment", {{"image", "x"}}}};
  }

  std::string fetch_dir() { return dir_.path() + "/fetched-" + std::to_string(++fetches_); }

  bool warned(const std::string& part) const {
    for (const std::string& w : warnings_) {
      if (w.find(part) != std::string::npos) return true;
    }
    return false;
  }

  TempDir dir_ = strata::testing::make_temp_dir();
  MemoryRegistry reg_;
  registry::RegistryClient client_{reg_, quick()};
  attest::PrivateKey writer_key_ = *attest::PrivateKey::generate(attest::KeyType::kEd25519);
  attest::PrivateKey other_key_ = *attest::PrivateKey::generate(attest::KeyType::kEd25519);
  Output output_;
  std::vector<std::string> warnings_;
  std::vector<std::string> logs_;
  int fetches_ = 0;
};

// Layer blobs (l-<layer cache key>) through write_layer_blob_cached, as the layers stage
// uses them: machine A writes and shares, machine B copies instead of compressing.
class RegistryLayerCacheTest : public RegistryCacheTest {
 protected:
  std::vector<LayerEntry> entries(const std::string& content) {
    return {{.path = "usr", .type = EntryType::kDirectory, .mode = 0755},
            {.path = "usr/data",
             .mode = 0644,
             .content = content,
             .size = static_cast<int64_t>(content.size())}};
  }
  // A machine: its own local cache and blobs directory, the registry cache `remote`.
  struct Machine {
    std::string blobs;
    LayerCacheOptions cache;
  };
  Machine machine(const std::string& name, RegistryCache& remote) {
    Machine m{.blobs = dir_.path() + "/blobs-" + name,
              .cache = {.cache_dir = dir_.path() + "/cache-" + name, .remote = &remote}};
    EXPECT_TRUE(make_dirs(m.blobs).ok());
    m.cache.warn = [this](const std::string& w) { warnings_.push_back(w); };
    return m;
  }
  Result<LayerBlob> write(Machine& m, const std::vector<LayerEntry>& e) {
    return write_layer_blob_cached(e, options_, m.blobs, m.cache);
  }
  bool logged(const std::string& part) const {
    return std::any_of(logs_.begin(), logs_.end(),
                       [&](const std::string& l) { return l.find(part) != std::string::npos; });
  }
  // Signs, as `signer`, an entry for the key of `claimed`'s DiffID whose blob is `actual`'s.
  void publish_forged(const attest::PrivateKey& signer, const LayerBlob& claimed,
                      const std::vector<LayerEntry>& actual) {
    std::string blobs = dir_.path() + "/forged";
    ASSERT_TRUE(make_dirs(blobs).ok());
    auto other = write_layer_blob(actual, options_, blobs);
    ASSERT_TRUE(other.ok());
    LayerBlob lie = *other;
    lie.diff_id = claimed.diff_id;
    ASSERT_TRUE(cache(signer, {})
                    .publish_layer(layer_cache_key(claimed.diff_id, options_), lie,
                                   blobs + "/" + other->digest.hex)
                    .ok());
  }

  LayerWriteOptions options_{.compression = Compression::kGzip, .mtime = 1700000000};
};

TEST_F(RegistryLayerCacheTest, ASecondMachineCopiesTheBlobInsteadOfCompressing) {
  std::vector<LayerEntry> e = entries(std::string(200000, 'a') + "end\n");
  RegistryCache writer = cache(writer_key_, {});
  Machine a = machine("a", writer);
  auto written = write(a, e);
  ASSERT_TRUE(written.ok()) << written.error().message();
  Digest key = layer_cache_key(written->diff_id, options_);
  ASSERT_TRUE(reg_.manifests.contains(entry_tag(kLayerEntry, key)));
  Json manifest = Json::parse(reg_.manifests.at(entry_tag(kLayerEntry, key)).second);
  EXPECT_EQ(manifest["artifactType"], kLayerEntryArtifactType);
  EXPECT_EQ(manifest["layers"][0]["digest"], written->digest.str());
  EXPECT_EQ(manifest["layers"][0]["mediaType"], written->media_type);
  // A's next build hits its local cache and uploads nothing more.
  int puts = reg_.count("PUT ");
  ASSERT_TRUE(write(a, e).ok());
  EXPECT_EQ(reg_.count("PUT "), puts);

  RegistryCache reader = cache(std::nullopt, {&writer_key_});
  Machine b = machine("b", reader);
  auto copied = write(b, e);
  ASSERT_TRUE(copied.ok()) << copied.error().message();
  EXPECT_TRUE(warnings_.empty()) << warnings_[0];
  EXPECT_TRUE(logged("layer " + written->diff_id.str() + ": taken from the registry cache"));
  EXPECT_EQ(copied->digest, written->digest);
  EXPECT_EQ(copied->size, written->size);
  EXPECT_EQ(copied->media_type, written->media_type);
  EXPECT_EQ(copied->files.size(), written->files.size());
  EXPECT_EQ(*read_file(b.blobs + "/" + copied->digest.hex),
            *read_file(a.blobs + "/" + written->digest.hex));
  // ... and keeps it in its local cache: the next build asks the registry nothing.
  size_t requests = reg_.log.size();
  ASSERT_TRUE(write(b, e).ok());
  EXPECT_EQ(reg_.log.size(), requests);
}

TEST_F(RegistryLayerCacheTest, ForgedAndUntrustedBlobsAreIgnoredAndTheLayerCompressed) {
  std::vector<LayerEntry> e = entries(std::string(50000, 'b'));
  std::string plain_dir = dir_.path() + "/plain";
  ASSERT_TRUE(make_dirs(plain_dir).ok());
  LayerBlob plain = *write_layer_blob(e, options_, plain_dir);
  Digest key = layer_cache_key(plain.diff_id, options_);

  // Signed by a key B does not trust.
  {
    RegistryCache other = cache(other_key_, {});
    Machine o = machine("o", other);
    ASSERT_TRUE(write(o, e).ok());
  }
  RegistryCache reader = cache(std::nullopt, {&writer_key_});
  Machine b = machine("b1", reader);
  auto got = write(b, e);
  ASSERT_TRUE(got.ok()) << got.error().message();
  EXPECT_EQ(got->digest, plain.digest);
  EXPECT_TRUE(warned("layer " + plain.diff_id.str() +
                     ": registry cache docker://reg.io/team/app entry " +
                     entry_tag(kLayerEntry, key) + " ignored: it is not signed by a trusted key"));

  // Signed by the trusted key, but the blob is another tar: smaller, then larger.
  for (const std::string& content : {std::string("small"), std::string(90000, 'c')}) {
    reg_.manifests.erase(entry_tag(kLayerEntry, key));
    publish_forged(writer_key_, plain, entries(content));
    warnings_.clear();
    Machine m = machine("b-" + std::to_string(content.size()), reader);
    auto forged = write(m, e);
    ASSERT_TRUE(forged.ok()) << forged.error().message();
    EXPECT_EQ(forged->digest, plain.digest) << "compressed here, not the forged blob";
    ASSERT_EQ(warnings_.size(), 1u);
    EXPECT_TRUE(warned(content.size() < 10 ? "ignored: its blob decompresses to DiffID "
                                           : "decompresses to more than the"))
        << warnings_[0];
    std::string cached = m.cache.cache_dir + "/layers/sha256/" + key.hex + "/blob";
    ASSERT_TRUE(path_exists(cached));
    EXPECT_EQ(*read_file(cached), *read_file(plain_dir + "/" + plain.digest.hex))
        << "the local cache holds only the real blob";
  }

  // The blob's bytes replaced under its digest.
  reg_.manifests.erase(entry_tag(kLayerEntry, key));
  {
    RegistryCache writer = cache(writer_key_, {});
    Machine w = machine("w", writer);
    ASSERT_TRUE(write(w, e).ok());
  }
  reg_.blobs[plain.digest.str()] = "not the blob";
  warnings_.clear();
  Machine c = machine("c", reader);
  auto replaced = write(c, e);
  ASSERT_TRUE(replaced.ok()) << replaced.error().message();
  EXPECT_EQ(replaced->digest, plain.digest);
  EXPECT_TRUE(warned("ignored: its blob is sha256:")) << (warnings_.empty() ? "" : warnings_[0]);
}

// Layers by their inputs (i-<input key>): written with the statement of the preimage, the
// DiffID and the tar size; read only when trusted, and then checked as they read back.
TEST_F(RegistryLayerCacheTest, LayersByTheirInputsAreSharedAndCheckedOnRead) {
  std::vector<LayerEntry> e = entries(std::string(100000, 'i') + "end\n");
  LayerInputs inputs{.packages = {sha256_of("out")}, .files = sha256_of("files")};
  Digest key = *layer_input_key(inputs, options_);
  Json preimage = layer_inputs_document(inputs, options_);
  RegistryCache writer = cache(writer_key_, {});
  Machine a = machine("a", writer);
  auto written = write(a, e);
  ASSERT_TRUE(written.ok()) << written.error().message();
  ASSERT_TRUE(note_layer_inputs(key, preimage, *written, options_, a.blobs, a.cache).ok());
  std::string tag = entry_tag(kInputEntry, key);
  ASSERT_TRUE(reg_.manifests.contains(tag));
  Json manifest = Json::parse(reg_.manifests.at(tag).second);
  EXPECT_EQ(manifest["artifactType"], kInputEntryArtifactType);
  EXPECT_EQ(manifest["layers"][0]["digest"], written->digest.str());
  EXPECT_EQ(manifest["annotations"]["dev.strata.diff-id"], written->diff_id.str());

  // A trusting machine finds it whole; one trusting another key does not.
  RegistryCache reader = cache(std::nullopt, {&writer_key_});
  Machine b = machine("b", reader);
  auto found = find_layer_by_inputs(key, options_, b.cache);
  ASSERT_TRUE(found.ok()) << found.error().message();
  ASSERT_TRUE(found->has_value()) << (warnings_.empty() ? "" : warnings_[0]);
  EXPECT_EQ((*found)->blob.diff_id, written->diff_id);
  EXPECT_EQ((*found)->blob.files.size(), written->files.size());
  EXPECT_TRUE(logged("taken from the registry cache docker://reg.io/team/app (" + tag));
  RegistryCache stranger = cache(std::nullopt, {&other_key_});
  Machine c = machine("c", stranger);
  EXPECT_FALSE(find_layer_by_inputs(key, options_, c.cache)->has_value());
  EXPECT_TRUE(warned(tag + " ignored: it is not signed by a trusted key"));

  // A statement under the trusted key that claims another DiffID for the blob.
  reg_.manifests.erase(tag);
  LayerBlob lie = *written;
  lie.diff_id = sha256_of("another tar");
  ASSERT_TRUE(writer.publish_layer_inputs(key, preimage, lie, a.blobs + "/" + lie.digest.hex).ok());
  warnings_.clear();
  Machine d = machine("d", reader);
  EXPECT_FALSE(find_layer_by_inputs(key, options_, d.cache)->has_value());
  EXPECT_TRUE(warned(tag + " ignored: its blob decompresses to DiffID " + written->diff_id.str()))
      << (warnings_.empty() ? "" : warnings_[0]);

  // The first writer wins: another DiffID for the same inputs is reported, not pushed.
  warnings_.clear();
  ASSERT_TRUE(
      writer.publish_layer_inputs(key, preimage, *written, a.blobs + "/" + written->digest.hex)
          .ok());
  EXPECT_TRUE(warned("is not reproducible: the registry cache docker://reg.io/team/app entry " +
                     tag + " holds DiffID " + lie.diff_id.str()));
}

TEST_F(RegistryCacheTest, WrittenSignedAndReadBackVerified) {
  Digest key = key_of("k1");
  RegistryCache writer = cache(writer_key_, {});
  ASSERT_TRUE(writer.publish("lib", key, preimage("make"), output_.dir, output_.digest).ok());
  ASSERT_TRUE(reg_.manifests.contains(entry_tag(key)));
  int puts = reg_.count("PUT /v2/team/app/manifests/");
  // Published again with the same output: nothing is uploaded.
  ASSERT_TRUE(writer.publish("lib", key, preimage("make"), output_.dir, output_.digest).ok());
  EXPECT_EQ(reg_.count("PUT /v2/team/app/manifests/"), puts);

  RegistryCache reader = cache(std::nullopt, {&writer_key_});
  std::string out = fetch_dir();
  auto got = reader.fetch("lib", key, out);
  ASSERT_TRUE(got.ok()) << got.error().message();
  ASSERT_TRUE(got->has_value()) << (warnings_.empty() ? "" : warnings_[0]);
  EXPECT_EQ(**got, output_.digest);
  EXPECT_EQ(*read_file(out + "/usr/lib/libx"), "hello\n");
  EXPECT_TRUE(warnings_.empty());

  // Another key: a miss, not a warning.
  auto miss = reader.fetch("lib", key_of("k2"), fetch_dir());
  ASSERT_TRUE(miss.ok());
  EXPECT_FALSE(miss->has_value());
  EXPECT_TRUE(warnings_.empty());
}

TEST_F(RegistryCacheTest, UntrustedAndReplacedEntriesAreIgnored) {
  Digest key = key_of("k1");
  ASSERT_TRUE(cache(writer_key_, {})
                  .publish("lib", key, preimage("make"), output_.dir, output_.digest)
                  .ok());

  std::string out = fetch_dir();
  auto untrusted = cache(std::nullopt, {&other_key_}).fetch("lib", key, out);
  ASSERT_TRUE(untrusted.ok());
  EXPECT_FALSE(untrusted->has_value());
  EXPECT_TRUE(warned("package 'lib': registry cache docker://reg.io/team/app entry " +
                     entry_tag(key) + " ignored: it is not signed by a trusted key"));
  EXPECT_FALSE(std::filesystem::exists(out));

  // The layer's bytes replaced under its digest: the unpacked tree does not check.
  Json manifest = Json::parse(reg_.manifests.at(entry_tag(key)).second);
  std::string layer = manifest["layers"][0]["digest"];
  std::string other_layer;
  {
    Output other = make_output("other", "poison\n");
    RegistryCache scratch = cache(writer_key_, {});
    ASSERT_TRUE(scratch.publish("lib", key_of("k9"), preimage("x"), other.dir, other.digest).ok());
    Json m = Json::parse(reg_.manifests.at(entry_tag(key_of("k9"))).second);
    other_layer = reg_.blobs.at(m["layers"][0]["digest"]);
  }
  reg_.blobs[layer] = other_layer;
  warnings_.clear();
  out = fetch_dir();
  auto replaced = cache(std::nullopt, {&writer_key_}).fetch("lib", key, out);
  ASSERT_TRUE(replaced.ok()) << replaced.error().message();
  EXPECT_FALSE(replaced->has_value());
  EXPECT_TRUE(warned("ignored: its output does not match its statement")) << warnings_.at(0);
  EXPECT_FALSE(std::filesystem::exists(out));
}

TEST_F(RegistryCacheTest, FirstWriterWinsAndAnotherOutputIsReported) {
  Digest key = key_of("k1");
  RegistryCache writer = cache(writer_key_, {});
  ASSERT_TRUE(writer.publish("lib", key, preimage("make"), output_.dir, output_.digest).ok());
  std::string first = reg_.manifests.at(entry_tag(key)).second;
  Output other = make_output("other", "different\n");
  ASSERT_TRUE(writer.publish("lib", key, preimage("make"), other.dir, other.digest).ok());
  EXPECT_EQ(reg_.manifests.at(entry_tag(key)).second, first);
  EXPECT_TRUE(
      warned("package 'lib' is not reproducible: the registry cache docker://reg.io/team/app "
             "entry " +
             entry_tag(key) + " holds output " + output_.digest.str() + ", this build made " +
             other.digest.str() + " (the first is kept)"));
}

TEST_F(RegistryCacheTest, ReadOnlyWithoutASigningKey) {
  Digest key = key_of("k1");
  RegistryCache reader = cache(std::nullopt, {&writer_key_});
  ASSERT_TRUE(reader.publish("lib", key, preimage("make"), output_.dir, output_.digest).ok());
  EXPECT_EQ(reg_.count("PUT "), 0);
  EXPECT_EQ(reg_.count("POST "), 0);
}

TEST_F(RegistryCacheTest, RegistryFailuresWarnOnceOrFailWhenRequired) {
  reg_.fail_status = 503;
  RegistryCache lenient = cache(writer_key_, {&writer_key_});
  auto first = lenient.fetch("lib", key_of("k1"), fetch_dir());
  ASSERT_TRUE(first.ok()) << first.error().message();
  EXPECT_FALSE(first->has_value());
  size_t requests = reg_.log.size();
  auto second = lenient.fetch("app", key_of("k2"), fetch_dir());
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(
      lenient.publish("app", key_of("k2"), preimage("x"), output_.dir, output_.digest).ok());
  EXPECT_EQ(reg_.log.size(), requests) << "the cache was not switched off";
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_TRUE(warned("registry cache docker://reg.io/team/app: ")) << warnings_[0];
  EXPECT_TRUE(warned("; building without it"));
  EXPECT_EQ(lenient.entries_of("lib", key_of("k1")).note, "it was switched off after an error");

  RegistryCache required = cache(writer_key_, {&writer_key_}, true);
  auto failed = required.fetch("lib", key_of("k1"), fetch_dir());
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().message().find("(--cache-registry-required)"), std::string::npos);
}

TEST_F(RegistryCacheTest, EntriesOfAPackageUnderOtherKeysAreListedVerified) {
  RegistryCache writer = cache(writer_key_, {});
  ASSERT_TRUE(
      writer.publish("lib", key_of("a"), preimage("make A"), output_.dir, output_.digest).ok());
  ASSERT_TRUE(
      writer.publish("lib", key_of("b"), preimage("make B"), output_.dir, output_.digest).ok());
  ASSERT_TRUE(
      writer.publish("app", key_of("c"), preimage("make C"), output_.dir, output_.digest).ok());
  RegistryCache by_other = cache(other_key_, {});
  ASSERT_TRUE(
      by_other.publish("lib", key_of("d"), preimage("make D"), output_.dir, output_.digest).ok());
  reg_.tags_page = 1;  // every tag on its own page: the Link header is followed

  build::RemoteEntries found = cache(std::nullopt, {&writer_key_}).entries_of("lib", key_of("a"));
  EXPECT_TRUE(found.note.empty()) << found.note;
  EXPECT_EQ(found.total, 4);
  EXPECT_EQ(found.examined, 3);  // its own key's tag is not looked at
  ASSERT_EQ(found.entries.size(), 1u) << "only lib's entries a trusted key signed";
  const build::RemoteEntry& e = found.entries[0];
  EXPECT_EQ(e.key, key_of("b"));
  EXPECT_EQ(e.name, "docker://reg.io/team/app:" + entry_tag(key_of("b")));
  EXPECT_EQ(e.preimage, preimage("make B"));
  EXPECT_EQ(e.created_s, 1700000000);

  auto listed = list_entries(client_, *specs::parse_registry_ref("docker://reg.io/team/app"));
  ASSERT_TRUE(listed.ok()) << listed.error().message();
  ASSERT_EQ(listed->size(), 4u);
  const EntryInfo& c = *std::find_if(listed->begin(), listed->end(),
                                     [&](const EntryInfo& i) { return i.package == "app"; });
  EXPECT_EQ(c.tag, entry_tag(key_of("c")));
  ASSERT_TRUE(
      delete_entry(client_, *specs::parse_registry_ref("docker://reg.io/team/app"), c.manifest)
          .ok());
  EXPECT_FALSE(reg_.manifests.contains(entry_tag(key_of("c"))));
  EXPECT_EQ(list_entries(client_, *specs::parse_registry_ref("docker://reg.io/team/app"))->size(),
            3u);
}

TEST_F(RegistryCacheTest, AnEmptyRepositoryHasNoEntries) {
  auto listed = list_entries(client_, *specs::parse_registry_ref("docker://reg.io/team/app"));
  ASSERT_TRUE(listed.ok()) << listed.error().message();
  EXPECT_TRUE(listed->empty());
}

}  // namespace
}  // namespace strata::builder::registry_cache
