#include "builder/attestations/attestations.h"

#include <fcntl.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <sstream>

#include "attest/dsse.h"
#include "attest/ids.h"
#include "attest/sbom.h"
#include "attest/sigstore_bundle.h"
#include "attest/vex.h"
#include "builder/base/fd.h"
#include "builder/base/json.h"
#include "builder/oci/artifact.h"
#include "builder/oci/image_reader.h"
#include "builder/tar/archive.h"

namespace strata::builder {
namespace {

// The `debs:` layers' packages for the provenance: each once (a package in two layers is one
// download), in name order.
std::vector<attest::LockedDeb> image_debs(const std::vector<attest::SbomDeb>& debs) {
  std::map<std::string, attest::LockedDeb> by_name;
  for (const attest::SbomDeb& d : debs) {
    by_name.try_emplace(d.name, attest::LockedDeb{.name = d.name,
                                                  .version = d.version,
                                                  .architecture = d.architecture,
                                                  .url = d.url,
                                                  .sha256 = d.sha256});
  }
  std::vector<attest::LockedDeb> out;
  for (auto& [name, d] : by_name) out.push_back(std::move(d));
  return out;
}

using oci::kCycloneDxType;
using oci::kProvenanceDsseType;
using oci::kSpdxType;
using oci::kStatementType;

// libarchive_versions() reads "libarchive 3.6.2 zlib/1.2.13 liblzma/5.4.1 …": one entry per
// library, plus OpenSSL (SHA-256 and signatures). Computed once per process: libarchive 3.6's
// archive_version_details() leaks its buffer on every call (LeakSanitizer reports it).
std::map<std::string, std::string> read_library_versions() {
  std::map<std::string, std::string> out;
  std::istringstream words(libarchive_versions());
  std::string word;
  if (words >> word && word == "libarchive" && words >> word) out["libarchive"] = word;
  while (words >> word) {
    size_t slash = word.find('/');
    if (slash != std::string::npos) out[word.substr(0, slash)] = word.substr(slash + 1);
  }
  out["openssl"] = attest::openssl_version();
  return out;
}

const std::map<std::string, std::string>& library_versions() {
  static const std::map<std::string, std::string> versions = read_library_versions();
  return versions;
}

// A whiteout (".wh.NAME", ".wh..wh..opq") marks a deletion; it is no file of the image.
bool is_whiteout(const std::string& path) {
  size_t slash = path.rfind('/');
  return std::string_view(path)
      .substr(slash == std::string::npos ? 0 : slash + 1)
      .starts_with(".wh.");
}

attest::SbomInputs sbom_inputs(const oci::WrittenImage& image, size_t base_layers,
                               const std::string& version) {
  attest::SbomInputs in{.manifest_digest = image.manifest.digest,
                        .strata_version = version,
                        .base_layers = base_layers};
  for (const LayerBlob& blob : image.layers) {
    attest::SbomLayer layer{
        .digest = blob.digest, .diff_id = blob.diff_id, .media_type = blob.media_type};
    // Read from the blob's list on each pass, not copied: a copy of a 1,000,000-file list is
    // some 100 MB (docs/sbom.md "Memory").
    layer.for_each_file = [files = &blob.files](const attest::SbomFileVisitor& visit) {
      for (const LayerFile& f : *files) {
        // Only entries with content: directories and symlinks have no digest to list.
        if (f.type != EntryType::kRegular && f.type != EntryType::kHardlink) continue;
        if (is_whiteout(f.path)) continue;
        visit(f.path, f.sha256.unpack(), f.size);
      }
    };
    in.layers.push_back(std::move(layer));
  }
  return in;
}

// Which document, for the paths the stage returns and for what --attach stores.
enum class DocKind { kProvenance, kEnvelope, kSbom, kOpenVex, kOpenVexEnvelope, kBundle };

struct Document {
  DocKind kind;
  std::string path;        // where it is published
  std::string bytes;       // small documents: the text; streamed ones: empty, read back to attach
  std::string media_type;  // the artifact type when attached
  bool streamed = false;   // already in the staging directory
};

// A document written straight into its staged file as it is made: the SBOM and provenance of
// a 1,000,000-file layer are hundreds of megabytes of text that never sit in memory
// (docs/sbom.md "Memory"). An AtomicFile: a failed or abandoned write leaves no file.
class StagedSink final : public TextSink {
 public:
  static Result<StagedSink> create(std::string path) {
    STRATA_TRY_ASSIGN(AtomicFile file, AtomicFile::create(path));
    return StagedSink(std::move(file), std::move(path));
  }
  Result<void> write(std::string_view text) override {
    return write_all(file_.fd(), text, file_.temp_path());
  }
  // fsyncs and renames it into place: the set is published only once all of it is durable.
  Result<void> commit() { return file_.commit(path_); }

