// libFuzzer target: the vpc writer (vpc_create.cc) over random options and
// sizes; see testing/create_fuzz.h for the input layout and what must hold.
// Build with clang and -DINSTAR_FUZZ=ON; run as vpc_create_fuzz [corpus dir].
#include "testing/create_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return instar::testing::FuzzCreateHook(instar::ImageFormat::kVpc, "fuzz.vhd", 8, data, size);
}
