// libFuzzer target: the vhdx writer (vhdx_create.cc) over random options
// and sizes; see testing/create_fuzz.h for the input layout and what must
// hold. Build with clang and -DINSTAR_FUZZ=ON; run as vhdx_create_fuzz
// [corpus dir].
#include "testing/create_fuzz.h"
#include "vhdx/vhdx_create.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return instar::testing::FuzzCreateHook(instar::ImageFormat::kVhdx, "fuzz.vhdx", 9, data, size,
                                         instar::vhdx::QemuRefusesCreatedImage);
}
