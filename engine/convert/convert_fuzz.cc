// libFuzzer target: the convert planner (instar/engine/convert.h) over
// random images into every target format; see convert_fuzz_body.h for the
// input layout and what must hold. Build with clang and -DINSTAR_FUZZ=ON;
// run as convert_fuzz [corpus dir].
#include <cstdio>
#include <cstdlib>

#include "convert/convert_fuzz_body.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string failure = instar::convert_fuzz::RunConvertFuzzInput(data, size);
  if (!failure.empty()) {
    std::fprintf(stderr, "%s\n", failure.c_str());
    std::abort();
  }
  return 0;
}
