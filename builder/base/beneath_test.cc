// The one module that keeps paths beneath a root: every case runs through openat2 (where
// the kernel has it) and through the fd walk, which must refuse exactly the same paths.
#include "builder/base/beneath.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "builder/base/fs.h"
#include "builder/base/path.h"

namespace strata {
namespace {

using Parts = std::vector<std::string>;

std::string temp_parent() {
  const char* tmp = std::getenv("TMPDIR");
  return tmp && *tmp ? tmp : "/tmp";
}

class Beneath : public ::testing::TestWithParam<Resolve> {
 protected:
  void SetUp() override {
    if (GetParam() == Resolve::kAuto && !has_openat2()) {
      // Still worth running: kAuto takes the walk here, as it will on such hosts.
      RecordProperty("openat2", "unavailable");
    }
    dir_ = std::move(*TempDir::create(temp_parent(), "strata-beneath-"));
    ASSERT_TRUE(make_dirs(root()).ok());
    ASSERT_TRUE(make_dirs(outside()).ok());
    ASSERT_TRUE(write_file(outside() + "/secret", "secret").ok());
    root_fd_ = std::move(*open_fd(root(), O_RDONLY | O_DIRECTORY));
  }

  std::string root() const { return dir_.path() + "/root"; }
  std::string outside() const { return dir_.path() + "/outside"; }
  void symlink(const std::string& target, const std::string& rel) const {
    ASSERT_EQ(::symlink(target.c_str(), (root() + "/" + rel).c_str()), 0) << rel;
  }
  bool exists(const std::string& path) const {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0;
  }

  Result<UniqueFd> open(std::string_view path, int flags = O_RDONLY, int mode = 0) const {
    return open_beneath(root_fd_.get(), path, flags, mode, GetParam());
  }
  std::string error_of(std::string_view path, int flags = O_RDONLY, int mode = 0) const {
    Result<UniqueFd> fd = open(path, flags, mode);
    return fd.ok() ? "opened" : fd.error().message();
  }
  std::string read(int fd) const {
    char buf[64];
    ssize_t n = ::pread(fd, buf, sizeof buf, 0);
    return n < 0 ? "error" : std::string(buf, static_cast<size_t>(n));
  }

