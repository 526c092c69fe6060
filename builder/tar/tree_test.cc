#include "builder/tar/tree.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <functional>

#include "builder/base/fd.h"
#include "builder/base/fs.h"
#include "tests/support/test_util.h"

namespace strata::builder {
namespace {

std::vector<std::string> paths_of(const std::vector<LayerEntry>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) out.push_back(e.path);
  return out;
}

LayerEntry file(std::string path, std::string content) {
  int64_t size = static_cast<int64_t>(content.size());
  return {.path = std::move(path), .mode = 0644, .content = std::move(content), .size = size};
}

TEST(PathLess, IsDepthFirstWithChildrenSortedByByte) {
  std::vector<std::string> v = {"a-c", "a/b", "a", "B", "a/b/c", "a.d", "a/a"};
  std::sort(v.begin(), v.end(), PathLess());
  EXPECT_EQ(v, (std::vector<std::string>{"B", "a", "a/a", "a/b", "a/b/c", "a-c", "a.d"}));
}

TEST(LayerTree, AddsImplicitParentsInOrder) {
  LayerTree tree;
  ASSERT_TRUE(tree.add(file("usr/bin/hi", "x")).ok());
  ASSERT_TRUE(tree.add(file("etc/motd", "m")).ok());
  auto entries = std::move(tree).sorted_entries();
  ASSERT_TRUE(entries.ok());
  EXPECT_EQ(paths_of(*entries),
            (std::vector<std::string>{"etc", "etc/motd", "usr", "usr/bin", "usr/bin/hi"}));
  EXPECT_EQ((*entries)[0].type, EntryType::kDirectory);
  EXPECT_EQ((*entries)[0].mode, 0755u);
}

TEST(LayerTree, ExplicitDirectoryReplacesImplicitOne) {
  LayerTree tree;
  ASSERT_TRUE(tree.add(file("tmp/x", "x")).ok());
  ASSERT_TRUE(tree.add({.path = "tmp", .type = EntryType::kDirectory, .mode = 01777}).ok());
  auto entries = *std::move(tree).sorted_entries();
  EXPECT_EQ(entries[0].mode, 01777u);
}

TEST(LayerTree, DuplicateFileIsASpecErrorNamingBothPlaces) {
  LayerTree tree;
  LayerEntry a = file("etc/motd", "a");
  a.origin = {"s.yaml", 4, 9};
  LayerEntry b = file("etc/motd", "b");
  b.origin = {"s.yaml", 6, 9};
  ASSERT_TRUE(tree.add(a).ok());
  auto r = tree.add(b);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().to_string(),
            "s.yaml:6:9: error: /etc/motd appears twice in one layer (first from s.yaml:4:9)");
}

TEST(LayerTree, PathBelowAFileIsAnError) {
  LayerTree tree;
  ASSERT_TRUE(tree.add(file("etc", "x")).ok());
  auto r = tree.add(file("etc/motd", "m"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "cannot create /etc/motd: /etc is a file in this layer");
}

TEST(LayerTree, HardlinkPointsAtTheFirstPathInOrder) {
  LayerTree tree;
  ASSERT_TRUE(tree.add(file("z/target", "data")).ok());
  tree.add_hardlink("a/link", "z/target", {});
  auto entries = *std::move(tree).sorted_entries();
  ASSERT_EQ(paths_of(entries), (std::vector<std::string>{"a", "a/link", "z", "z/target"}));
  EXPECT_EQ(entries[1].type, EntryType::kRegular);
  EXPECT_EQ(entries[1].content, "data");
  EXPECT_EQ(entries[3].type, EntryType::kHardlink);
  EXPECT_EQ(entries[3].link_target, "a/link");
}

TEST(LayerTree, HardlinkToMissingTargetIsAnError) {
  LayerTree tree;
  tree.add_hardlink("a", "b", {"s.yaml", 2, 3});
  auto r = std::move(tree).sorted_entries();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().to_string(),
            "s.yaml:2:3: error: hardlink /a: target /b is not a regular file in this layer");
}

