// libFuzzer target for the qcow2 create hook (qcow2_create.cc): random -o
// text and virtual sizes through ParseMeasureOptions() and the hook into a
// MemoryDevice bounded at 32 MiB (a full disk), for 5.2, 7.2, 10.0 and
// 11.1. No crash, no sanitizer report, the writer's arena given back, an
// error worded within its buffer, and every image it makes opens with the
// engine's qcow2 reader and checks with no corruption and no leak.
//
// Input layout: byte 0 picks the version, byte 1 shifts the little-endian
// 8-byte size after it right by (byte 1 & 63); the rest is the -o text.
// Seeds: engine/qcow2/testdata/create-fuzz/ (ci/fuzz); kept crashers go
// there too, named fuzz-*, and qcow2_create_fuzz_regression_test.cc
// replays every file there.
#include "qcow2/qcow2_create_fuzz_body.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return instar::qcow2_create_fuzz::CreateFuzzOne(data, size);
}