  TempDir dir_ = std::move(*TempDir::create(temp_parent(), "strata-beneath-unused-"));
  UniqueFd root_fd_;
};

std::string resolver_name(const ::testing::TestParamInfo<Resolve>& p) {
  return p.param == Resolve::kAuto ? "Openat2" : "Walk";
}

INSTANTIATE_TEST_SUITE_P(Resolvers, Beneath, ::testing::Values(Resolve::kAuto, Resolve::kWalk),
                         resolver_name);

TEST_P(Beneath, OpensAndCreatesBelowTheRoot) {
  ASSERT_TRUE(make_dirs(root() + "/a/b").ok());
  ASSERT_TRUE(write_file(root() + "/a/b/f", "data").ok());
  Result<UniqueFd> fd = open("a/b/f");
  ASSERT_TRUE(fd.ok()) << fd.error().message();
  EXPECT_EQ(read(fd->get()), "data");
  Result<UniqueFd> created = open("a/new", O_WRONLY | O_CREAT | O_EXCL, 0600);
  ASSERT_TRUE(created.ok()) << created.error().message();
  EXPECT_TRUE(exists(root() + "/a/new"));
}

TEST_P(Beneath, EmptyAndDotComponentsAreSkipped) {
  ASSERT_TRUE(make_dirs(root() + "/a/b").ok());
  ASSERT_TRUE(write_file(root() + "/a/b/f", "data").ok());
  EXPECT_EQ(error_of("./a//./b/f"), "opened");
  // No components: the root itself.
  Result<UniqueFd> top = open(".", O_RDONLY | O_DIRECTORY);
  ASSERT_TRUE(top.ok()) << top.error().message();
  EXPECT_EQ(*list_dir(top->get()), Parts{"a"});
  EXPECT_EQ(error_of(""), "opened");
}

TEST_P(Beneath, RefusesDotDotAndAbsolutePaths) {
  EXPECT_EQ(error_of("../outside/secret"), "path '../outside/secret' leaves the root (..)");
  ASSERT_TRUE(make_dirs(root() + "/a").ok());
  EXPECT_EQ(error_of("a/../../outside/secret"),
            "path 'a/../../outside/secret' leaves the root (..)");
  EXPECT_EQ(error_of(outside() + "/secret"), "absolute path '" + outside() + "/secret'");
}

TEST_P(Beneath, RefusesASymlinkToOutsideAsADirectory) {
  symlink(outside(), "link");
  EXPECT_EQ(error_of("link/secret"), "'link' is a symlink: symlinks are never followed");
  // Creating below it makes nothing outside.
  Result<UniqueFd> dir =
      open_dir_beneath(root_fd_.get(), Parts{"link", "made"}, /*create=*/true, GetParam());
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.error().message(), "'link' is a symlink: symlinks are never followed");
  EXPECT_FALSE(exists(outside() + "/made"));
  EXPECT_EQ(error_of("link/new", O_WRONLY | O_CREAT, 0644),
            "'link' is a symlink: symlinks are never followed");
  EXPECT_FALSE(exists(outside() + "/new"));
}

TEST_P(Beneath, RefusesSymlinksThatStayInsideToo) {
  // Following one would be safe with openat2 but not in the walk: both refuse, so a path
  // means the same thing on every kernel.
  ASSERT_TRUE(make_dirs(root() + "/real").ok());
  ASSERT_TRUE(write_file(root() + "/real/f", "x").ok());
  symlink("real", "alias");
  EXPECT_EQ(error_of("alias/f"), "'alias' is a symlink: symlinks are never followed");
  symlink("/", "slash");
  EXPECT_EQ(error_of("slash/etc/passwd"), "'slash' is a symlink: symlinks are never followed");
  symlink("/proc/self/root", "magic");
  EXPECT_EQ(error_of("magic/etc/passwd"), "'magic' is a symlink: symlinks are never followed");
}

TEST_P(Beneath, RefusesChainsOfSymlinks) {
  ASSERT_TRUE(make_dirs(root() + "/d").ok());
  symlink(outside(), "d/last");
  symlink("d/last", "middle");
  symlink("middle", "first");
  EXPECT_EQ(error_of("first/secret"), "'first' is a symlink: symlinks are never followed");
  EXPECT_EQ(error_of("d/last/secret"), "'d/last' is a symlink: symlinks are never followed");
  // A loop is refused the same way, not reported as ELOOP from deep inside.
  symlink("loop2", "loop1");
  symlink("loop1", "loop2");
  EXPECT_EQ(error_of("loop1/x"), "'loop1' is a symlink: symlinks are never followed");
}

TEST_P(Beneath, NeverFollowsASymlinkAsTheLastComponent) {
  symlink(outside() + "/secret", "existing");
  symlink(outside() + "/victim", "dangling");
  // Reading through it, truncating its target, or creating where it dangles: all refused.
  EXPECT_EQ(error_of("existing"), "'existing' is a symlink: symlinks are never followed");
  EXPECT_EQ(error_of("existing", O_WRONLY | O_TRUNC),
            "'existing' is a symlink: symlinks are never followed");
  EXPECT_EQ(error_of("dangling", O_WRONLY | O_CREAT, 0644),
            "'dangling' is a symlink: symlinks are never followed");
  EXPECT_FALSE(exists(outside() + "/victim"));
  EXPECT_EQ(*read_file(outside() + "/secret"), "secret");
  // O_EXCL: the name is taken.
  Result<UniqueFd> excl = open("dangling", O_WRONLY | O_CREAT | O_EXCL, 0644);
  ASSERT_FALSE(excl.ok());
  EXPECT_EQ(excl.error().sys_errno(), EEXIST);
  EXPECT_FALSE(exists(outside() + "/victim"));
}

TEST_P(Beneath, RefusesPathsThroughAFile) {
  ASSERT_TRUE(write_file(root() + "/f", "x").ok());
  EXPECT_EQ(error_of("f/g"), "'f' is not a directory");
  Result<UniqueFd> dir = open_dir_beneath(root_fd_.get(), Parts{"f", "g"}, true, GetParam());
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.error().message(), "'f' is not a directory");
  Result<UniqueFd> as_dir = open_dir_beneath(root_fd_.get(), Parts{"f"}, false, GetParam());
  ASSERT_FALSE(as_dir.ok());
  EXPECT_EQ(as_dir.error().message(), "'f' is not a directory");
}

TEST_P(Beneath, MissingPathsAreSystemErrors) {
  Result<UniqueFd> fd = open("no/such");
  ASSERT_FALSE(fd.ok());
  EXPECT_EQ(fd.error().sys_errno(), ENOENT);
  Result<UniqueFd> dir = open_dir_beneath(root_fd_.get(), Parts{"no"}, false, GetParam());
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.error().sys_errno(), ENOENT);
}