// Enough entries, added in a scrambled order, that the path index grows many times and its
// probe runs wrap: every path is found again (duplicates refused, parents made once) and the
// in-place sort yields exactly PathLess order with each entry's own content.
TEST(LayerTree, ManyEntriesInAnyOrderComeOutSortedOnceEach) {
  LayerTree tree;
  std::vector<std::string> expected;
  constexpr int kFiles = 5000;
  for (int k = 0; k < kFiles; ++k) {
    int i = (k * 761) % kFiles;  // 761 is prime to 5000: a permutation of 0..kFiles-1
    std::string path = fmt::format("d{}/s{}/f{}", i % 7, i % 13, i);
    ASSERT_TRUE(tree.add(file(path, std::to_string(i))).ok()) << path;
    expected.push_back(path);
  }
  for (int d = 0; d < 7; ++d) {
    expected.push_back(fmt::format("d{}", d));
    for (int s = 0; s < 13; ++s) expected.push_back(fmt::format("d{}/s{}", d, s));
  }
  std::sort(expected.begin(), expected.end(), PathLess());
  // A second f3000, in a directory the first is not in (3000 % 7 == 4).
  ASSERT_TRUE(tree.add(file("d3/s5/f3000", "again")).ok());
  expected.insert(std::lower_bound(expected.begin(), expected.end(), "d3/s5/f3000", PathLess()),
                  "d3/s5/f3000");
  EXPECT_FALSE(tree.add(file("d0/s0/f0", "twice")).ok());
  auto entries = std::move(tree).sorted_entries();
  ASSERT_TRUE(entries.ok());
  EXPECT_EQ(paths_of(*entries), expected);
  for (const LayerEntry& e : *entries) {
    if (e.type != EntryType::kRegular || e.path == "d3/s5/f3000") continue;
    EXPECT_EQ("f" + e.content, e.path.substr(e.path.rfind('/') + 1)) << e.path;
  }
}

class HostTreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = tmp_.path() + "/src";
    ASSERT_TRUE(make_dirs(root_ + "/sub").ok());
    ASSERT_TRUE(write_file(root_ + "/run.sh", "#!/bin/sh\n", 0700).ok());
    ASSERT_TRUE(write_file(root_ + "/sub/data", "d", 0600).ok());
    ASSERT_EQ(::symlink("../run.sh", (root_ + "/sub/link").c_str()), 0);
    ASSERT_EQ(::link((root_ + "/sub/data").c_str(), (root_ + "/a-hard").c_str()), 0);
  }
  // Copies `host_path` in as a layer does and returns the pass's error. The same tree is
  // sorted once more with its directories walked up front: the two must agree.
  Result<void> copy_in(const std::string& host_path, const std::string& dest,
                       const HostCopyOptions& options, const Loc& origin) {
    LayerTree streamed, walked;
    STRATA_TRY(streamed.add_host_path(host_path, dest, options, origin));
    EXPECT_TRUE(walked.add_host_path(host_path, dest, options, origin).ok());
    Result<std::vector<LayerEntry>> sorted = std::move(walked).sorted_entries();
    STRATA_TRY_ASSIGN(LayerEntries entries, std::move(streamed).entries());
    EXPECT_TRUE(entries.streamed());
    Result<void> pass = entries.check();
    EXPECT_EQ(pass.ok(), sorted.ok());
    if (!pass.ok() && !sorted.ok()) {
      EXPECT_EQ(pass.error().to_string(), sorted.error().to_string());
    }
    return pass;
  }
  TempDir tmp_ = testing::make_temp_dir("strata-tree-test-");
  std::string root_;
};

// Every field of an entry, to compare two lists of them.
std::vector<std::string> describe(const std::vector<LayerEntry>& entries) {
  std::vector<std::string> out;
  for (const LayerEntry& e : entries) {
    out.push_back(fmt::format("{} {} {:o} {}:{} {} host={} content={} link={} at {}:{}", e.path,
                              static_cast<int>(e.type), e.mode, e.uid, e.gid, e.size, e.host_path,
                              e.content, e.link_target, e.origin.file, e.origin.line));
  }
  return out;
}

// Builds one tree twice with `add`: sorted with its directories walked up front, and as
// entries whose passes walk them. Both must list the same entries, or fail alike: returns
// the error ("" when there is none).
std::string expect_streams_alike(const std::function<Result<void>(LayerTree&)>& add,
                                 bool streamed = true) {
  LayerTree walked, passes;
  EXPECT_TRUE(add(walked).ok());
  EXPECT_TRUE(add(passes).ok());
  Result<std::vector<LayerEntry>> sorted = std::move(walked).sorted_entries();
  Result<LayerEntries> entries = std::move(passes).entries();
  if (!entries.ok()) return "entries(): " + entries.error().to_string();
  EXPECT_EQ(entries->streamed(), streamed);
  Result<std::vector<LayerEntry>> listed = entries->to_vector();
  EXPECT_EQ(listed.ok(), sorted.ok());
  if (!sorted.ok() || !listed.ok()) {
    std::string error = (sorted.ok() ? listed : sorted).error().to_string();
    if (!sorted.ok() && !listed.ok()) {
      EXPECT_EQ(listed.error().to_string(), error);
    }
    return error;
  }
  EXPECT_EQ(describe(*listed), describe(*sorted));
  return "";
}

