#include "builder/cache/prune.h"

#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "builder/base/fs.h"
#include "builder/cache/entry_lock.h"
#include "tests/support/test_util.h"

namespace strata::builder::cache {
namespace {

std::string hex(char c) { return std::string(64, c); }

CacheEntry entry(std::string path, int64_t size, int64_t last_use) {
  return {.path = std::move(path), .size_bytes = size, .last_use_ns = last_use};
}

TEST(CacheSize, ParsesSuffixesAsPowersOf1024) {
  EXPECT_EQ(*parse_size("0"), 0);
  EXPECT_EQ(*parse_size("4096"), 4096);
  EXPECT_EQ(*parse_size("500M"), int64_t{500} << 20);
  EXPECT_EQ(*parse_size("2G"), int64_t{2} << 30);
  EXPECT_EQ(*parse_size("1.5GiB"), int64_t{3} << 29);
  EXPECT_EQ(*parse_size("10kB"), 10240);
  for (const char* bad : {"", "M", "-1", "5X", "1e3", "99999999999T"}) {
    Result<int64_t> r = parse_size(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kUsage);
  }
  EXPECT_EQ(parse_size("5X").error().message(),
            "invalid size '5X': expected a number with an optional K, M, G or T suffix (powers "
            "of 1024), e.g. 500M");
  EXPECT_EQ(format_size(512), "512 B");
  EXPECT_EQ(format_size(1536), "1.5 KiB");
  EXPECT_EQ(format_size(int64_t{3} << 30), "3.0 GiB");
}

TEST(CachePrune, RemovesLeastRecentlyUsedUntilUnderTheLimit) {
  std::vector<CacheEntry> entries = {entry("a", 100, 1), entry("b", 100, 2), entry("c", 100, 3)};
  PrunePlan plan = plan_prune(entries, 150, [](const CacheEntry&) { return false; });
  ASSERT_EQ(plan.removed.size(), 2u);
  EXPECT_EQ(plan.removed[0].path, "a");
  EXPECT_EQ(plan.removed[1].path, "b");
  EXPECT_EQ(plan.size_before_bytes, 300);
  EXPECT_EQ(plan.size_after_bytes, 100);
  EXPECT_TRUE(plan_prune(entries, 300, [](const CacheEntry&) { return false; }).removed.empty());
}

TEST(CachePrune, SkipsHeldEntriesAndTakesTheNextOldest) {
  std::vector<CacheEntry> entries = {entry("a", 100, 1), entry("b", 100, 2), entry("c", 100, 3)};
  PrunePlan plan = plan_prune(entries, 150, [](const CacheEntry& e) { return e.path == "a"; });
  ASSERT_EQ(plan.held.size(), 1u);
  EXPECT_EQ(plan.held[0].path, "a");
  ASSERT_EQ(plan.removed.size(), 2u);
  EXPECT_EQ(plan.removed[0].path, "b");
  EXPECT_EQ(plan.size_after_bytes, 100);
  // Everything held: the cache stays above the limit and says so.
  plan = plan_prune(entries, 0, [](const CacheEntry&) { return true; });
  EXPECT_EQ(plan.size_after_bytes, 300);
  EXPECT_EQ(plan.held.size(), 3u);
}

class CacheDir : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* d :
         {"/packages/tmp", "/rootfs/sha256", "/sources/sha256", "/logs/demo", "/layers/sha256"}) {
      ASSERT_TRUE(make_dirs(dir() + d).ok());
    }
    // Oldest first: the source, the rootfs, the package, the layer; the log is the newest.
    add_file("/sources/sha256/" + hex('a'), std::string(10000, 's'), 100);
    ASSERT_TRUE(make_dirs(dir() + "/rootfs/sha256/" + hex('b') + "/rootfs/bin").ok());
    add_file("/rootfs/sha256/" + hex('b') + "/rootfs/bin/sh", std::string(20000, 'r'), 150);
    add_file("/rootfs/sha256/" + hex('b') + "/complete", "sha256:b", 200);
    ASSERT_TRUE(make_dirs(dir() + "/packages/" + hex('c') + "/out").ok());
    add_file("/packages/" + hex('c') + "/out/hello", std::string(30000, 'p'), 250);
    add_file("/packages/" + hex('c') + "/output.json", R"({"name":"hello"})", 300);
    add_file("/logs/demo/step-1.log", "log", 400);
    add_file("/packages/" + hex('c') + ".lock", "", 500);  // not an entry
    ASSERT_TRUE(make_dirs(dir() + "/layers/sha256/" + hex('d')).ok());
    add_file("/layers/sha256/" + hex('d') + "/blob", std::string(5000, 'l'), 350);
    add_file("/layers/sha256/" + hex('d') + "/layer.json", "{}", 350);
  }
  void add_file(const std::string& rel, const std::string& text, int64_t mtime_s) {
    ASSERT_TRUE(write_file(dir() + rel, text).ok());
    const struct timespec t[2] = {{mtime_s, 0}, {mtime_s, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, (dir() + rel).c_str(), t, 0), 0);
  }
  const std::string& dir() const { return tmp_.path(); }
  TempDir tmp_ = testing::make_temp_dir();
};

