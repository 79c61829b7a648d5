// libFuzzer target: the qcow2 guest-data writer (qcow2_write.cc) over
// random images and writes, compressed ones among them; see
// testing/write_fuzz.h for the input layout and what must hold. Build with
// clang and -DINSTAR_FUZZ=ON; run as qcow2_write_fuzz [corpus dir].
#include "testing/write_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return instar::testing::FuzzWriter(instar::ImageFormat::kQcow2, data, size);
}