TEST_F(HostTreeTest, CopiesADirectoryWithNormalizedModesLinksAndHardlinks) {
  LayerTree tree;
  ASSERT_TRUE(tree.add_host_path(root_, "/opt/app", {.uid = 7, .gid = 8}, {}).ok());
  auto entries = *std::move(tree).sorted_entries();
  ASSERT_EQ(paths_of(entries),
            (std::vector<std::string>{"opt", "opt/app", "opt/app/a-hard", "opt/app/run.sh",
                                      "opt/app/sub", "opt/app/sub/data", "opt/app/sub/link"}));
  EXPECT_EQ(entries[0].uid, 0);  // implicit parent
  EXPECT_EQ(entries[1].mode, 0755u);
  EXPECT_EQ(entries[1].uid, 7);
  EXPECT_EQ(entries[2].type, EntryType::kRegular);  // first of the hardlink pair in order
  EXPECT_EQ(entries[2].mode, 0644u);                // 0600 on the host: normalized
  EXPECT_EQ(entries[3].mode, 0755u);                // owner-executable on the host
  EXPECT_EQ(entries[5].type, EntryType::kHardlink);
  EXPECT_EQ(entries[5].link_target, "opt/app/a-hard");
  EXPECT_EQ(entries[6].type, EntryType::kSymlink);
  EXPECT_EQ(entries[6].link_target, "../run.sh");
}

TEST_F(HostTreeTest, PassesOverWalkedDirectoriesListWhatSortingListsWithThemHeld) {
  std::string other = tmp_.path() + "/other";
  ASSERT_TRUE(make_dirs(other + "/sub/deeper").ok());
  ASSERT_TRUE(write_file(other + "/sub/deeper/x", "x").ok());
  ASSERT_TRUE(write_file(other + "/sub/y", "y").ok());
  ASSERT_TRUE(write_file(other + "/z-c", "z").ok());
  ASSERT_EQ(::link((root_ + "/sub/data").c_str(), (other + "/sub/also-data").c_str()), 0);
  Loc a{"s.yaml", 1, 1}, b{"s.yaml", 2, 1}, c{"s.yaml", 3, 1};
  // One directory, at the root and below implicit parents.
  EXPECT_EQ(expect_streams_alike([&](LayerTree& t) { return t.add_host_path(root_, "/", {}, a); }),
            "");
  EXPECT_EQ(expect_streams_alike(
                [&](LayerTree& t) { return t.add_host_path(root_, "/opt/app", {.uid = 7}, a); }),
            "");
  // Two that overlap, either way round, with a hardlink group that spans both and explicit
  // entries among theirs: a directory added later sets the attributes, an implicit one
  // never does.
  for (bool reversed : {false, true}) {
    std::string error = expect_streams_alike([&](LayerTree& t) -> Result<void> {
      STRATA_TRY(t.add({.path = "data/sub/deeper/mid", .content = "m", .size = 1, .origin = c}));
      const std::string& first = reversed ? other : root_;
      const std::string& second = reversed ? root_ : other;
      STRATA_TRY(t.add_host_path(first, "/data", {.dir_mode = 0700}, a));
      STRATA_TRY(
          t.add({.path = "data/sub", .type = EntryType::kDirectory, .mode = 0750, .origin = c}));
      STRATA_TRY(t.add_host_path(second, "/data", {.uid = 5}, b));
      return t.add({.path = "data/sub-b", .content = "s", .size = 1, .origin = c});
    });
    EXPECT_EQ(error, "");
  }
  // A directory inside another's walk.
  EXPECT_EQ(expect_streams_alike([&](LayerTree& t) -> Result<void> {
              STRATA_TRY(t.add_host_path(root_, "/data", {}, a));
              return t.add_host_path(other, "/data/sub/inner", {}, b);
            }),
            "");
}