 private:
  StagedSink(AtomicFile file, std::string path) : file_(std::move(file)), path_(std::move(path)) {}
  AtomicFile file_;
  std::string path_;
};

// Writes the document `write` makes into `staging_dir` under the last component of `path`.
Result<void> stage_streamed(const std::string& staging_dir, const std::string& path,
                            const std::function<Result<void>(TextSink&)>& write) {
  std::string staged = staging_dir + "/" + basename_of(path);
  STRATA_TRY_ASSIGN(StagedSink sink, StagedSink::create(staged));
  Result<void> written = write(sink);
  if (!written.ok()) return std::move(written).error().context(fmt::format("writing {}", staged));
  return sink.commit();
}

// The OpenVEX document of the spec's `vex:` statements, and with a key its signed statement.
Result<void> add_openvex(const AttestationInputs& in, std::vector<Document>& docs) {
  const AttestOptions& o = in.options;
  attest::VexInputs v{.manifest_digest = in.image.manifest.digest,
                      .strata_version = o.strata_version,
                      .debs = in.debs};
  STRATA_TRY_ASSIGN(std::string vex, attest::make_openvex(in.plan, v));
  if (o.sign_key) {
    STRATA_TRY_ASSIGN(std::string statement,
                      attest::make_openvex_statement(in.plan, v.manifest_digest, vex));
    STRATA_TRY_ASSIGN(std::string envelope,
                      attest::sign_envelope(attest::kInTotoPayloadType, statement, *o.sign_key));
    docs.push_back({DocKind::kOpenVexEnvelope, in.output_base + ".openvex.dsse.json",
                    std::move(envelope), oci::kOpenVexDsseType});
  }
  docs.push_back(
      {DocKind::kOpenVex, in.output_base + ".openvex.json", std::move(vex), oci::kOpenVexType});
  return Ok{};
}

// Writes the SBOM and the provenance into the staging directory as they are made (streamed)
// and returns them with the smaller documents, which are still to be written.
Result<std::vector<Document>> make_documents(const AttestationInputs& in) {
  const AttestOptions& o = in.options;
  std::vector<Document> docs;
  bool spdx = o.sbom_format == SbomFormat::kSpdx;
  // Made first, while nothing else is held; listed (and attached) in the order of before.
  Document sbom{.kind = DocKind::kSbom};
  {
    attest::SbomInputs s = sbom_inputs(in.image, in.base_layers, o.strata_version);
    s.debs = in.debs;
    std::string path = in.output_base + (spdx ? ".spdx.json" : ".cdx.json");
    STRATA_TRY(stage_streamed(in.staging_dir, path, [&](TextSink& sink) {
      return spdx ? attest::write_spdx(in.plan, s, sink)
                  : attest::write_cyclonedx(in.plan, s, sink);
    }));
    sbom = {DocKind::kSbom, path, "", spdx ? kSpdxType : kCycloneDxType, true};
  }
  // This binary's digest, which may still be being computed beside the build.
  Digest self = o.strata_sha256;
  if (o.strata_sha256_pending.valid()) {
    Result<Digest> pending = o.strata_sha256_pending.get();
    STRATA_TRY_ASSIGN(self, std::move(pending));
  }
  attest::ProvenanceInputs p{.manifest_digest = in.image.manifest.digest,
                             .spec_path = o.spec_path,
                             .spec_sha256 = o.spec_sha256,
                             .parameters = in.parameters,
                             .input_files_ref = &in.input_files,
                             .environment_debs = in.environment_debs,
                             .image_debs = image_debs(in.debs),
                             .lock = in.lock,
                             .strata_version = o.strata_version,
                             .strata_sha256 = self,
                             .library_versions = library_versions(),
                             .times = in.times};
  std::string provenance = in.output_base + ".provenance.json";
  STRATA_TRY(stage_streamed(in.staging_dir, provenance, [&](TextSink& sink) {
    return attest::write_provenance(in.plan, p, sink);
  }));
  if (o.sign_key) {
    // The signature covers the whole statement: read back from its staged file, and freed
    // once signed (Ed25519 signs a message in one call; docs/provenance.md "Memory").
    std::string envelope;
    {
      STRATA_TRY_ASSIGN(std::string statement,
                        read_file(in.staging_dir + "/" + basename_of(provenance)));
      STRATA_TRY_ASSIGN(envelope,
                        attest::sign_envelope(attest::kInTotoPayloadType, statement, *o.sign_key));
    }
    STRATA_TRY_ASSIGN(attest::PublicKey key, o.sign_key->public_key());
    // The same envelope, bytes and signature, in the form Sigstore's verifiers read.
    std::string bundle = in.output_base + ".sigstore.json";
    STRATA_TRY(stage_streamed(in.staging_dir, bundle, [&](TextSink& sink) {
      return attest::write_sigstore_bundle(envelope, key, sink);
    }));
    docs.push_back({DocKind::kEnvelope, in.output_base + ".provenance.dsse.json",
                    std::move(envelope), kProvenanceDsseType});
    docs.push_back({DocKind::kBundle, bundle, "", attest::kSigstoreBundleV03, true});
  }
  docs.push_back({DocKind::kProvenance, provenance, "", kStatementType, true});
  docs.push_back(std::move(sbom));
  if (!in.plan.spec.vex.statements.empty()) STRATA_TRY(add_openvex(in, docs));
  return docs;
}

// Stores the documents in the staged layout as OCI 1.1 artifacts of the image, listed in
// index.json after it. A signed document is attached as its envelope only; the bundle, a
// second form of the provenance envelope, is not attached.
Result<void> attach(const AttestationInputs& in, const std::vector<Document>& docs) {
  std::vector<oci::Artifact> artifacts;
  bool signed_set = in.options.sign_key.has_value();
  for (const Document& doc : docs) {
    if (doc.kind == DocKind::kBundle) continue;
    if (signed_set && (doc.kind == DocKind::kProvenance || doc.kind == DocKind::kOpenVex)) continue;
    // A streamed document is read back from its staged file: only --attach holds it whole.
    std::string staged;
    if (doc.streamed) {
      STRATA_TRY_ASSIGN(staged, read_file(in.staging_dir + "/" + basename_of(doc.path)));
    }
    oci::ArtifactFile file{.bytes = doc.streamed ? staged : doc.bytes,
                           .media_type = doc.media_type,
                           .title = basename_of(doc.path)};
    STRATA_TRY_ASSIGN(oci::Artifact a, oci::write_artifact(in.staged_layout, file,
                                                           in.image.manifest, in.plan.spec.epoch));
    artifacts.push_back(std::move(a));
  }
  return oci::add_to_index(in.staged_layout, artifacts);
}

// Finds subject[0].digest.sha256 in a statement read as a stream of parse events: the
// statement of a 1,000,000-file build is hundreds of megabytes, and only this string of it is
// wanted. Nesting deeper than kMaxJsonDepth stops the parse, as parse_json refuses it.
class SubjectFinder final : public nlohmann::json_sax<Json> {
 public:
  std::string sha256;
  bool too_deep = false;

