#include "builder/sources/store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "builder/base/fs.h"
#include "builder/sources/path_source.h"
#include "builder/sources/source_set.h"
#include "tests/support/fake_fetcher.h"
#include "tests/support/test_util.h"

namespace strata::builder::sources {
namespace {

using testing::FakeFetcher;
using testing::list_paths;
using testing::make_temp_dir;

constexpr char kUrl[] = "https://example.org/dl/hello-2.12.tar.gz";

specs::Source url_source(std::string_view content) {
  return specs::Source{
      .name = "hello-src", .url = kUrl, .sha256 = sha256_of(content), .loc = {"spec.yaml", 7, 5}};
}

SourceOptions options_for(const TempDir& cache, bool offline = false) {
  return SourceOptions{.cache_dir = cache.path(), .offline = offline};
}

TEST(SourceStore, UrlSourceIsFetchedVerifiedAndStoredByDigest) {
  TempDir cache = make_temp_dir();
  FakeFetcher fetcher;
  fetcher.bodies[kUrl] = "tarball bytes";
  SourceStore store(options_for(cache));
  Result<StoredSource> stored = store.ensure(url_source("tarball bytes"), "/spec", fetcher);
  ASSERT_TRUE(stored.ok()) << stored.error().to_string();
  EXPECT_EQ(stored->blob_path, cache.path() + "/sources/sha256/" + sha256_of("tarball bytes").hex);
  EXPECT_EQ(stored->kind, SourceKind::kArchive);
  EXPECT_EQ(stored->file_name, "hello-2.12.tar.gz");
  EXPECT_EQ(*read_file(stored->blob_path), "tarball bytes");
  EXPECT_EQ(list_paths(store.blob_dir()), std::vector<std::string>{sha256_of("tarball bytes").hex});
}

TEST(SourceStore, StoredBlobIsReusedWithoutFetching) {
  TempDir cache = make_temp_dir();
  FakeFetcher fetcher;
  fetcher.bodies[kUrl] = "tarball bytes";
  SourceStore store(options_for(cache));
  ASSERT_TRUE(store.ensure(url_source("tarball bytes"), "/spec", fetcher).ok());
  ASSERT_TRUE(store.ensure(url_source("tarball bytes"), "/spec", fetcher).ok());
  EXPECT_EQ(fetcher.calls, 1);
}

TEST(SourceStore, DigestMismatchNamesBothDigestsAndStoresNothing) {
  TempDir cache = make_temp_dir();
  FakeFetcher fetcher;
  fetcher.bodies[kUrl] = "tampered";
  SourceStore store(options_for(cache));
  Result<StoredSource> stored = store.ensure(url_source("original"), "/spec", fetcher);
  ASSERT_FALSE(stored.ok());
  EXPECT_EQ(stored.error().code(), ErrorCode::kDigestMismatch);
  EXPECT_EQ(stored.error().to_string(), "spec.yaml:7:5: error: source 'hello-src' (" +
                                            std::string(kUrl) + "): digest mismatch: expected " +
                                            sha256_of("original").str() + ", actual " +
                                            sha256_of("tampered").str());
  EXPECT_TRUE(list_paths(store.blob_dir()).empty());
}

TEST(SourceStore, FetchErrorIsLocatedAndLeavesNoTemporaryFile) {
  TempDir cache = make_temp_dir();
  FakeFetcher fetcher;
  fetcher.errors[kUrl] = "fetching " + std::string(kUrl) + ": connection reset";
  SourceStore store(options_for(cache));
  Result<StoredSource> stored = store.ensure(url_source("x"), "/spec", fetcher);
  ASSERT_FALSE(stored.ok());
  EXPECT_EQ(stored.error().to_string(), "spec.yaml:7:5: error: source 'hello-src' (" +
                                            std::string(kUrl) + "): fetching " + kUrl +
                                            ": connection reset");
  EXPECT_EQ(stored.error().code(), ErrorCode::kIo);
  EXPECT_TRUE(list_paths(store.blob_dir()).empty());
}

TEST(SourceStore, CorruptBlobIsRemovedAndFetchedAgain) {
  TempDir cache = make_temp_dir();
  FakeFetcher fetcher;
  fetcher.bodies[kUrl] = "good";
  SourceStore store(options_for(cache));
  ASSERT_TRUE(make_dirs(store.blob_dir()).ok());
  ASSERT_TRUE(write_file(store.blob_path(sha256_of("good")), "bit rot").ok());
  Result<StoredSource> stored = store.ensure(url_source("good"), "/spec", fetcher);
  ASSERT_TRUE(stored.ok()) << stored.error().to_string();
  EXPECT_EQ(fetcher.calls, 1);
  EXPECT_EQ(*read_file(stored->blob_path), "good");
}

TEST(SourceStore, OfflineUsesOnlyTheStore) {
  TempDir cache = make_temp_dir();
  FakeFetcher fetcher;
  fetcher.bodies[kUrl] = "good";
  SourceStore offline(options_for(cache, true));
  Result<StoredSource> missing = offline.ensure(url_source("good"), "/spec", fetcher);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().to_string(), "spec.yaml:7:5: error: source 'hello-src' (" +
                                             std::string(kUrl) + "): not in the source store (" +
                                             offline.blob_path(sha256_of("good")) +
                                             ") and --offline forbids fetching");
  EXPECT_EQ(fetcher.calls, 0);

