#include "builder/debian/repository.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <thread>

#include "builder/base/fd.h"
#include "builder/base/fs.h"
#include "builder/base/process.h"
#include "builder/tar/archive.h"

namespace strata::builder::debian {
namespace {

constexpr int64_t kMaxIndexBytes = int64_t{1} << 30;  // a decompressed Packages index
constexpr int64_t kMaxReleaseBytes = 64 << 20;

Result<void> fetch_to(const RepositoryContext& ctx, const std::string& url,
                      const std::string& path) {
  STRATA_TRY_ASSIGN(UniqueFd fd, open_fd(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  return ctx.fetcher->fetch(url, fd.get(), ctx.fetch);
}

// The file's content decompressed by whatever filter libarchive recognises (or none).
Result<std::string> decompress(const std::string& path, std::string_view what) {
  ArchiveReader a = new_archive_reader();
  archive_read_support_filter_all(a.get());
  archive_read_support_format_raw(a.get());
  STRATA_TRY(
      archive_check(a.get(), archive_read_open_filename(a.get(), path.c_str(), 1 << 16), what));
  archive_entry* entry = nullptr;
  int rc = archive_read_next_header(a.get(), &entry);
  if (rc == ARCHIVE_EOF) return std::string();
  STRATA_TRY(archive_check(a.get(), rc, what));
  std::string out;
  char buf[1 << 16];
  while (true) {
    la_ssize_t n = archive_read_data(a.get(), buf, sizeof buf);
    if (n < 0) STRATA_TRY(archive_check(a.get(), static_cast<int>(n), what));
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (static_cast<int64_t>(out.size()) > kMaxIndexBytes) {
      return Error(ErrorCode::kInvalidInput,
                   fmt::format("{}: more than {} MiB decompressed", what, kMaxIndexBytes >> 20));
    }
  }
  return out;
}

std::string first_bytes(const std::string& path, size_t max) {
  Result<std::string> text = read_file_limited(path, static_cast<int64_t>(max) * 4);
  if (!text.ok()) return "";
  std::string s = text->substr(0, max);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

std::string debian_architecture(const std::string& goarch) {
  if (goarch == "386") return "i386";
  if (goarch == "arm") return "armhf";
  if (goarch == "ppc64le") return "ppc64el";
  if (goarch == "mips64le") return "mips64el";
  if (goarch == "mipsle") return "mipsel";
  return goarch;
}

Result<void> run_gpgv(const std::string& gpgv, const std::string& keyring,
                      const std::string& work_dir, const std::string& signature,
                      const std::string& signed_file, const std::string& output) {
  if (::access(gpgv.c_str(), X_OK) != 0) {
    return Error(ErrorCode::kUnsupported,
                 fmt::format("{} not found: strata verifies Release files with gpgv (Debian "
                             "package gpgv)",
                             gpgv));
  }
  std::string home = work_dir + "/gnupg";
  STRATA_TRY(make_dirs(home));
  ::chmod(home.c_str(), 0700);
  std::string log = work_dir + "/gpgv.log";
  STRATA_TRY_ASSIGN(UniqueFd log_fd, open_fd(log, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  STRATA_TRY_ASSIGN(UniqueFd null_fd, open_fd("/dev/null", O_RDONLY | O_CLOEXEC));
  SpawnOptions o{.argv = {gpgv, "--homedir", home, "--keyring", keyring},
                 .env = {"LC_ALL=C", "PATH=/usr/bin:/bin"},
                 .stdin_fd = null_fd.get(),
                 .stdout_fd = log_fd.get(),
                 .stderr_fd = log_fd.get()};
  if (signed_file.empty()) {
    o.argv.insert(o.argv.end(), {"--output", output, signature});
  } else {
    o.argv.insert(o.argv.end(), {signature, signed_file});
  }
  STRATA_TRY_ASSIGN(ChildProcess child, spawn(o));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  int status = 0;
  while (true) {
    pid_t r = ::waitpid(child.pid(), &status, WNOHANG);
    if (r == child.pid()) {
      child.release();
      break;
    }
    if (r < 0 && errno != EINTR) return Error::sys("waitpid gpgv", errno);
    if (std::chrono::steady_clock::now() > deadline) {
      return Error(ErrorCode::kVerification, "gpgv did not finish in 60 s");  // child killed
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ExitStatus exit = ExitStatus::from_wait_status(status);
  if (exit.signaled || exit.code != 0) {
    return Error(ErrorCode::kVerification,
                 fmt::format("gpgv refused the signature ({}): {}",
                             exit.signaled ? fmt::format("signal {}", exit.signal)
                                           : fmt::format("exit {}", exit.code),
                             first_bytes(log, 4096)));
  }
  return Ok{};
}

Result<std::vector<ReleaseFile>> release_files(const Stanza& release, std::string_view what) {
  std::optional<std::string> field = release.get("SHA256");
  if (!field) {
    return Error(ErrorCode::kInvalidInput, fmt::format("{}: no SHA256 field", what));
  }
  std::vector<ReleaseFile> out;
  for (const std::string& line : field_lines(*field)) {
    std::vector<std::string> words = field_words(line);
    Result<Digest> d =
        words.size() == 3 ? Digest::parse(words[0], true) : Result<Digest>(Error::io("bad line"));
    if (!d.ok()) {
      return Error(ErrorCode::kInvalidInput,
                   fmt::format("{}: malformed SHA256 line '{}'", what, line));
    }
    ReleaseFile f{.path = words[2], .sha256 = *d};
    const std::string& size = words[1];
    auto [end, ec] = std::from_chars(size.data(), size.data() + size.size(), f.size);
    if (ec != std::errc() || end != size.data() + size.size() || f.size < 0) {
      return Error(ErrorCode::kInvalidInput,
                   fmt::format("{}: malformed SHA256 line '{}'", what, line));
    }
    out.push_back(std::move(f));
  }
  return out;
}

std::string release_distro(const Stanza& release, std::string* vendor) {
  std::string origin;
  for (char c : release.get_or("Origin", "debian")) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.') {
      origin += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  if (origin.empty()) origin = "debian";
  if (vendor) *vendor = origin;
  std::string version = release.get_or("Version");
  std::string major = version.substr(0, version.find('.'));
  bool digits = !major.empty() && major.find_first_not_of("0123456789") == std::string::npos;
  if (digits) return origin + "-" + major;
  std::string codename = release.get_or("Codename", release.get_or("Suite"));
  return codename.empty() ? origin : origin + "-" + codename;
}

Result<RepositoryIndex> read_repository(const specs::DebRepository& repo, size_t index,
                                        const std::string& keyring, const std::string& architecture,
                                        const RepositoryContext& ctx) {
  std::string what = fmt::format("repository {} {}", repo.url, repo.suite);
  std::string dists = fmt::format("{}/dists/{}", repo.url, repo.suite);
  std::string dir = ctx.work_dir;
  std::string release_path = dir + "/Release";
  // InRelease, the clearsigned form apt prefers; else Release with its detached Release.gpg.
  Result<void> inrelease = fetch_to(ctx, dists + "/InRelease", dir + "/InRelease");
  if (inrelease.ok()) {
    auto verified = run_gpgv(ctx.gpgv, keyring, dir, dir + "/InRelease", "", release_path);
    if (!verified.ok()) {
      return std::move(verified).error().context(
          fmt::format("{}: InRelease is not signed by a key of {}", what, keyring));
    }
  } else {
    Result<void> release = fetch_to(ctx, dists + "/Release", release_path);
    if (!release.ok()) {
      return std::move(inrelease).error().context(fmt::format("{}: no InRelease", what));
    }
    Result<void> sig = fetch_to(ctx, dists + "/Release.gpg", dir + "/Release.gpg");
    if (!sig.ok()) {
      return Error(ErrorCode::kVerification,
                   fmt::format("{}: Release has no signature (no InRelease, and Release.gpg: "
                               "{})",
                               what, sig.error().message()));
    }
    auto verified = run_gpgv(ctx.gpgv, keyring, dir, dir + "/Release.gpg", release_path, "");
    if (!verified.ok()) {
      return std::move(verified).error().context(fmt::format(
          "{}: Release.gpg is not a signature of Release by a key of {}", what, keyring));
    }
  }
  STRATA_TRY_ASSIGN(std::string release_text, read_file_limited(release_path, kMaxReleaseBytes));
  STRATA_TRY_ASSIGN(std::vector<Stanza> stanzas, parse_deb822(release_text, what + " Release", 1));
  if (stanzas.empty()) {
    return Error(ErrorCode::kInvalidInput, fmt::format("{}: the Release file is empty", what));
  }
  const Stanza& release = stanzas.front();
  if (release.get_or("Suite") != repo.suite && release.get_or("Codename") != repo.suite) {
    return Error(
        ErrorCode::kVerification,
        fmt::format("{}: the signed Release file is for suite '{}' (codename '{}'), "
                    "not '{}'",
                    what, release.get_or("Suite"), release.get_or("Codename"), repo.suite));
  }
  RepositoryIndex out;
  out.release_sha256 = sha256_of(release_text);
  out.distro = release_distro(release, &out.vendor);
  STRATA_TRY_ASSIGN(std::vector<ReleaseFile> files, release_files(release, what + " Release"));
  for (const std::string& component : repo.components) {
    std::string stem = fmt::format("{}/binary-{}/Packages", component, architecture);
    const ReleaseFile* chosen = nullptr;
    for (const char* ext : {".xz", ".gz", ""}) {
      for (const ReleaseFile& f : files) {
        if (f.path == stem + ext) chosen = &f;
      }
      if (chosen) break;
    }
    if (!chosen) {
      return Error(ErrorCode::kInvalidInput,
                   fmt::format("{}: the Release file lists no {} (component '{}', "
                               "architecture '{}')",
                               what, stem, component, architecture));
    }
    std::string local = dir + "/Packages-" + std::to_string(index) + "-" + component;
    STRATA_TRY(fetch_to(ctx, dists + "/" + chosen->path, local));
    STRATA_TRY_ASSIGN(Digest got, sha256_file(local));
    struct stat st;
    if (::stat(local.c_str(), &st) != 0) return Error::sys("stat " + local, errno);
    if (got != chosen->sha256 || st.st_size != chosen->size) {
      return Error(ErrorCode::kDigestMismatch,
                   fmt::format("{}: {} does not match the signed Release file: expected {} "
                               "({} bytes), got {} ({} bytes)",
                               what, chosen->path, chosen->sha256.str(), chosen->size, got.str(),
                               st.st_size));
    }
    std::string index_what = fmt::format("{} {}", what, chosen->path);
    STRATA_TRY_ASSIGN(std::string text, decompress(local, index_what));
    STRATA_TRY_ASSIGN(std::vector<Stanza> packages, parse_deb822(text, index_what));
    STRATA_TRY_ASSIGN(std::vector<IndexPackage> parsed,
                      index_packages(packages, repo.url, index, index_what));
    for (IndexPackage& p : parsed) {
      if (p.architecture == architecture || p.architecture == "all") {
        out.packages.push_back(std::move(p));
      }
    }
  }
  return out;
}

}  // namespace strata::builder::debian