  bool null() override { return scalar(); }
  bool boolean(bool) override { return scalar(); }
  bool number_integer(number_integer_t) override { return scalar(); }
  bool number_unsigned(number_unsigned_t) override { return scalar(); }
  bool number_float(number_float_t, const string_t&) override { return scalar(); }
  bool binary(binary_t&) override { return scalar(); }
  bool string(string_t& value) override {
    if (is_at({"subject", "0", "digest", "sha256"})) sha256 = value;
    return scalar();
  }
  bool start_object(size_t) override { return open(false); }
  bool start_array(size_t) override { return open(true); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }
  bool key(string_t& key) override {
    frames_.back().name = key;
    return true;
  }
  bool parse_error(size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  struct Frame {
    std::string name;  // the current key (objects) or index (arrays)
    int64_t index = -1;
    bool is_array = false;
  };
  // An array element starts: its frame's name becomes its index.
  void element() {
    if (!frames_.empty() && frames_.back().is_array) {
      frames_.back().name = std::to_string(++frames_.back().index);
    }
  }
  bool scalar() {
    element();
    return true;
  }
  bool open(bool is_array) {
    element();
    if (std::ssize(frames_) >= kMaxJsonDepth) {
      too_deep = true;
      return false;
    }
    frames_.push_back({.is_array = is_array});
    return true;
  }
  bool close() {
    frames_.pop_back();
    return true;
  }
  bool is_at(std::initializer_list<std::string_view> path) const {
    if (frames_.size() != path.size()) return false;
    size_t i = 0;
    for (std::string_view name : path) {
      if (frames_[i++].name != name) return false;
    }
    return true;
  }
  std::vector<Frame> frames_;
};

// A file's bytes front to back, in 64 KiB reads, as the input iterators nlohmann's parser
// takes. Given a FILE*, the parser calls getc() (a locked call) per byte: a twentieth of a
// 200,000-file build went to reading its 30 MB provenance back that way. A read error ends
// the bytes and is kept in `error`.
class FileBytes {
 public:
  explicit FileBytes(int fd, std::string what) : fd_(fd), what_(std::move(what)) {}