TEST_F(CacheDir, ListsEveryKindLeastRecentlyUsedFirst) {
  Result<std::vector<CacheEntry>> entries = list_cache(dir());
  ASSERT_TRUE(entries.ok()) << entries.error().message();
  ASSERT_EQ(entries->size(), 5u);
  EXPECT_EQ((*entries)[0].kind, EntryKind::kSource);
  EXPECT_EQ((*entries)[1].kind, EntryKind::kRootfs);
  EXPECT_EQ((*entries)[2].kind, EntryKind::kPackage);
  EXPECT_EQ((*entries)[2].label, "hello");
  EXPECT_EQ((*entries)[2].last_use_ns, int64_t{300} * 1000000000);
  EXPECT_EQ((*entries)[3].kind, EntryKind::kLayer);
  EXPECT_EQ(kind_name((*entries)[3].kind), "layer");
  EXPECT_GE((*entries)[3].size_bytes, 5000);
  EXPECT_EQ((*entries)[4].kind, EntryKind::kLog);
  EXPECT_GE((*entries)[0].size_bytes, 10000);
  EXPECT_GE((*entries)[2].size_bytes, 30000);
}

TEST_F(CacheDir, TouchMakesAnEntryTheMostRecent) {
  touch_last_use(dir() + "/sources/sha256/" + hex('a'));
  Result<std::vector<CacheEntry>> entries = list_cache(dir());
  ASSERT_TRUE(entries.ok());
  EXPECT_EQ(entries->back().kind, EntryKind::kSource);
}

TEST_F(CacheDir, DryRunRemovesNothing) {
  std::vector<std::string> before = testing::list_paths(dir());
  Result<PrunePlan> plan = prune_cache(dir(), 0, /*dry_run=*/true);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->removed.size(), 5u);
  EXPECT_EQ(testing::list_paths(dir()), before);
}

TEST_F(CacheDir, PruneRemovesOldestAndSkipsAHeldEntry) {
  // A build holds the source blob (the oldest entry).
  Result<std::optional<EntryHold>> hold = hold_entry(dir() + "/sources/sha256/" + hex('a'));
  ASSERT_TRUE(hold.ok() && hold->has_value());
  Result<std::vector<CacheEntry>> entries = list_cache(dir());
  ASSERT_TRUE(entries.ok());
  int64_t keep = (*entries)[0].size_bytes + (*entries)[3].size_bytes + (*entries)[2].size_bytes +
                 (*entries)[4].size_bytes;
  Result<PrunePlan> plan = prune_cache(dir(), keep, /*dry_run=*/false);
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  ASSERT_EQ(plan->held.size(), 1u);
  EXPECT_EQ(plan->held[0].kind, EntryKind::kSource);
  ASSERT_EQ(plan->removed.size(), 1u);
  EXPECT_EQ(plan->removed[0].kind, EntryKind::kRootfs);
  EXPECT_FALSE(path_exists(dir() + "/rootfs/sha256/" + hex('b')));
  EXPECT_TRUE(path_exists(dir() + "/sources/sha256/" + hex('a')));
  EXPECT_TRUE(path_exists(dir() + "/packages/" + hex('c') + "/output.json"));
  // No stale leftovers.
  for (const std::string& p : testing::list_paths(dir())) {
    EXPECT_EQ(p.find(".strata-stale-"), std::string::npos) << p;
  }
  hold->reset();
  plan = prune_cache(dir(), 0, false);
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(list_cache(dir())->empty());
}

TEST_F(CacheDir, HoldAfterRemovalIsAMiss) {
  std::string blob = dir() + "/sources/sha256/" + hex('a');
  Result<std::optional<UniqueFd>> claim = try_claim_entry(blob);
  ASSERT_TRUE(claim.ok() && claim->has_value());
  // Held exclusively: a second claim fails without waiting.
  EXPECT_FALSE(try_claim_entry(blob)->has_value());
  ASSERT_EQ(::rename(blob.c_str(), (blob + ".gone").c_str()), 0);
  claim->reset();
  EXPECT_FALSE(hold_entry(blob)->has_value());
}

}  // namespace
}  // namespace strata::builder::cache
