// libFuzzer target for engine/measure: option text, sizes and source block
// status in, no crash, no sanitizer report, and these invariants out:
//  * a successful measure has required <= fully_allocated (qemu's required
//    is the fully allocated size minus unneeded data clusters);
//  * FormatMeasureError() reports the length it needs and writes within the
//    buffer it gets;
//  * StrToULL()/StrToD() agree with glibc's strtoull()/strtod(), the
//    functions qemu-img calls (the fuzzer build is hosted).
//
// Input layout: byte 0 picks the qemu version, byte 1 the target format and
// mode; then "SIZE\nOPTIONS\nRUNS": RUNS are 5-byte records (flags, 4-byte
// length) describing a source image's block status.
#include "measure/measure_fuzz_body.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return instar::measure_fuzz::MeasureFuzzOne(data, size);
}