  class Iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = char;
    using difference_type = std::ptrdiff_t;
    using pointer = const char*;
    using reference = const char&;

    Iterator() = default;
    explicit Iterator(FileBytes* in) : in_(in) { in_->fill(); }
    const char& operator*() const { return in_->buffer_[in_->at_]; }
    Iterator& operator++() {
      if (++in_->at_ == in_->end_) in_->fill();
      return *this;
    }
    bool operator==(const Iterator& other) const { return done() == other.done(); }

   private:
    bool done() const { return in_ == nullptr || in_->at_ == in_->end_; }
    FileBytes* in_ = nullptr;
  };

  Iterator begin() { return Iterator(this); }
  static Iterator end() { return Iterator(); }
  std::optional<Error> error;

 private:
  void fill() {
    at_ = end_ = 0;
    if (error) return;
    auto n = read_some(fd_, buffer_.data(), static_cast<int64_t>(buffer_.size()), what_);
    if (!n.ok()) {
      error = std::move(n).error();
      return;
    }
    end_ = static_cast<size_t>(*n);
  }

  int fd_;
  std::string what_;
  std::array<char, 1 << 16> buffer_{};
  size_t at_ = 0, end_ = 0;
};

// subject[0].digest.sha256 of the statement at `path` ("" when it has none).
Result<std::string> read_subject_sha256(const std::string& path) {
  STRATA_TRY_ASSIGN(UniqueFd fd, open_fd(path, O_RDONLY | O_CLOEXEC));
  auto bytes = std::make_unique<FileBytes>(fd.get(), path);
  SubjectFinder finder;
  bool parsed = false;
  try {
    parsed = Json::sax_parse(bytes->begin(), FileBytes::end(), &finder);
  } catch (const Json::exception& e) {
    return Error(ErrorCode::kIo, fmt::format("parsing {}: {}", path, e.what()));
  }
  if (bytes->error) return *std::move(bytes->error);
  if (finder.too_deep) {
    return Error(ErrorCode::kInvalidInput,
                 fmt::format("parsing {}: arrays and objects nest more than {} levels deep", path,
                             kMaxJsonDepth));
  }
  if (!parsed) return Error(ErrorCode::kIo, fmt::format("parsing {}: not valid JSON", path));
  return finder.sha256;
}

}  // namespace

Result<SbomFormat> parse_sbom_format(std::string_view name) {
  if (name == "spdx") return SbomFormat::kSpdx;
  if (name == "cyclonedx") return SbomFormat::kCycloneDx;
  return Error(ErrorCode::kSpec,
               fmt::format("unknown SBOM format '{}': expected spdx or cyclonedx", name));
}

std::vector<std::string> AttestationPaths::all() const {
  std::vector<std::string> out;
  for (const std::string* p :
       {&provenance, &envelope, &sbom, &openvex, &openvex_envelope, &sigstore_bundle}) {
    if (!p->empty()) out.push_back(*p);
  }
  return out;
}

std::vector<std::string> attestation_file_names(const std::string& output_base) {
  std::string name = basename_of(output_base);
  return {name + ".provenance.json", name + ".provenance.dsse.json", name + ".spdx.json",
          name + ".cdx.json",        name + ".openvex.json",         name + ".openvex.dsse.json",
          name + ".sigstore.json"};
}

Result<AttestationPaths> stage_attestations(const AttestationInputs& in) {
  STRATA_TRY_ASSIGN(std::vector<Document> docs, make_documents(in));
  // A layer's records that could not be read back (they spill to disk) left the SBOM and
  // the provenance's input files short: nothing is staged.
  for (const LayerBlob& blob : in.image.layers) {
    if (std::optional<Error> e = blob.files.read_error()) {
      return std::move(*e).context("attestations");
    }
  }
  AttestationPaths paths;
  for (const Document& doc : docs) {
    // write_file fsyncs: the set is published only once all of it is durable.
    if (!doc.streamed) {
      STRATA_TRY(write_file(in.staging_dir + "/" + basename_of(doc.path), doc.bytes));
    }
    std::string* path = nullptr;
    switch (doc.kind) {
      case DocKind::kProvenance:
        path = &paths.provenance;
        break;
      case DocKind::kEnvelope:
        path = &paths.envelope;
        break;
      case DocKind::kSbom:
        path = &paths.sbom;
        break;
      case DocKind::kOpenVex:
        path = &paths.openvex;
        break;
      case DocKind::kOpenVexEnvelope:
        path = &paths.openvex_envelope;
        break;
      case DocKind::kBundle:
        path = &paths.sigstore_bundle;
        break;
    }
    *path = doc.path;
  }
  if (in.options.attach) STRATA_TRY(attach(in, docs));
  return paths;
}

Result<void> check_published_set(const std::string& layout_dir, const std::string& tag,
                                 const std::string& provenance_path,
                                 const Digest& manifest_digest) {
  STRATA_TRY_ASSIGN(oci::ImageView view, oci::open_image(layout_dir, tag));
  STRATA_TRY_ASSIGN(std::string subject, read_subject_sha256(provenance_path));
  const Digest& layout = view.manifest_descriptor.digest;
  if (layout != manifest_digest || subject != manifest_digest.hex) {
    return Error(
        ErrorCode::kVerification,
        fmt::format("published set disagrees: {} holds {}, {} names sha256:{}, the "
                    "build made {}",
                    layout_dir, layout.str(), provenance_path, subject, manifest_digest.str()));
  }
  return Ok{};
}

Result<void> collect_input_files(const std::string& spec_dir,
                                 const std::vector<std::string>& package_dirs,
                                 LayerEntries&& entries, const FileRecords& files,
                                 std::vector<attest::InputFile>& out) {
  std::string prefix = spec_dir.empty() || spec_dir == "." ? "" : spec_dir + "/";
  auto is_package_output = [&](const std::string& path) {
    return std::any_of(package_dirs.begin(), package_dirs.end(),
                       [&](const std::string& dir) { return is_within(path, dir); });
  };
  auto is_input = [&](const LayerEntry& e) {
    return e.type == EntryType::kRegular && !e.host_path.empty() && !is_package_output(e.host_path);
  };
  // Room for every record: grown by doubling, a 1,000,000-file list would briefly take twice
  // its size, and the room no input takes is never touched (so never resident).
  out.reserve(out.size() + files.size());
  // The records are in the entries' order, one each. A pass over spilled records that
  // could not be read ends early; stage_attestations reports it.
  auto record = files.begin();
  Result<void> pass = entries.for_each([&](const LayerEntry& e, bool) -> Result<void> {
    if (record == files.end()) return Ok{};
    auto next = record;
    ++record;
    if (!is_input(e)) return Ok{};
    std::string name = e.host_path;
    if (!prefix.empty() && name.starts_with(prefix)) {
      name.erase(0, prefix.size());
    } else if (!spec_dir.empty() && name.starts_with('/') && spec_dir.starts_with('/')) {
      // Beside the spec's directory under a wider --context: "../shared/x".
      name = std::filesystem::path(name).lexically_relative(spec_dir).string();
    }
    while (name.starts_with("./")) name.erase(0, 2);
    out.push_back({.path = std::move(name), .sha256 = next->sha256});
    return Ok{};
  });
  entries = {};
  return pass;
}

}  // namespace strata::builder
