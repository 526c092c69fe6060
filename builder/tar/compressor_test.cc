#include "builder/tar/compressor.h"

#include <gtest/gtest.h>
#include <zlib.h>
#include <zstd.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "builder/base/digest.h"
#include "tests/support/test_util.h"

namespace strata::builder {
namespace {

// Half text-like (compressible), half pseudo-random (incompressible), like a real tree.
std::string sample(size_t size, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out;
  out.reserve(size);
  const char* words[] = {"layer ", "strata ", "deterministic ", "gzip ", "block ", "tar "};
  while (out.size() < size) {
    if ((out.size() / 100000) % 2 == 0) {
      out += words[rng() % 6];
    } else {
      out.push_back(static_cast<char>(rng()));
    }
  }
  out.resize(size);
  return out;
}

// Compresses `input` pushed in pieces of `chunk` bytes.
std::string compress(const CompressorOptions& options, const std::string& input, size_t chunk) {
  std::string out;
  auto c = start_compressor(options, [&](const void* d, size_t n) {
    out.append(static_cast<const char*>(d), n);
    return true;
  });
  STRATA_CHECK(c.ok());
  for (size_t off = 0; off < input.size(); off += chunk) {
    STRATA_CHECK((*c)->push(input.data() + off, std::min(chunk, input.size() - off)));
  }
  STRATA_CHECK((*c)->finish().ok());
  return out;
}

// Every gzip member in turn, as gzip(1) and Go's gzip.Reader read them; counts the members.
std::string gunzip(const std::string& in, int* members = nullptr) {
  std::string out;
  size_t pos = 0;
  int count = 0;
  while (pos < in.size()) {
    z_stream z{};
    EXPECT_EQ(inflateInit2(&z, 16 + MAX_WBITS), Z_OK);
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + pos));
    z.avail_in = static_cast<uInt>(in.size() - pos);
    int rc = Z_OK;
    char buf[65536];
    while (rc == Z_OK) {
      z.next_out = reinterpret_cast<Bytef*>(buf);
      z.avail_out = sizeof buf;
      rc = inflate(&z, Z_NO_FLUSH);
      out.append(buf, sizeof buf - z.avail_out);
    }
    EXPECT_EQ(rc, Z_STREAM_END);
    pos = in.size() - z.avail_in;
    inflateEnd(&z);
    ++count;
    if (rc != Z_STREAM_END) break;
  }
  if (members) *members = count;
  return out;
}

std::string unzstd(const std::string& in) {
  std::string out;
  ZSTD_DCtx* d = ZSTD_createDCtx();
  ZSTD_inBuffer src{in.data(), in.size(), 0};
  std::string buf(ZSTD_DStreamOutSize(), '\0');
  size_t rc = 1;
  while (src.pos < src.size) {
    ZSTD_outBuffer dst{buf.data(), buf.size(), 0};
    rc = ZSTD_decompressStream(d, &dst, &src);
    if (ZSTD_isError(rc)) break;
    out.append(buf.data(), dst.pos);
  }
  EXPECT_EQ(rc, 0u) << "zstd stream incomplete or corrupt";
  ZSTD_freeDCtx(d);
  return out;
}

// Runs `tool -t` on the bytes, as the e2e client tests do on whole layers.
void expect_tool_accepts(const std::string& tool, const std::string& bytes) {
  if (std::system(("command -v " + tool + " >/dev/null 2>&1").c_str()) != 0) {
    GTEST_SKIP() << tool << " is not installed";
  }
  // A directory of its own: CTest runs the gzip and zstd cases as parallel processes, and a
  // shared file name let one overwrite the other's input mid-check.
  TempDir dir = strata::testing::make_temp_dir("strata-compressor-test-");
  std::string path = dir.path() + "/compressed";
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
  EXPECT_EQ(std::system((tool + " -q -t " + path).c_str()), 0) << tool << " -t rejects it";
}

const size_t kBlock = kGzipBlockBytes;

TEST(ParallelGzip, SameBytesForAnyJobCountAndPushSize) {
  for (size_t size :
       {size_t{0}, size_t{1}, kBlock - 1, kBlock, kBlock + 1, 5 * kBlock / 2, 7 * kBlock}) {
    std::string input = sample(size, static_cast<uint32_t>(size));
    std::string first = compress({.compression = Compression::kGzip, .jobs = 1}, input, 65536);
    for (int64_t jobs : {1, 2, 8}) {
      for (size_t chunk : {size_t{512}, size_t{65536}, size_t{3 * kBlock}}) {
        EXPECT_EQ(
            sha256_of(compress({.compression = Compression::kGzip, .jobs = jobs}, input, chunk)),
            sha256_of(first))
            << "size " << size << ", jobs " << jobs << ", pushes of " << chunk;
      }
    }
    int members = 0;
    EXPECT_TRUE(gunzip(first, &members) == input) << "size " << size;
    // One member per started block; an empty stream is one empty member.
    EXPECT_EQ(members, std::max<int>(1, static_cast<int>((size + kBlock - 1) / kBlock)));
  }
}