TEST_P(Beneath, OpensPathsLongerThanPathMax) {
  // 300 components of 20 bytes: 6300 bytes, beyond PATH_MAX (4096), which openat2 refuses
  // (ENAMETOOLONG) and the walk handles one component at a time.
  Parts deep(300, std::string(20, 'd'));
  Result<UniqueFd> dir = open_dir_beneath(root_fd_.get(), deep, true, GetParam());
  ASSERT_TRUE(dir.ok()) << dir.error().message();
  deep.push_back("leaf");
  Result<UniqueFd> leaf =
      open_beneath(root_fd_.get(), deep, O_WRONLY | O_CREAT | O_EXCL, 0600, GetParam());
  ASSERT_TRUE(leaf.ok()) << leaf.error().message();
  Result<UniqueFd> again = open_beneath(root_fd_.get(), deep, O_RDONLY, 0, GetParam());
  EXPECT_TRUE(again.ok()) << again.error().message();
  // One component longer than NAME_MAX is the kernel's error, not ours.
  Result<UniqueFd> too_long = open(std::string(300, 'n'));
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.error().sys_errno(), ENAMETOOLONG);
}

TEST_P(Beneath, OddNamesAreOrdinaryComponents) {
  for (std::string name : {"...", ".a", " ", "\n", "a\\b", "\xff\xfe", "-", "..a"}) {
    Parts path{name, name};
    Result<UniqueFd> dir = open_dir_beneath(root_fd_.get(), Parts{name}, true, GetParam());
    ASSERT_TRUE(dir.ok()) << dir.error().message();
    Result<UniqueFd> f =
        open_beneath(root_fd_.get(), path, O_WRONLY | O_CREAT | O_EXCL, 0600, GetParam());
    ASSERT_TRUE(f.ok()) << f.error().message();
    EXPECT_TRUE(exists(root() + "/" + name + "/" + name));
  }
}

TEST_P(Beneath, CreatesMissingDirectoriesOnly) {
  Result<UniqueFd> dir = open_dir_beneath(root_fd_.get(), Parts{"x", "y"}, true, GetParam());
  ASSERT_TRUE(dir.ok()) << dir.error().message();
  EXPECT_TRUE(exists(root() + "/x/y"));
  EXPECT_TRUE(open_dir_beneath(root_fd_.get(), Parts{"x", "y"}, true, GetParam()).ok());
  EXPECT_TRUE(open_dir_beneath(root_fd_.get(), Parts{"x", "y"}, false, GetParam()).ok());
}

// resolve_beneath: symlinks are followed while they stay below the root.
class ResolveBeneath : public Beneath {
 protected:
  std::string real_root() const {
    char* real = ::realpath(root().c_str(), nullptr);
    std::string out = real ? real : "";
    ::free(real);
    return out;
  }
  std::string resolve(std::string_view path) const {
    Result<std::string> r = resolve_beneath(root(), path, GetParam());
    if (!r.ok()) return "error: " + r.error().message();
    return r->starts_with(real_root()) ? "ROOT" + r->substr(real_root().size()) : *r;
  }
};

INSTANTIATE_TEST_SUITE_P(Resolvers, ResolveBeneath,
                         ::testing::Values(Resolve::kAuto, Resolve::kWalk), resolver_name);

TEST_P(ResolveBeneath, FollowsSymlinksThatStayInside) {
  ASSERT_TRUE(make_dirs(root() + "/site/css").ok());
  ASSERT_TRUE(write_file(root() + "/site/css/a.css", "a").ok());
  symlink("site", "www");
  symlink("../site/css", "site/style");
  symlink("style/a.css", "site/main.css");
  EXPECT_EQ(resolve("site/css/a.css"), "ROOT/site/css/a.css");
  EXPECT_EQ(resolve("www/css/a.css"), "ROOT/site/css/a.css");
  EXPECT_EQ(resolve("www/main.css"), "ROOT/site/css/a.css");
  EXPECT_EQ(resolve("www/style"), "ROOT/site/css");
  EXPECT_EQ(resolve("site/../www/./css"), "ROOT/site/css");
  EXPECT_EQ(resolve(""), "ROOT");
  symlink(real_root() + "/site/css", "abs");
  EXPECT_EQ(resolve("abs/a.css"), "ROOT/site/css/a.css");
  EXPECT_EQ(resolve("."), "ROOT");
}