TEST_F(HostTreeTest, PassesReportThePathConflictsSortingReports) {
  Loc a{"s.yaml", 1, 1}, b{"s.yaml", 2, 1};
  // A file the walk also yields, added before or after the directory.
  EXPECT_EQ(expect_streams_alike([&](LayerTree& t) -> Result<void> {
              STRATA_TRY(t.add_host_path(root_, "/opt", {}, a));
              return t.add({.path = "opt/run.sh", .content = "x", .size = 1, .origin = b});
            }),
            "s.yaml:2:1: error: /opt/run.sh appears twice in one layer (first from s.yaml:1:1)");
  EXPECT_EQ(expect_streams_alike([&](LayerTree& t) -> Result<void> {
              STRATA_TRY(t.add({.path = "opt/run.sh", .content = "x", .size = 1, .origin = b}));
              return t.add_host_path(root_, "/opt", {}, a);
            }),
            "s.yaml:1:1: error: /opt/run.sh appears twice in one layer (first from s.yaml:2:1)");
  // An entry below a path the walk yields as a symlink.
  EXPECT_EQ(expect_streams_alike([&](LayerTree& t) -> Result<void> {
              STRATA_TRY(t.add({.path = "opt/sub/link/x", .content = "x", .size = 1, .origin = b}));
              return t.add_host_path(root_, "/opt", {}, a);
            }),
            "s.yaml:1:1: error: /opt/sub/link cannot be a symlink: other entries in this layer are "
            "below it, so it must be a directory");
}

TEST_F(HostTreeTest, AHardlinkIntoAWalkedDirectoryIsResolvedWithTheDirectoryHeld) {
  EXPECT_EQ(expect_streams_alike(
                [&](LayerTree& t) -> Result<void> {
                  STRATA_TRY(t.add_host_path(root_, "/opt", {}, {}));
                  t.add_hardlink("opt/again", "opt/run.sh", {});
                  return Ok{};
                },
                /*streamed=*/false),
            "");
  // A file added on its own with more links may share its inode with a walked one.
  EXPECT_EQ(expect_streams_alike(
                [&](LayerTree& t) -> Result<void> {
                  STRATA_TRY(t.add_host_path(root_ + "/a-hard", "/top", {}, {}));
                  return t.add_host_path(root_, "/opt", {}, {});
                },
                /*streamed=*/false),
            "");
}

TEST_F(HostTreeTest, APassMeetsWhatChangedInTheDirectorySinceTheTreeWasMade) {
  LayerTree tree;
  ASSERT_TRUE(tree.add_host_path(root_, "/opt", {}, {"s.yaml", 3, 5}).ok());
  Result<LayerEntries> entries = std::move(tree).entries();
  ASSERT_TRUE(entries.ok());
  ASSERT_TRUE(entries->check().ok());
  ASSERT_EQ(::mkfifo((root_ + "/sub/fifo").c_str(), 0644), 0);
  Result<void> pass = entries->check();
  ASSERT_FALSE(pass.ok());
  EXPECT_EQ(pass.error().to_string(), "s.yaml:3:5: error: " + root_ +
                                          "/sub/fifo is a fifo: layers may hold only files, "
                                          "directories and links");
}

TEST_F(HostTreeTest, ExplicitModesApply) {
  LayerTree tree;
  ASSERT_TRUE(tree.add_host_path(root_, "/", {.file_mode = 0600, .dir_mode = 0700}, {}).ok());
  auto entries = *std::move(tree).sorted_entries();
  EXPECT_EQ(entries[0].path, "a-hard");
  EXPECT_EQ(entries[0].mode, 0600u);
  EXPECT_EQ(entries[2].path, "sub");
  EXPECT_EQ(entries[2].mode, 0700u);
}

TEST_F(HostTreeTest, KeepModesTakesHostModesAsTheyAre) {
  ASSERT_EQ(::chmod((root_ + "/sub").c_str(), 0750), 0);
  LayerTree tree;
  ASSERT_TRUE(tree.add_host_path(root_, "/", {.keep_modes = true}, {}).ok());
  auto entries = *std::move(tree).sorted_entries();
  EXPECT_EQ(entries[0].mode, 0600u);  // a-hard
  EXPECT_EQ(entries[1].mode, 0700u);  // run.sh
  EXPECT_EQ(entries[2].mode, 0750u);  // sub
}

