// Fuzz target for the spec parser: any bytes must give a Spec or diagnostics, never a crash,
// an exception or a hang. Built with -DSTRATA_FUZZ=ON (libFuzzer under clang; elsewhere a
// main() that replays the files named on its command line).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "specs/parse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view yaml(reinterpret_cast<const char*>(data), size);
  // No file checks: the fuzzer explores the grammar, not the filesystem.
  strata::specs::ParseResult result = strata::specs::parse_spec_diagnostics(
      yaml, "fuzz.yaml", "/nonexistent", {.check_files = false});
  // Formatting exercises the caret code on arbitrary lines and columns.
  (void)strata::specs::format_report(result.diagnostics, yaml);
  return 0;
}

#ifdef STRATA_FUZZ_MAIN
// Without libFuzzer: `strata_specs_fuzz FILE...` replays the files, and
// `strata_specs_fuzz --mutate SECONDS --seed N FILE...` runs a small deterministic mutation
// fuzzer over them for SECONDS (CTest specs_fuzz runs it on examples/, also under ASan).
// A crash or sanitizer report names the seed and iteration to replay it with.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "builder/base/fs.h"

namespace {

// xorshift64*: the same mutants on every machine for one seed.
struct Rng {
  uint64_t state;
  uint64_t next() {
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 2685821657736338717ULL;
  }
  size_t below(size_t n) { return n == 0 ? 0 : static_cast<size_t>(next() % n); }
};

// Pieces of YAML that make the parser take its rarer paths.
const char* const kTokens[] = {
    ": ",  "- ",   "[",    "]",        "{",        "}",       ", ",
    "&a ", "*a",   "<<: ", "\t",       "\n",       "\n  ",    "'",
    "\"",  "#",    "!!",   "---\n",    "...",      "\xff",    "\xed\xa0\x80",
    "~",   "null", "0644", "- {src: ", "sha256: ", "steps: ", "? ",
    "|\n", ">-\n"};

void mutate(Rng& rng, std::string& s, const std::vector<std::string>& corpus) {
  int rounds = 1 + static_cast<int>(rng.below(8));
  for (int i = 0; i < rounds; ++i) {
    size_t pos = rng.below(s.size() + 1);
    switch (rng.below(6)) {
      case 0:  // flip a bit
        if (!s.empty()) s[rng.below(s.size())] ^= static_cast<char>(1 << rng.below(8));
        break;
      case 1:  // insert a random byte
        s.insert(pos, 1, static_cast<char>(rng.below(256)));
        break;
      case 2:  // delete a range
        s.erase(pos, rng.below(32));
        break;
      case 3: {  // duplicate a range
        size_t len = std::min(s.size() - std::min(pos, s.size()), rng.below(64));
        s.insert(pos, s.substr(pos, len));
        break;
      }
      case 4:  // insert a token
        s.insert(pos, kTokens[rng.below(sizeof kTokens / sizeof *kTokens)]);
        break;
      default: {  // splice in a piece of another corpus file
        const std::string& other = corpus[rng.below(corpus.size())];
        size_t from = rng.below(other.size() + 1);
        s.insert(pos, other.substr(from, rng.below(128)));
        break;
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 0;
  uint64_t seed = 1;
  std::vector<std::string> corpus;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--mutate" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else if (arg == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else {
      strata::Result<std::string> text = strata::read_file(arg);
      if (!text.ok()) {
        std::fprintf(stderr, "%s\n", text.error().message().c_str());
        return 1;
      }
      corpus.push_back(*text);
    }
  }
  for (const std::string& text : corpus) {
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(text.data()), text.size());
  }
  if (seconds <= 0 || corpus.empty()) return 0;
  Rng rng{seed * 0x9E3779B97F4A7C15ULL + 1};
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  uint64_t iterations = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    std::string input = corpus[rng.below(corpus.size())];
    mutate(rng, input, corpus);
    ++iterations;
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
  }
  std::printf("fuzz_parse: %llu mutants of %zu files (seed %llu), no crash\n",
              static_cast<unsigned long long>(iterations), corpus.size(),
              static_cast<unsigned long long>(seed));
  return 0;
}
#endif
