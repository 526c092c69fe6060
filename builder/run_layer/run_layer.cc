#include "builder/run_layer/run_layer.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <optional>

#include "builder/base/beneath.h"
#include "builder/base/file_lock.h"
#include "builder/base/json.h"
#include "builder/environment/unpack.h"
#include "builder/run_layer/tree_diff.h"
#include "builder/tar/layer_reader.h"
#include "builder/tar/tar_writer.h"

namespace strata::builder::run_layer {
namespace {

constexpr int64_t kMaxProcesses = 4096;
// Each command's wall-clock limit: a command that hangs (waiting on the network it does not
// have, say) fails the build instead of stalling it.
constexpr int64_t kCommandTimeoutMs = 3600 * 1000;
constexpr size_t kLogTailLines = 20;
constexpr int64_t kLogTailBytes = 8 * 1024;
constexpr const char* kEntriesFile = "entries.json";

std::vector<std::string> commands_of(const specs::LayerSpec& layer) {
  std::vector<std::string> out;
  for (const specs::Ref& r : layer.run) out.push_back(r.name);
  return out;
}

LayerWriteOptions tar_options(const RunLayerRequest& r) {
  return {.compression = Compression::kNone, .mtime = r.epoch, .profile = r.profile};
}

// The last lines of a command's log, for the error message (bounded: a command may log a lot).
std::string log_tail(const std::string& path) {
  Result<UniqueFd> fd = open_fd(path, O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (!fd.ok() || ::fstat(fd->get(), &st) != 0) return "";
  int64_t start = std::max<int64_t>(0, st.st_size - kLogTailBytes);
  std::string buf(static_cast<size_t>(st.st_size - start), '\0');
  ssize_t n = ::pread(fd->get(), buf.data(), buf.size(), start);
  buf.resize(n > 0 ? static_cast<size_t>(n) : 0);
  while (!buf.empty() && buf.back() == '\n') buf.pop_back();
  size_t begin = buf.size();
  for (size_t lines = 0; lines < kLogTailLines && begin > 0; ++lines) {
    size_t nl = buf.rfind('\n', begin - 1);
    begin = nl == std::string::npos ? 0 : nl;
    if (nl == std::string::npos) break;
  }
  if (begin < buf.size() && buf[begin] == '\n') ++begin;
  return buf.substr(begin);
}

// Makes every directory below `root` writable by its owner, so the tree can be removed
// (a command may leave 0555 directories behind).
void make_removable(const std::string& dir) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return;
  if ((st.st_mode & 0700) != 0700) (void)::chmod(dir.c_str(), (st.st_mode & 07777) | 0700);
  Result<std::vector<std::string>> names = list_dir(dir);
  if (!names.ok()) return;
  for (const std::string& n : *names) make_removable(dir + "/" + n);
}

Result<void> remove_scratch_tree(const std::string& dir) {
  make_removable(dir);
  return remove_tree(dir);
}

// The lower layers as files to unpack, with their DiffIDs: the base's blobs as they are, the
// spec's layers written as tars into `dir` (when `dir` is empty, only their DiffIDs).
struct Lowers {
  std::vector<LowerBlob> files;
  std::vector<Digest> diff_ids;
};
Result<Lowers> lower_files(const RunLayerRequest& r, const std::string& dir) {
  Lowers out;
  for (const LowerBlob& b : r.base) {
    out.files.push_back(b);
    out.diff_ids.push_back(b.diff_id);
  }
  for (size_t i = 0; i < r.layers.size(); ++i) {
    if (dir.empty()) {
      DiscardOutput discard;  // only the DiffID is wanted
      STRATA_TRY_ASSIGN(LayerBlob blob, write_layer(*r.layers[i], tar_options(r), discard));
      out.diff_ids.push_back(blob.diff_id);
      continue;
    }
    std::string path = fmt::format("{}/lower-{}.tar", dir, i + 1);
    STRATA_TRY_ASSIGN(UniqueFd fd, open_fd(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    FdBlobOutput sink(fd.get(), path);
    STRATA_TRY_ASSIGN(LayerBlob blob, write_layer(*r.layers[i], tar_options(r), sink));
    out.files.push_back({path, blob.diff_id});
    out.diff_ids.push_back(blob.diff_id);
  }
  return out;
}

// The lower layers' own modes and owners, by path (the last layer to write a path wins).
Result<LowerMeta> lower_meta(const std::vector<LowerBlob>& lowers) {
  LowerMeta meta;
  for (const LowerBlob& l : lowers) {
    STRATA_TRY(read_layer_file(l.path, [&](const ReadEntry& e) -> Result<void> {
      std::string path = e.path;
      while (path.starts_with("./")) path.erase(0, 2);
      meta[path] = {.mode = e.mode & 07777, .uid = e.uid, .gid = e.gid};
      return Ok{};
    }));
  }
  return meta;
}

Result<void> unpack_lowers(const std::vector<LowerBlob>& lowers, const std::string& root) {
  STRATA_TRY(make_dirs(root));
  for (const LowerBlob& l : lowers) {
    environment::ApplyOptions o{.diff_id = l.diff_id,
                                .preserve_owners = environment::running_as_root()};
    STRATA_TRY(environment::apply_layer(l.path, root, o));
  }
  return Ok{};
}

std::string describe_layer(const RunLayerRequest& r) {
  return fmt::format("layer {}", r.index + 1);
}

// Runs each command over `root`, in order; the first that fails ends the run.
// With `upper` (and `work`), `root` is only read: the changes go to an overlayfs's upperdir.
Result<void> run_commands(const RunLayerRequest& r, const std::string& root,
                          const std::string& log_dir, const std::string& upper = "",
                          const std::string& work = "") {
  STRATA_TRY_ASSIGN(UniqueFd null_fd, open_fd("/dev/null", O_WRONLY | O_CLOEXEC));
  const std::vector<specs::Ref>& commands = r.layer->run;
  for (size_t i = 0; i < commands.size(); ++i) {
    sandbox::Config c;
    c.rootfs = root;
    c.rootfs_writable = true;
    c.rootfs_upper = upper;
    c.rootfs_work = work;
    c.argv = {"/bin/sh", "-c", commands[i].name};
    c.env = run_environment(r.epoch);
    c.cwd = "/";
    c.home = "/root";
    c.limits = {.timeout_ms = kCommandTimeoutMs, .max_processes = kMaxProcesses};
    c.stdout_fd = null_fd.get();
    c.stderr_fd = null_fd.get();
    c.log_path = fmt::format("{}/command-{}.log", log_dir, i + 1);
    auto result = r.runner->run(c);
    if (!result.ok()) {
      return std::move(result).error().context(
          fmt::format("{}: run command {} '{}'", describe_layer(r), i + 1, commands[i].name));
    }
    if (!result->ok()) {
      std::string tail = log_tail(c.log_path);
      return Error(ErrorCode::kBuild,
                   fmt::format(
                       "{}: run command {} '{}' {}{}", describe_layer(r), i + 1, commands[i].name,
                       result->describe(),
                       tail.empty() ? "; it printed nothing" : "; the end of its output:\n" + tail))
          .at(commands[i].loc);
    }
  }
  return Ok{};
}

std::string_view type_name(EntryType t) {
  switch (t) {
    case EntryType::kRegular:
      return "file";
    case EntryType::kDirectory:
      return "dir";
    case EntryType::kSymlink:
      return "symlink";
    case EntryType::kHardlink:
      return "hardlink";
  }
  return "?";
}

Result<EntryType> parse_type(std::string_view s) {
  for (EntryType t :
       {EntryType::kRegular, EntryType::kDirectory, EntryType::kSymlink, EntryType::kHardlink}) {
    if (type_name(t) == s) return t;
  }
  return Error(ErrorCode::kIo, fmt::format("unknown entry type '{}'", s));
}

// Moves the content of `entries` (in `root`) into DIR/files/N and writes DIR/entries.json:
// the entry as the cache keeps it, independent of the tree the commands ran in.
Result<void> store_entries(const std::vector<LayerEntry>& entries, std::string_view made_by,
                           const std::string& dir) {
  STRATA_TRY(make_dirs(dir + "/files"));
  Json list = Json::array();
  size_t n = 0;
  for (const LayerEntry& e : entries) {
    Json j = {{"path", e.path}, {"type", type_name(e.type)},
              {"mode", e.mode}, {"uid", e.uid},
              {"gid", e.gid},   {"size", e.size}};
    if (!e.link_target.empty()) j["link"] = e.link_target;
    if (e.type == EntryType::kRegular && !e.host_path.empty()) {
      std::string file = fmt::format("files/{}", n++);
      if (::rename(e.host_path.c_str(), (dir + "/" + file).c_str()) != 0)
        return Error::sys(fmt::format("rename {} to {}/{}", e.host_path, dir, file), errno);
      // Readable by strata whatever the command left (the mode is in the list).
      if (::chmod((dir + "/" + file).c_str(), 0600) != 0)
        return Error::sys(fmt::format("chmod {}/{}", dir, file), errno);
      j["file"] = file;
    } else if (e.type == EntryType::kRegular) {
      j["content"] = e.content;
    }
    list.push_back(std::move(j));
  }
  // made_by ("overlayfs" or "copy") is for people: both paths give the same entries.
  STRATA_TRY_ASSIGN(std::string text,
                    canonical_json(Json{{"entries", list}, {"made_by", std::string(made_by)}}));
  return write_file(dir + "/" + kEntriesFile, text + "\n", 0600);
}

// Reads DIR/entries.json back: entries whose content is DIR/files/N.
Result<std::vector<LayerEntry>> load_entries(const std::string& dir) {
  STRATA_TRY_ASSIGN(std::string text, read_file(dir + "/" + kEntriesFile));
  Json doc = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("entries") || !doc["entries"].is_array())
    return Error(ErrorCode::kIo,
                 fmt::format("{}/{}: not a run layer's entry list", dir, kEntriesFile));
  std::vector<LayerEntry> out;
  try {
    for (const Json& j : doc["entries"]) {
      LayerEntry e;
      e.path = j.at("path").get<std::string>();
      STRATA_TRY_ASSIGN(e.type, parse_type(j.at("type").get<std::string>()));
      e.mode = j.at("mode").get<uint32_t>();
      e.uid = j.at("uid").get<int64_t>();
      e.gid = j.at("gid").get<int64_t>();
      e.size = j.at("size").get<int64_t>();
      if (j.contains("link")) e.link_target = j["link"].get<std::string>();
      if (j.contains("file")) {
        std::string file = j["file"].get<std::string>();
        if (!file.starts_with("files/") || file.find("..") != std::string::npos)
          return Error(ErrorCode::kIo, fmt::format("{}/{}: bad file name", dir, kEntriesFile));
        e.host_path = dir + "/" + file;
      }
      if (j.contains("content")) e.content = j["content"].get<std::string>();
      out.push_back(std::move(e));
    }
  } catch (const Json::exception& ex) {
    return Error(ErrorCode::kIo, fmt::format("{}/{}: {}", dir, kEntriesFile, ex.what()));
  }
  return out;
}

// Runs the commands in a scratch directory under `parent` and returns it with DIR/entries.json
// and DIR/files/ written (the lower trees already removed).
Result<TempDir> run_in_scratch(const RunLayerRequest& r, const std::string& parent) {
  STRATA_TRY(make_dirs(parent));
  STRATA_TRY_ASSIGN(TempDir scratch, TempDir::create(parent, ".run-"));
  const std::string s = scratch.path();
  // On any failure the trees go too, whatever modes the commands left on their directories.
  struct Removable {
    const std::string& dir;
    bool armed = true;
    ~Removable() {
      if (armed) make_removable(dir);
    }
  } removable{s};
  STRATA_TRY(make_dirs(s + "/work"));
  STRATA_TRY(make_dirs(s + "/logs"));
  STRATA_TRY_ASSIGN(Lowers lowers, lower_files(r, s + "/work"));
  STRATA_TRY_ASSIGN(LowerMeta meta, lower_meta(lowers.files));
  const std::string before = s + "/work/before";
  STRATA_TRY_CONTEXT(unpack_lowers(lowers.files, before),
                     describe_layer(r) + ": unpacking the layers below");
  DiffOptions o{.lower = &meta,
                .map_owners = !environment::running_as_root(),
                .host_uid = ::geteuid(),
                .host_gid = ::getegid()};
  std::optional<std::vector<LayerEntry>> entries;
  std::string_view made_by = "overlayfs";
  // The overlay path: the tree is the overlayfs's lower directory, the changes its upper one.
  if (!r.force_copy) {
    const std::string upper = s + "/work/upper", work = s + "/work/overlay-work";
    STRATA_TRY(make_dirs(upper));
    STRATA_TRY(make_dirs(work));
    Result<void> ran = run_commands(r, before, s + "/logs", upper, work);
    if (ran.ok()) {
      STRATA_TRY_ASSIGN(entries, diff_overlay(before, upper, o));
    } else if (!overlay_refused(ran.error())) {
      return std::move(ran).error();
    } else {
      STRATA_TRY(remove_scratch_tree(upper));
      STRATA_TRY(remove_scratch_tree(work));
    }
  }
  // The copy path: the lower layers unpacked a second time, changed in place, compared.
  if (!entries) {
    made_by = "copy";
    const std::string after = s + "/work/root";
    STRATA_TRY_CONTEXT(unpack_lowers(lowers.files, after),
                       describe_layer(r) + ": unpacking the layers below");
    STRATA_TRY(run_commands(r, after, s + "/logs"));
    STRATA_TRY_ASSIGN(entries, diff_trees(before, after, o));
  }
  STRATA_TRY(store_entries(*entries, made_by, s + "/entry"));
  STRATA_TRY(remove_scratch_tree(s + "/work"));
  removable.armed = false;
  return scratch;
}

}  // namespace

bool overlay_refused(const Error& error) {
  return error.code() == ErrorCode::kSandbox &&
         error.message().find("mount overlay") != std::string::npos;
}

std::vector<std::string> run_environment(int64_t epoch) {
  return {"HOME=/root",
          "LANG=C.UTF-8",
          "LC_ALL=C.UTF-8",
          "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
          fmt::format("SOURCE_DATE_EPOCH={}", epoch),
          "TZ=UTC"};
}

Result<Digest> run_layer_key(const std::vector<Digest>& lower_diff_ids,
                             const std::vector<std::string>& commands, int64_t epoch,
                             DeterminismProfile profile) {
  Json lowers = Json::array();
  for (const Digest& d : lower_diff_ids) lowers.push_back(d.str());
  Json doc = {{"kind", "strata-run-layer/1"},
              {"lower", lowers},
              {"commands", commands},
              {"environment", run_environment(epoch)},
              {"profile", std::string(profile_name(profile))}};
  STRATA_TRY_ASSIGN(std::string text, canonical_json(doc));
  return sha256_of(text);
}

Result<RunLayer> build_run_layer(const RunLayerRequest& r) {
  STRATA_CHECK(r.layer != nullptr && r.runner != nullptr && !r.cache_dir.empty());
  STRATA_TRY_ASSIGN(Lowers ids, lower_files(r, ""));
  RunLayer out;
  STRATA_TRY_ASSIGN(out.key,
                    run_layer_key(ids.diff_ids, commands_of(*r.layer), r.epoch, r.profile));
  const std::string root = r.cache_dir + "/run-layers";
  if (!r.use_cache) {
    STRATA_TRY_ASSIGN(TempDir scratch, run_in_scratch(r, root + "/tmp"));
    out.scratch = std::make_shared<TempDir>(std::move(scratch));
    STRATA_TRY_ASSIGN(out.entries, load_entries(out.scratch->path() + "/entry"));
    return out;
  }
  const std::string entry = fmt::format("{}/sha256/{}", root, out.key.hex);
  auto hit = [&]() -> Result<bool> {
    STRATA_TRY_ASSIGN(std::optional<cache::EntryHold> hold, cache::hold_entry(entry));
    if (!hold) return false;
    out.hold = *std::move(hold);
    STRATA_TRY_ASSIGN(out.entries, load_entries(entry));
    cache::touch_last_use(entry + "/" + kEntriesFile);
    return true;
  };
  STRATA_TRY_ASSIGN(bool found, hit());
  if (found) {
    out.cached = true;
    return out;
  }
  STRATA_TRY(make_dirs(root + "/sha256"));
  STRATA_TRY_ASSIGN(FileLock lock, FileLock::acquire(entry + ".lock"));
  STRATA_TRY_ASSIGN(found, hit());  // another build made it while we waited
  if (found) {
    out.cached = true;
    return out;
  }
  STRATA_TRY_ASSIGN(TempDir scratch, run_in_scratch(r, root + "/tmp"));
  STRATA_TRY(fsync_dir(scratch.path() + "/entry"));
  if (rename_noreplace(scratch.path() + "/entry", entry) != 0 && errno != EEXIST)
    return Error::sys(fmt::format("rename {}/entry to {}", scratch.path(), entry), errno);
  STRATA_TRY_ASSIGN(found, hit());
  if (!found) return Error(ErrorCode::kIo, fmt::format("{}: vanished after it was stored", entry));
  return out;
}

}  // namespace strata::builder::run_layer
