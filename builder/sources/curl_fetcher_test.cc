// CurlFetcher against a real, misbehaving HTTP server on 127.0.0.1 (testdata/http_server.py):
// every failure is a clear error and leaves nothing in the store.
#include "builder/sources/curl_fetcher.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

#include "builder/sources/libcurl.h"
#include "builder/sources/progress.h"
#include "builder/sources/store.h"
#include "tests/support/test_util.h"

extern char** environ;

namespace strata::builder::sources {
namespace {

using testing::list_paths;
using testing::make_temp_dir;

constexpr char kGood[] = "hello, strata\n";

// Short limits keep the suite fast: a stall is detected after 1 s, one retry 10 ms later.
// libcurl averages the speed over the last few seconds, so the limit is well above the few
// bytes the stalling server sends before it goes quiet.
FetchOptions test_options() {
  return FetchOptions{.connect_timeout_ms = 2'000,
                      .low_speed_bytes_per_s = 1'000,
                      .low_speed_time_s = 1,
                      .max_redirects = 5,
                      .max_attempts = 2,
                      .retry_backoff_ms = 10};
}

class HttpSources : public ::testing::Test {
 protected:
  // One server for the suite: python3 prints its ephemeral port, then serves until killed.
  static void SetUpTestSuite() {
    int out[2];
    ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    std::string script = STRATA_SOURCES_TESTDATA "/http_server.py";
    char* argv[] = {const_cast<char*>("python3"), script.data(), nullptr};
    int rc = ::posix_spawnp(&server_pid_, "python3", &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    UniqueFd reader(out[0]);
    ASSERT_EQ(rc, 0) << "spawn python3";
    std::string line;
    char c = 0;
    while (::read(reader.get(), &c, 1) == 1 && c != '\n') line += c;
    ASSERT_FALSE(line.empty()) << "the test server did not print its port";
    base_url_ = "http://127.0.0.1:" + line;
  }

  static void TearDownTestSuite() {
    if (server_pid_ > 0) {
      ::kill(server_pid_, SIGKILL);
      ::waitpid(server_pid_, nullptr, 0);
      server_pid_ = 0;
    }
  }

  static std::string url(const std::string& path) { return base_url_ + path; }

  // Fetches `path` into a fresh store, pinned to `pinned`'s digest.
  Result<StoredSource> store_from(const std::string& path, std::string_view pinned = kGood) {
    specs::Source source{
        .name = "src", .url = url(path), .sha256 = sha256_of(pinned), .loc = {"spec.yaml", 4, 5}};
    SourceOptions options{.cache_dir = cache_.path(), .fetch = test_options()};
    return SourceStore(options).ensure(source, "/", fetcher_);
  }

  // The message every failure for `path` starts with, location included.
  static std::string prefix(const std::string& path) {
    return "spec.yaml:4:5: error: source 'src' (" + url(path) + "): ";
  }

  std::vector<std::string> stored_files() const {
    return list_paths(cache_.path() + "/sources/sha256");
  }

  // How many requests the server has seen for `path`.
  int64_t hits(const std::string& path) {
    UniqueFd fd(::memfd_create("hits", MFD_CLOEXEC));
    STRATA_CHECK(fetcher_.fetch(url("/hits" + path), fd.get(), test_options()).ok());
    char buf[32] = {};
    ssize_t n = ::pread(fd.get(), buf, sizeof buf - 1, 0);
    return n > 0 ? std::stoll(std::string(buf, static_cast<size_t>(n))) : -1;
  }

  static inline pid_t server_pid_ = 0;
  static inline std::string base_url_;
  TempDir cache_ = make_temp_dir();
  CurlFetcher fetcher_;
};

TEST_F(HttpSources, GoodFileIsStored) {
  Result<StoredSource> stored = store_from("/good.txt");
  ASSERT_TRUE(stored.ok()) << stored.error().to_string();
  EXPECT_EQ(*read_file(stored->blob_path), kGood);
  EXPECT_EQ(stored_files(), std::vector<std::string>{sha256_of(kGood).hex});
}

TEST_F(HttpSources, RedirectChainIsFollowed) {
  Result<StoredSource> stored = store_from("/redirect/3");
  ASSERT_TRUE(stored.ok()) << stored.error().to_string();
  EXPECT_EQ(*read_file(stored->blob_path), kGood);
}

TEST_F(HttpSources, WrongContentIsADigestMismatch) {
  Result<StoredSource> stored = store_from("/wrong.txt");
  ASSERT_FALSE(stored.ok());
  EXPECT_EQ(stored.error().code(), ErrorCode::kDigestMismatch);
  EXPECT_EQ(stored.error().to_string(), prefix("/wrong.txt") + "digest mismatch: expected " +
                                            sha256_of(kGood).str() + ", actual " +
                                            sha256_of("not what was pinned\n").str());
  EXPECT_TRUE(stored_files().empty());
}

TEST_F(HttpSources, NotFoundIsNotRetried) {
  Result<StoredSource> stored = store_from("/missing.txt");
  ASSERT_FALSE(stored.ok());
  EXPECT_EQ(stored.error().to_string(),
            prefix("/missing.txt") + "HTTP 404 from " + url("/missing.txt"));
  EXPECT_EQ(hits("/missing.txt"), 1);
  EXPECT_TRUE(stored_files().empty());
}

TEST_F(HttpSources, NotFoundAfterRedirectNamesBothUrls) {
  Result<StoredSource> stored = store_from("/moved-away");
  ASSERT_FALSE(stored.ok());
  EXPECT_EQ(stored.error().to_string(), prefix("/moved-away") + "HTTP 404 from " +
                                            url("/moved-away") + " (redirected to " +
                                            url("/missing.txt") + ")");
}

TEST_F(HttpSources, TruncatedBodyIsRetriedThenReported) {
  Result<StoredSource> stored = store_from("/truncated.txt");
  ASSERT_FALSE(stored.ok());
  EXPECT_EQ(stored.error().to_string(),
            prefix("/truncated.txt") + "fetching " + url("/truncated.txt") +
                ": transfer closed with 990 bytes remaining to read (gave up after 2 attempts)");
  EXPECT_EQ(hits("/truncated.txt"), 2);
  EXPECT_TRUE(stored_files().empty());
}

TEST_F(HttpSources, StalledServerTimesOut) {
  auto start = std::chrono::steady_clock::now();
  Result<StoredSource> stored = store_from("/stall.txt");
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(stored.ok());
  EXPECT_EQ(stored.error().to_string(),
            prefix("/stall.txt") + "fetching " + url("/stall.txt") +
                ": Operation too slow. Less than 1000 bytes/sec transferred the last 1 seconds "
                "(gave up after 2 attempts)");
  EXPECT_LT(elapsed, std::chrono::seconds(8));
  EXPECT_TRUE(stored_files().empty());
}

TEST_F(HttpSources, RedirectLoopIsReported) {
  Result<StoredSource> stored = store_from("/loop");
  ASSERT_FALSE(stored.ok());
  EXPECT_EQ(stored.error().to_string(),
            prefix("/loop") + "fetching " + url("/loop") + ": more than 5 redirects");
  EXPECT_TRUE(stored_files().empty());
}

TEST_F(HttpSources, RedirectToALocalFileIsRefused) {
  Result<StoredSource> stored = store_from("/to-file");
  ASSERT_FALSE(stored.ok());
  EXPECT_EQ(stored.error().to_string(), prefix("/to-file") + "fetching " + url("/to-file") +
                                            ": Protocol \"file\" not supported or disabled in "
                                            "libcurl");
  EXPECT_TRUE(stored_files().empty());
}

TEST_F(HttpSources, ServerErrorIsRetried) {
  Result<StoredSource> stored = store_from("/flaky.txt");
  ASSERT_TRUE(stored.ok()) << stored.error().to_string();
  EXPECT_EQ(hits("/flaky.txt"), 2);
}

TEST_F(HttpSources, RefusedConnectionIsReported) {
  // A port nobody listens on: bind one, note it, close it.
  UniqueFd probe(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{.sin_family = AF_INET, .sin_port = 0, .sin_addr = {htonl(INADDR_LOOPBACK)}};
  ASSERT_EQ(::bind(probe.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(probe.get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
  probe = UniqueFd();
  std::string dead = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/x.txt";
  UniqueFd fd(::memfd_create("dead", MFD_CLOEXEC));
  Result<void> fetched = fetcher_.fetch(dead, fd.get(), test_options());
  ASSERT_FALSE(fetched.ok());
  EXPECT_TRUE(fetched.error().message().starts_with("fetching " + dead + ": Failed to connect"))
      << fetched.error().message();
  EXPECT_TRUE(fetched.error().message().ends_with("(gave up after 2 attempts)"));
}

TEST_F(HttpSources, FileUrlsAreRead) {
  TempDir dir = make_temp_dir();
  ASSERT_TRUE(write_file(dir.path() + "/local.txt", kGood).ok());
  UniqueFd fd(::memfd_create("file", MFD_CLOEXEC));
  ASSERT_TRUE(fetcher_.fetch("file://" + dir.path() + "/local.txt", fd.get(), test_options()).ok());
  char buf[64] = {};
  EXPECT_EQ(std::string(buf, static_cast<size_t>(::pread(fd.get(), buf, sizeof buf, 0))), kGood);

  Result<void> missing = fetcher_.fetch("file://" + dir.path() + "/nope", fd.get(), test_options());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message(),
            "fetching file://" + dir.path() + "/nope: Couldn't open file " + dir.path() + "/nope");
}

class RecordingProgress : public ProgressSink {
 public:
  void update(std::string_view label, int64_t done, int64_t total) override {
    last_label = label;
    last_done = done;
    last_total = total;
  }
  void finish(std::string_view) override { ++finished; }
  std::string last_label;
  int64_t last_done = 0, last_total = 0, finished = 0;
};

TEST_F(HttpSources, ProgressIsReported) {
  RecordingProgress progress;
  FetchOptions options = test_options();
  options.progress = &progress;
  UniqueFd fd(::memfd_create("big", MFD_CLOEXEC));
  ASSERT_TRUE(fetcher_.fetch(url("/big.bin"), fd.get(), options).ok());
  EXPECT_EQ(progress.last_label, "big.bin");
  EXPECT_EQ(progress.last_done, 1 << 20);
  EXPECT_EQ(progress.last_total, 1 << 20);
  EXPECT_EQ(progress.finished, 1);
}

TEST(TerminalProgress, IsQuietWhenNotATerminal) {
  UniqueFd fd(::memfd_create("log", MFD_CLOEXEC));
  EXPECT_EQ(TerminalProgress::for_terminal(fd.get()), nullptr);
  TerminalProgress progress(fd.get());
  progress.update("x.tar.gz", 512 * 1024, 1024 * 1024);
  progress.finish("x.tar.gz");
  char buf[256] = {};
  ssize_t n = ::pread(fd.get(), buf, sizeof buf, 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)),
            "\r\033[Kfetching x.tar.gz  512 KiB / 1.0 MiB  50%\r\033[K");
}

}  // namespace
}  // namespace strata::builder::sources

namespace strata::builder::sources {
namespace {

// libcurl is loaded on first use, once: every call returns the same table, and its
// functions are libcurl's own (the version string names libcurl).
TEST(Libcurl, LoadsOnceAndResolvesEveryFunction) {
  Result<const libcurl::Api*> first = libcurl::load();
  ASSERT_TRUE(first.ok()) << first.error().message();
  Result<const libcurl::Api*> second = libcurl::load();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*first, *second);
  EXPECT_EQ(&libcurl::api(), *first);
  const libcurl::Api& a = libcurl::api();
  EXPECT_STREQ(a.easy_strerror(CURLE_OK), "No error");
  CURL* h = a.easy_init();
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(a.easy_setopt(h, CURLOPT_URL, "http://127.0.0.1:1/"), CURLE_OK);
  a.easy_cleanup(h);
  curl_slist* list = a.slist_append(nullptr, "X-Strata: 1");
  ASSERT_NE(list, nullptr);
  EXPECT_STREQ(list->data, "X-Strata: 1");
  a.slist_free_all(list);
}

}  // namespace
}  // namespace strata::builder::sources