TEST(ParallelGzip, EveryMemberHasAFixedHeader) {
  std::string out =
      compress({.compression = Compression::kGzip, .jobs = 2}, sample(kBlock + 1, 1), 65536);
  // ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=0 OS=3: no name, no time, nothing from the
  // machine; in the first member and in the second (which starts after the first's trailer).
  const std::string header("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10);
  EXPECT_EQ(out.substr(0, 10), header);
  int members = 0;
  gunzip(out, &members);
  ASSERT_EQ(members, 2);
  EXPECT_NE(out.find(header, 10), std::string::npos);
}

TEST(ParallelGzip, IncompressibleInputStaysNearItsSize) {
  std::string input;
  std::mt19937 rng(7);
  for (size_t i = 0; i < 3 * kBlock; ++i) input.push_back(static_cast<char>(rng()));
  std::string out = compress({.compression = Compression::kGzip, .jobs = 2}, input, 65536);
  EXPECT_LT(out.size(), input.size() + input.size() / 100);
  EXPECT_TRUE(gunzip(out) == input);
}

TEST(ParallelGzip, GzipToolAcceptsTheMembers) {
  expect_tool_accepts("gzip", compress({.compression = Compression::kGzip, .jobs = 2},
                                       sample(3 * kBlock + 5, 3), 65536));
}

TEST(ParallelGzip, SizeIsCloseToZlibLevel6) {
  std::string input = sample(8 * kBlock, 11);
  std::string ours = compress({.compression = Compression::kGzip, .jobs = 2}, input, 65536);
  std::string zlib(compressBound(static_cast<uLong>(input.size())), '\0');
  uLongf n = zlib.size();
  ASSERT_EQ(compress2(reinterpret_cast<Bytef*>(zlib.data()), &n,
                      reinterpret_cast<const Bytef*>(input.data()), input.size(), 6),
            Z_OK);
  EXPECT_LT(static_cast<double>(ours.size()), 1.03 * static_cast<double>(n));
}

TEST(ParallelGzip, SinkRefusalStopsIt) {
  auto c = start_compressor({.compression = Compression::kGzip, .jobs = 2},
                            [](const void*, size_t) { return false; });
  ASSERT_TRUE(c.ok());
  std::string input = sample(8 * kBlock, 5);
  bool pushed = true;
  for (size_t off = 0; off < input.size() && pushed; off += 65536) {
    pushed = (*c)->push(input.data() + off, 65536);
  }
  EXPECT_FALSE(pushed && (*c)->finish().ok());
}

TEST(Zstd, SameBytesForAnyWorkerCountAndPushSize) {
  // Beyond libzstd's job size at level 3, so several jobs run in parallel; 40 MiB is a
  // multiple of it (the last section may or may not be handed to a worker before the end).
  for (size_t size : {size_t{0}, size_t{1000}, 40 * kBlock, 40 * kBlock + 1}) {
    std::string input = sample(size, 9);
    std::string first = compress({.compression = Compression::kZstd, .jobs = 1}, input, 65536);
    for (int64_t jobs : {1, 2, 8}) {
      for (size_t chunk : {size_t{4096}, size_t{65536}, size_t{5 * kBlock}, 41 * kBlock}) {
        EXPECT_EQ(
            sha256_of(compress({.compression = Compression::kZstd, .jobs = jobs}, input, chunk)),
            sha256_of(first))
            << "size " << size << ", jobs " << jobs << ", pushes of " << chunk;
      }
    }
    EXPECT_TRUE(unzstd(first) == input) << "size " << size;
  }
}

TEST(Zstd, ZstdToolAcceptsTheFrame) {
  expect_tool_accepts("zstd", compress({.compression = Compression::kZstd, .jobs = 2},
                                       sample(3 * kBlock, 4), 65536));
}

TEST(Det1, LibarchiveStreamsStillDecode) {
  std::string input = sample(2 * kBlock + 3, 8);
  for (Compression c : {Compression::kGzip, Compression::kZstd}) {
    CompressorOptions o{.compression = c, .profile = DeterminismProfile::kDet1, .jobs = 8};
    std::string out = compress(o, input, 65536);
    EXPECT_TRUE((c == Compression::kGzip ? gunzip(out) : unzstd(out)) == input);
    EXPECT_TRUE(compress(o, input, 4096) == out);
  }
  int members = 0;
  gunzip(compress({.compression = Compression::kGzip, .profile = DeterminismProfile::kDet1}, input,
                  65536),
         &members);
  EXPECT_EQ(members, 1) << "strata-det/1 gzip is one member";
}

TEST(Profile, NamesParseBack) {
  for (DeterminismProfile p : {DeterminismProfile::kDet1, DeterminismProfile::kDet2}) {
    EXPECT_EQ(*parse_profile(profile_name(p)), p);
  }
  EXPECT_EQ(profile_name(kCurrentProfile), "strata-det/2");
  auto unknown = parse_profile("strata-det/9");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message().find("strata-det/9"), std::string::npos);
}

}  // namespace
}  // namespace strata::builder
