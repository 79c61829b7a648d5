// libFuzzer target for the qcow2 resize and amend hooks (qcow2_resize.cc,
// qcow2_amend.cc): an image made by the create hook from random -o text
// and size, then a random resize (size, --shrink, --preallocation) or
// amend -o text, for 5.2, 7.2, 10.0 and 11.1, all in a MemoryDevice
// bounded at 32 MiB (a full disk). No crash, no sanitizer report, the
// hooks' arena given back, the Status formats, and every image a hook
// reports success for opens with the engine's qcow2 reader and checks with
// no corruption, leak or error.
//
// Input layout: qcow2_modify_fuzz_body.h. Kept crashers go to
// engine/qcow2/testdata/modify-fuzz/, named fuzz-*;
// qcow2_modify_fuzz_regression_test.cc replays every file there.
#include "qcow2/qcow2_modify_fuzz_body.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return instar::qcow2_modify_fuzz::ModifyFuzzOne(data, size);
}
