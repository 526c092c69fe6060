#include "builder/debian/version.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace strata::builder::debian {
namespace {

struct Pair {
  const char* a;
  const char* b;
  int expected;  // sign of compare_versions(a, b)
};

// Known orders (deb-version(7) and dpkg's own test suite).
const std::vector<Pair> kPairs = {
    {"1.0", "1.0", 0},
    {"1.0", "1.1", -1},
    {"1.10", "1.9", 1},
    {"1.0~rc1", "1.0", -1},
    {"1.0~~", "1.0~", -1},
    {"1.0~", "1.0", -1},
    {"1.0", "1.0+b1", -1},
    {"1:0.1", "2.0", 1},
    {"0:1.0", "1.0", 0},
    {"1.0-1", "1.0-2", -1},
    {"1.0-1", "1.0", 1},
    {"1.0-0", "1.0", 0},
    {"1.0a", "1.0", 1},
    {"1.0a", "1.0b", -1},
    {"1.0.", "1.0", 1},
    {"1.0+", "1.0.", -1},
    {"2.30-1", "2.30-1+deb12u1", -1},
    {"3.0.11-1~deb12u2", "3.0.11-1", -1},
    {"20230311", "20211016", 1},
    {"7.88.1-10+deb12u5", "7.88.1-10+deb12u12", -1},
    {"1.2.3-1ubuntu1", "1.2.3-1", 1},
    {"001", "1", 0},
    {"1.001", "1.1", 0},
    {"a", "1", 1},
    {"1:1.0-1", "1:1.0-1~bpo1", 1},
    {"2:0", "10:0", -1},
    {"1.0-1.1", "1.0-1.a", -1},
    {"1~", "1~a", -1},
    {"0.9.8k", "0.9.8", 1},
};

int sign(int x) { return x < 0 ? -1 : (x > 0 ? 1 : 0); }

TEST(Version, KnownOrders) {
  for (const Pair& p : kPairs) {
    EXPECT_EQ(sign(compare_versions(p.a, p.b)), p.expected) << p.a << " vs " << p.b;
    EXPECT_EQ(sign(compare_versions(p.b, p.a)), -p.expected) << p.b << " vs " << p.a;
  }
}

// `dpkg --compare-versions A lt B` exit status, or -1 when dpkg cannot run.
int dpkg_lt(const std::string& a, const std::string& b) {
  pid_t pid = fork();
  if (pid == 0) {
    int null_fd = open("/dev/null", O_WRONLY);  // dpkg warns about malformed versions
    if (null_fd >= 0) dup2(null_fd, 2);
    execl("/usr/bin/dpkg", "dpkg", "--compare-versions", a.c_str(), "lt", b.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status) == 127 ? -1 : WEXITSTATUS(status);
}

TEST(Version, AgreesWithDpkg) {
  if (access("/usr/bin/dpkg", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/dpkg on this host";
  std::vector<std::string> versions;
  for (const Pair& p : kPairs) {
    versions.push_back(p.a);
    versions.push_back(p.b);
  }
  for (const char* v : {"1.2.3", "1.2.3-4", "1.2.3~4", "1.2.3+4", "1:1.2", "1.2a-1", "9", "10",
                        "1.0-1~bpo11+1", "1.0-1+b1", "0.0", "1..2", "1.-2"}) {
    versions.push_back(v);
  }
  int compared = 0;
  for (size_t i = 0; i < versions.size(); i += 5) {
    for (size_t j = 0; j < versions.size(); j += 3) {
      int lt = dpkg_lt(versions[i], versions[j]);
      if (lt < 0) GTEST_SKIP() << "dpkg --compare-versions did not run";
      EXPECT_EQ(compare_versions(versions[i], versions[j]) < 0, lt == 0)
          << versions[i] << " lt " << versions[j];
      ++compared;
    }
  }
  EXPECT_GT(compared, 300);
}

TEST(Version, Satisfies) {
  EXPECT_TRUE(version_satisfies("2.0", ">=", "1.0"));
  EXPECT_FALSE(version_satisfies("1.0", ">>", "1.0"));
  EXPECT_TRUE(version_satisfies("1.0", "<=", "1.0"));
  EXPECT_TRUE(version_satisfies("1.0~rc", "<<", "1.0"));
  EXPECT_TRUE(version_satisfies("1:1.0", "=", "1:1.0-0"));
  EXPECT_FALSE(version_satisfies("1.0", "!=", "1.0"));
}

TEST(Version, Validity) {
  EXPECT_TRUE(is_valid_version("1.0-1"));
  EXPECT_TRUE(is_valid_version("1:2.3~rc1+dfsg-4.1"));
  EXPECT_FALSE(is_valid_version(""));
  EXPECT_FALSE(is_valid_version("a1.0"));
  EXPECT_FALSE(is_valid_version("x:1.0"));
  EXPECT_FALSE(is_valid_version("1.0 1"));
  EXPECT_FALSE(is_valid_version("1.0-1_2"));
}

}  // namespace
}  // namespace strata::builder::debian