TEST_P(ResolveBeneath, RefusesSymlinksThatLeadOut) {
  symlink(outside(), "etcdir");
  symlink("../outside", "up");
  ASSERT_TRUE(make_dirs(root() + "/d").ok());
  symlink("../../outside/secret", "d/deep");
  std::string r = real_root();
  EXPECT_EQ(resolve("etcdir/secret"),
            "error: 'etcdir' is a symlink to '" + outside() + "', which leads out of " + r);
  EXPECT_EQ(resolve("etcdir"),
            "error: 'etcdir' is a symlink to '" + outside() + "', which leads out of " + r);
  EXPECT_EQ(resolve("up/secret"),
            "error: 'up' is a symlink to '../outside', which leads out of " + r);
  EXPECT_EQ(resolve("d/deep"),
            "error: 'd/deep' is a symlink to '../../outside/secret', which leads out of " + r);
  EXPECT_EQ(resolve("../outside/secret"), "error: '..' leads out of " + r);
  EXPECT_EQ(resolve("d/../../outside"), "error: '..' leads out of " + r);
}

TEST_P(ResolveBeneath, NamesMissingPathsLoopsAndFiles) {
  ASSERT_TRUE(write_file(root() + "/f", "x").ok());
  symlink("loop", "loop");
  EXPECT_EQ(resolve("missing/x"), "error: 'missing' does not exist");
  EXPECT_EQ(resolve("f/x"), "error: 'f' is not a directory");
  EXPECT_EQ(resolve("loop"), "error: 'loop': too many levels of symlinks");
}

TEST(OpenSubdir, RefusesSymlinksAndFiles) {
  TempDir dir = std::move(*TempDir::create(temp_parent(), "strata-beneath-"));
  ASSERT_TRUE(make_dirs(dir.path() + "/d").ok());
  ASSERT_TRUE(write_file(dir.path() + "/f", "").ok());
  ASSERT_EQ(::symlink("d", (dir.path() + "/l").c_str()), 0);
  UniqueFd fd = std::move(*open_fd(dir.path(), O_RDONLY | O_DIRECTORY));
  EXPECT_TRUE(open_subdir(fd.get(), "d").ok());
  EXPECT_EQ(open_subdir(fd.get(), "l").error().message(),
            "'l' is a symlink: symlinks are never followed");
  EXPECT_EQ(open_subdir(fd.get(), "f").error().message(), "'f' is not a directory");
}

TEST(RemoveBeneath, RemovesTreesWithoutFollowingSymlinks) {
  TempDir dir = std::move(*TempDir::create(temp_parent(), "strata-beneath-"));
  ASSERT_TRUE(make_dirs(dir.path() + "/keep").ok());
  ASSERT_TRUE(write_file(dir.path() + "/keep/f", "x").ok());
  ASSERT_TRUE(make_dirs(dir.path() + "/gone/sub").ok());
  ASSERT_EQ(::symlink("../../keep", (dir.path() + "/gone/sub/l").c_str()), 0);
  ASSERT_EQ(::chmod((dir.path() + "/gone/sub").c_str(), 0500), 0);
  UniqueFd fd = std::move(*open_fd(dir.path(), O_RDONLY | O_DIRECTORY));
  ASSERT_TRUE(remove_beneath(fd.get(), "gone").ok());
  EXPECT_TRUE(remove_beneath(fd.get(), "missing").ok());
  EXPECT_EQ(*list_dir(fd.get()), Parts{"keep"});
  EXPECT_EQ(*read_file(dir.path() + "/keep/f"), "x");
}

TEST(ListDir, SortedWithoutDotEntries) {
  TempDir dir = std::move(*TempDir::create(temp_parent(), "strata-beneath-"));
  for (const char* name : {"b", "a", "C", ".hidden"}) {
    ASSERT_TRUE(write_file(dir.path() + "/" + name, "").ok());
  }
  Parts expected{".hidden", "C", "a", "b"};
  EXPECT_EQ(*list_dir(dir.path()), expected);
  UniqueFd fd = std::move(*open_fd(dir.path(), O_RDONLY | O_DIRECTORY));
  EXPECT_EQ(*list_dir(fd.get()), expected);
  Result<Parts> missing = list_dir(dir.path() + "/missing");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message(),
            "open directory " + dir.path() + "/missing: No such file or directory");
}

}  // namespace
}  // namespace strata