TEST_F(HostTreeTest, FifoUnderASpecNodeIsASpecErrorNamingTheHostPath) {
  ASSERT_EQ(::mkfifo((root_ + "/sub/fifo").c_str(), 0644), 0);
  auto r = copy_in(root_, "/x", {}, {"s.yaml", 3, 5});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().to_string(), "s.yaml:3:5: error: " + root_ +
                                       "/sub/fifo is a fifo: layers may hold only files, "
                                       "directories and links");
}

// A tree with no spec node is a package's $DESTDIR (or a directory source): the entry is
// named by its path in the tree, since the host directory is a build's temporary, and the
// error is the build's (exit 1), not the spec's.
TEST_F(HostTreeTest, FifoAndSocketInAnOutputTreeAreNamedByTheirPathInIt) {
  ASSERT_EQ(::mkfifo((root_ + "/sub/fifo").c_str(), 0644), 0);
  auto r = copy_in(root_, "/", {.keep_modes = true}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidInput);
  EXPECT_EQ(r.error().to_string(),
            "/sub/fifo is a fifo: layers may hold only files, directories and links");

  ASSERT_EQ(::unlink((root_ + "/sub/fifo").c_str()), 0);
  int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(sock, 0);
  sockaddr_un addr{.sun_family = AF_UNIX, .sun_path = {}};
  std::string sock_path = root_ + "/sub/sock";
  ASSERT_LT(sock_path.size(), sizeof addr.sun_path);
  sock_path.copy(addr.sun_path, sock_path.size());
  ASSERT_EQ(::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ::close(sock);
  r = copy_in(root_, "/", {.keep_modes = true}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().to_string(),
            "/sub/sock is a socket: layers may hold only files, directories and links");
}

TEST_F(HostTreeTest, NamesThatAreNotUtf8AreRefusedAndShownEscaped) {
  struct Case {
    std::string name, shown;
  };
  for (const Case& c : {Case{"bad\xff", "bad\\xff"}, Case{"sur\xed\xa0\x80", "sur\\xed\\xa0\\x80"},
                        Case{"over\xc0\xaf", "over\\xc0\\xaf"}}) {
    std::string path = root_ + "/sub/" + c.name;
    ASSERT_TRUE(write_file(path, "x").ok());
    auto r = copy_in(root_, "/", {.keep_modes = true}, {});
    ASSERT_FALSE(r.ok()) << c.shown;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidInput);
    EXPECT_EQ(r.error().to_string(),
              "/sub/" + c.shown + ": the name is not valid UTF-8 (bad bytes shown as \\xHH)");
    ASSERT_EQ(::unlink(path.c_str()), 0);
  }
  // A valid name keeps its characters; only the bad bytes are escaped.
  ASSERT_EQ(::mkdir((root_ + "/caf\xc3\xa9").c_str(), 0755), 0);
  ASSERT_TRUE(write_file(root_ + "/caf\xc3\xa9/\xfe", "x").ok());
  auto r = copy_in(root_, "/", {.keep_modes = true}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().to_string(),
            "/caf\xc3\xa9/\\xfe: the name is not valid UTF-8 (bad bytes shown as \\xHH)");
}

TEST_F(HostTreeTest, SymlinkTargetThatIsNotUtf8IsRefused) {
  ASSERT_EQ(::symlink("to\xff", (root_ + "/sub/bad-link").c_str()), 0);
  auto r = copy_in(root_, "/", {.keep_modes = true}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().to_string(),
            "/sub/bad-link: the symlink's target 'to\\xff' is not valid UTF-8");
}

TEST_F(HostTreeTest, PathsLongerThanLinuxAllowsAreRefused) {
  // 20 directories of 200 bytes, then a file that makes the path 4096 bytes with its '/':
  // one more than a Linux path may have. The file is made relative to its directory, since
  // its host path is longer than PATH_MAX.
  std::string component(200, 'd');
  std::string rel;
  for (int i = 0; i < 20; ++i) rel += "/" + component;
  ASSERT_TRUE(make_dirs(root_ + "/sub" + rel).ok());
  std::string name(4096 - rel.size() - 1, 'f');
  UniqueFd dir(::open((root_ + "/sub" + rel).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(dir.valid());
  UniqueFd f(::openat(dir.get(), name.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
  ASSERT_TRUE(f.valid());
  auto r = copy_in(root_ + "/sub", "/", {.keep_modes = true}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidInput);
  EXPECT_EQ(r.error().to_string(),
            ("/" + component).substr(0, 64) + "...: the path is 4096 bytes long; at most 4095 fit");
}

}  // namespace
}  // namespace strata::builder
