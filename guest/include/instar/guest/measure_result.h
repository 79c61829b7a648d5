// The result of Operation::kMeasure: what `qemu-img measure` prints.
//
// A successful stream holds, at top level and in this order:
//   kTagWarnings       bytes "qemu-img: warning: ..." lines qemu printed on
//                            stderr while it parsed -o (6.x/7.x's hex-suffix
//                            warning); only when there are any
//   kTagRequired       u64   "required size"
//   kTagFullyAllocated u64   "fully allocated size"
//   kTagBitmaps        u64   "bitmaps size"; only when qemu would print it
//                            (its BlockMeasureInfo.has_bitmaps)
// A failed one holds the abi kTagError object instead, whose message starts
// with those warning lines when qemu printed them before it failed. Tags 1-3
// are abi's.
#ifndef INSTAR_GUEST_MEASURE_RESULT_H_
#define INSTAR_GUEST_MEASURE_RESULT_H_

#include <cstdint>

namespace instar::measure_result {

constexpr uint16_t kTagRequired = 16;
constexpr uint16_t kTagFullyAllocated = 17;
constexpr uint16_t kTagBitmaps = 18;
constexpr uint16_t kTagWarnings = 19;

}  // namespace instar::measure_result

#endif  // INSTAR_GUEST_MEASURE_RESULT_H_
