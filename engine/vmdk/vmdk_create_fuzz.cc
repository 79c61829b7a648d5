// libFuzzer target: the vmdk writer (vmdk_create.cc) over random options
// and sizes; see testing/create_fuzz.h for the input layout and what must
// hold. Build with clang and -DINSTAR_FUZZ=ON; run as vmdk_create_fuzz
// [corpus dir].
#include "testing/create_fuzz.h"
#include "vmdk/vmdk_create.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return instar::testing::FuzzCreateHook(instar::ImageFormat::kVmdk, "fuzz.vmdk", 9, data, size,
                                         instar::vmdk::QemuRefusesCreatedImage);
}
