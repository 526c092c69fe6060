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
#include <cstdio>

#include "builder/base/fs.h"

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    strata::Result<std::string> text = strata::read_file(argv[i]);
    if (!text.ok()) {
      std::fprintf(stderr, "%s\n", text.error().message().c_str());
      return 1;
    }
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(text->data()), text->size());
  }
  return 0;
}
#endif