  ASSERT_TRUE(SourceStore(options_for(cache)).ensure(url_source("good"), "/spec", fetcher).ok());
  EXPECT_TRUE(offline.ensure(url_source("good"), "/spec", fetcher).ok());
  EXPECT_EQ(fetcher.calls, 1);
}

TEST(SourceStore, OfflineReportsAndRemovesACorruptBlob) {
  TempDir cache = make_temp_dir();
  FakeFetcher fetcher;
  SourceStore store(options_for(cache, true));
  ASSERT_TRUE(make_dirs(store.blob_dir()).ok());
  std::string blob = store.blob_path(sha256_of("good"));
  ASSERT_TRUE(write_file(blob, "bit rot").ok());
  Result<StoredSource> stored = store.ensure(url_source("good"), "/spec", fetcher);
  ASSERT_FALSE(stored.ok());
  EXPECT_EQ(stored.error().message(),
            "source 'hello-src' (" + std::string(kUrl) + "): the stored copy " + blob +
                " was corrupt (" + sha256_of("bit rot").str() +
                ") and has been removed; fetch it again without --offline");
  EXPECT_TRUE(list_paths(store.blob_dir()).empty());
  EXPECT_EQ(fetcher.calls, 0);
}

// A path source is hashed and checked at once, and copied into the store only when a build
// first unpacks it (store_pending).
TEST(SourceStore, PathFileIsVerifiedAndCopiedIntoTheStoreWhenUnpacked) {
  TempDir cache = make_temp_dir();
  TempDir spec_dir = make_temp_dir();
  ASSERT_TRUE(make_dirs(spec_dir.path() + "/files").ok());
  ASSERT_TRUE(write_file(spec_dir.path() + "/files/motd", "welcome\n").ok());
  FakeFetcher fetcher;
  specs::Source source{.name = "motd", .path = "files/motd", .sha256 = sha256_of("welcome\n")};
  Result<StoredSource> stored =
      SourceStore(options_for(cache)).ensure(source, spec_dir.path(), fetcher);
  ASSERT_TRUE(stored.ok()) << stored.error().to_string();
  EXPECT_EQ(stored->kind, SourceKind::kFile);
  EXPECT_EQ(stored->file_name, "motd");
  EXPECT_EQ(stored->pending_path, spec_dir.path() + "/files/motd");
  EXPECT_FALSE(path_exists(stored->blob_path));
  ASSERT_TRUE(store_pending(*stored).ok());
  EXPECT_EQ(*read_file(stored->blob_path), "welcome\n");
  EXPECT_EQ(fetcher.calls, 0);
  // Once stored, a build finds it there.
  Result<StoredSource> again =
      SourceStore(options_for(cache)).ensure(source, spec_dir.path(), fetcher);
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_TRUE(again->pending_path.empty());
}

TEST(SourceStore, MissingPathIsLocated) {
  TempDir cache = make_temp_dir();
  FakeFetcher fetcher;
  specs::Source source{
      .name = "motd", .path = "nope", .sha256 = sha256_of(""), .loc = {"s.yaml", 3, 11}};
  Result<StoredSource> stored = SourceStore(options_for(cache)).ensure(source, "/no/such", fetcher);
  ASSERT_FALSE(stored.ok());
  EXPECT_EQ(stored.error().to_string(),
            "s.yaml:3:11: error: source 'motd' (nope): stat /no/such/nope: No such file or "
            "directory");
}

// A directory tree: a file, an executable, a subdirectory and a symlink.
void make_tree(const std::string& dir) {
  ASSERT_TRUE(make_dirs(dir + "/src").ok());
  ASSERT_TRUE(write_file(dir + "/src/main.c", "int main() {}\n").ok());
  ASSERT_TRUE(write_file(dir + "/configure", "#!/bin/sh\n", 0755).ok());
  ASSERT_EQ(::symlink("src/main.c", (dir + "/main.c").c_str()), 0);
}

TEST(PathDigest, DirectoryDigestIgnoresMtimesAndUmaskButNotExecutableBits) {
  TempDir dir = make_temp_dir();
  make_tree(dir.path());
  Result<Digest> first = path_digest(dir.path());
  ASSERT_TRUE(first.ok()) << first.error().to_string();

  struct timespec times[2] = {{.tv_sec = 12345, .tv_nsec = 0}, {.tv_sec = 12345, .tv_nsec = 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (dir.path() + "/src/main.c").c_str(), times, 0), 0);
  ASSERT_EQ(::chmod((dir.path() + "/src/main.c").c_str(), 0664), 0);  // a umask 002 checkout
  ASSERT_EQ(::chmod((dir.path() + "/src").c_str(), 0775), 0);
  EXPECT_EQ(*path_digest(dir.path()), *first);

  ASSERT_EQ(::chmod((dir.path() + "/src/main.c").c_str(), 0775), 0);
  EXPECT_NE(*path_digest(dir.path()), *first);
}

TEST(PathDigest, FileDigestIsItsSha256) {
  TempDir dir = make_temp_dir();
  ASSERT_TRUE(write_file(dir.path() + "/f", "abc").ok());
  EXPECT_EQ(*path_digest(dir.path() + "/f"), sha256_of("abc"));
}

TEST(SourceStore, PathDirectoryIsStoredAsItsTar) {
  TempDir cache = make_temp_dir();
  TempDir spec_dir = make_temp_dir();
  make_tree(spec_dir.path() + "/tree");
  Digest digest = *path_digest(spec_dir.path() + "/tree");
  FakeFetcher fetcher;
  specs::Source source{.name = "tree", .path = "tree/", .sha256 = digest};
  Result<StoredSource> stored =
      SourceStore(options_for(cache)).ensure(source, spec_dir.path(), fetcher);
  ASSERT_TRUE(stored.ok()) << stored.error().to_string();
  EXPECT_EQ(stored->kind, SourceKind::kDirectory);
  EXPECT_EQ(stored->file_name, "tree");
  ASSERT_TRUE(store_pending(*stored).ok());
  EXPECT_EQ(*sha256_file(stored->blob_path), digest);
}

// A tree that changes between its check and its first unpacking is refused then, and
// nothing is stored.
TEST(SourceStore, APathChangedBeforeItIsStoredIsAMismatch) {
  TempDir cache = make_temp_dir();
  TempDir spec_dir = make_temp_dir();
  make_tree(spec_dir.path() + "/tree");
  Digest digest = *path_digest(spec_dir.path() + "/tree");
  FakeFetcher fetcher;
  specs::Source source{.name = "tree", .path = "tree", .sha256 = digest};
  SourceStore store(options_for(cache));
  Result<StoredSource> stored = store.ensure(source, spec_dir.path(), fetcher);
  ASSERT_TRUE(stored.ok()) << stored.error().to_string();
  ASSERT_TRUE(write_file(spec_dir.path() + "/tree/src/main.c", "int main() { return 2; }\n").ok());
  Result<void> late = store_pending(*stored);
  ASSERT_FALSE(late.ok());
  EXPECT_NE(late.error().message().find("(it changed while this build ran)"), std::string::npos)
      << late.error().message();
  EXPECT_TRUE(list_paths(store.blob_dir()).empty());
}

TEST(SourceStore, AStoredPathIsHashedAgainButNotRewritten) {
  TempDir cache = make_temp_dir();
  TempDir spec_dir = make_temp_dir();
  make_tree(spec_dir.path() + "/tree");
  Digest digest = *path_digest(spec_dir.path() + "/tree");
  FakeFetcher fetcher;
  specs::Source source{.name = "tree", .path = "tree", .sha256 = digest};
  SourceStore store(options_for(cache));
  Result<StoredSource> first = store.ensure(source, spec_dir.path(), fetcher);
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  ASSERT_TRUE(store_pending(*first).ok());
  struct stat before;
  ASSERT_EQ(::stat(first->blob_path.c_str(), &before), 0);

  // The same tree again: the stored blob is the same file (not written again).
  Result<StoredSource> again = store.ensure(source, spec_dir.path(), fetcher);
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  struct stat after;
  ASSERT_EQ(::stat(again->blob_path.c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);

  // A tree that changed is still a mismatch, with the stored blob in place.
  ASSERT_TRUE(write_file(spec_dir.path() + "/tree/src/main.c", "int main() { return 1; }\n").ok());
  Result<StoredSource> changed = store.ensure(source, spec_dir.path(), fetcher);
  ASSERT_FALSE(changed.ok());
  EXPECT_NE(changed.error().message().find("digest mismatch: expected " + digest.str()),
            std::string::npos)
      << changed.error().message();
  ASSERT_TRUE(write_file(spec_dir.path() + "/tree/src/main.c", "int main() {}\n").ok());

  // A stored blob damaged on disk is replaced by the tree's tar.
  ASSERT_TRUE(write_file(first->blob_path, "bit rot").ok());
  Result<StoredSource> mended = store.ensure(source, spec_dir.path(), fetcher);
  ASSERT_TRUE(mended.ok()) << mended.error().to_string();
  EXPECT_FALSE(path_exists(mended->blob_path));
  ASSERT_TRUE(store_pending(*mended).ok());
  EXPECT_EQ(*sha256_file(mended->blob_path), digest);
}

TEST(SourceStore, PathDirectoryMismatchTellsHowToGetTheDigest) {
  TempDir cache = make_temp_dir();
  TempDir spec_dir = make_temp_dir();
  make_tree(spec_dir.path() + "/tree");
  Digest actual = *path_digest(spec_dir.path() + "/tree");
  FakeFetcher fetcher;
  specs::Source source{.name = "tree", .path = "tree", .sha256 = sha256_of("stale")};
  SourceStore store(options_for(cache));
  Result<StoredSource> stored = store.ensure(source, spec_dir.path(), fetcher);
  ASSERT_FALSE(stored.ok());
  EXPECT_EQ(stored.error().message(),
            "source 'tree' (tree): digest mismatch: expected " + sha256_of("stale").str() +
                ", actual " + actual.str() +
                " (a directory's digest is that of its strata-det/1 tar; 'strata hash DIR' "
                "prints it)");
  EXPECT_TRUE(list_paths(store.blob_dir()).empty());
}

TEST(SourceNames, ArchivesAreRecognizedBySuffix) {
  for (const char* name : {"a.tar", "a.tar.gz", "a.TGZ", "a.tar.xz", "a.txz", "a.tar.bz2", "a.tbz2",
                           "a.tar.zst", "a.tzst", "a.zip"}) {
    EXPECT_TRUE(is_archive_name(name)) << name;
  }
  for (const char* name : {"a.gz", "a.c", "tar", ".tar.gz", "a.tar.gz.sig", "zip"}) {
    EXPECT_FALSE(is_archive_name(name)) << name;
  }
}

TEST(SourceNames, FileNameComesFromTheUrlPath) {
  auto name = [](std::string url) {
    return source_file_name(specs::Source{.name = "fallback", .url = std::move(url)});
  };
  EXPECT_EQ(name("https://h/a/b-1.0.tar.gz"), "b-1.0.tar.gz");
  EXPECT_EQ(name("https://h/a/b.zip?raw=1#x"), "b.zip");
  EXPECT_EQ(name("https://h/my%20file.txt"), "my file.txt");
  EXPECT_EQ(name("https://h/"), "fallback");
  EXPECT_EQ(name("https://h"), "fallback");
  EXPECT_EQ(name("https://h/a/%2E%2E"), "fallback");
  EXPECT_EQ(name("https://h/a%2Fb"), "fallback");
  EXPECT_EQ(name("file:///srv/x.tar"), "x.tar");
}

TEST(SourceSet, FetchesEverySourceOfTheSpecInOrder) {
  TempDir cache = make_temp_dir();
  FakeFetcher fetcher;
  fetcher.bodies["https://h/a.txt"] = "a";
  fetcher.bodies["https://h/b.txt"] = "b";
  specs::Spec spec;
  spec.sources = {{.name = "a", .url = "https://h/a.txt", .sha256 = sha256_of("a")},
                  {.name = "b", .url = "https://h/b.txt", .sha256 = sha256_of("b")}};
  Result<SourceSet> set = fetch_sources(spec, options_for(cache), fetcher);
  ASSERT_TRUE(set.ok()) << set.error().to_string();
  ASSERT_EQ(set->by_name.size(), 2u);
  EXPECT_EQ(*read_file(set->by_name.at("b").blob_path), "b");
}

TEST(SourceSet, DefaultCacheDirFollowsXdg) {
  EXPECT_EQ(*default_cache_dir("/xdg", "/home/u"), "/xdg/strata");
  EXPECT_EQ(*default_cache_dir("", "/home/u"), "/home/u/.cache/strata");
  EXPECT_EQ(*default_cache_dir("relative", "/home/u"), "/home/u/.cache/strata");
  auto none = default_cache_dir("", "");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code(), ErrorCode::kUsage);
  EXPECT_EQ(none.error().message(),
            "no cache directory: HOME and XDG_CACHE_HOME are unset; pass --cache DIR");
}

// A path: source written without sha256 is pinned by what it holds now, resolved beneath the
// spec's directory like every local input (issue 12 part 4).
TEST(PinPathSources, PinsUnpinnedPathsByContentOnly) {
  TempDir t = testing::make_temp_dir("strata-pin-test-");
  ASSERT_TRUE(make_dirs(t.path() + "/spec/tree").ok());
  ASSERT_TRUE(write_file(t.path() + "/spec/tree/a", "a\n").ok());
  ASSERT_TRUE(write_file(t.path() + "/secret", "s\n").ok());
  ASSERT_EQ(::symlink("../secret", (t.path() + "/spec/out").c_str()), 0);
  specs::Spec spec;
  spec.dir = t.path() + "/spec";
  spec.context = spec.dir;
  Digest pinned = sha256_of("x");
  spec.sources = {{.name = "tree", .path = "tree"},
                  {.name = "kept", .path = "tree", .sha256 = pinned},
                  {.name = "url", .url = "https://example.org/x", .sha256 = pinned}};
  ASSERT_TRUE(pin_path_sources(spec).ok());
  EXPECT_EQ(spec.sources[0].sha256, *path_digest(t.path() + "/spec/tree"));
  EXPECT_TRUE(spec.sources[0].pinned_by_content);
  EXPECT_EQ(spec.sources[1].sha256, pinned);
  EXPECT_FALSE(spec.sources[1].pinned_by_content);
  EXPECT_FALSE(spec.sources[2].pinned_by_content);

  spec.sources = {{.name = "leak", .path = "out"}};
  Result<void> r = pin_path_sources(spec);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("source 'leak': 'out' is a symlink to '../secret', which "
                                     "leads out of"),
            std::string::npos)
      << r.error().message();
}

}  // namespace
}  // namespace strata::builder::sources
