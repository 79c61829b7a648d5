// libFuzzer target: the vpc guest-data writer (vpc_write.cc) over random
// images and writes; see testing/write_fuzz.h for the input layout and
// what must hold. Build with clang and -DINSTAR_FUZZ=ON; run as
// vpc_write_fuzz [corpus dir].
#include "testing/write_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return instar::testing::FuzzWriter(instar::ImageFormat::kVpc, data, size);
}
