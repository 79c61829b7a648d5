// The result of Operation::kCompare: how `qemu-img compare` ended.
//
// A stream holds, at top level:
//   kTagVerdict      u64, once: a CompareVerdict (instar/engine/compare.h),
//                    the line qemu-img printed last on stdout
//   kTagOffset       u64, with a verdict that names one: the offset
//   kTagSizeWarning  bool, at most once: "Warning: Image size mismatch!"
//                    was printed before the verdict or the failure
//   kTagFailure      bytes, at most once, instead of kTagVerdict: the walk
//                    stopped; the lines qemu-img printed on stderr there
//                    ("qemu-img: " error lines)
//   kTagFailureExit  u64, with kTagFailure: qemu-img's exit status then
//                    (3: a block status failed, 4: a read failed or a length
//                    qemu cannot give)
// An image that cannot be opened gives the abi kTagError object instead
// (qemu-img exits 2 then). Tags 1-3 are abi's.
#ifndef INSTAR_GUEST_COMPARE_RESULT_H_
#define INSTAR_GUEST_COMPARE_RESULT_H_

#include <cstdint>

namespace instar::compare_result {

constexpr uint16_t kTagVerdict = 16;
constexpr uint16_t kTagOffset = 17;
constexpr uint16_t kTagSizeWarning = 18;
constexpr uint16_t kTagFailure = 19;
constexpr uint16_t kTagFailureExit = 20;

// The verdicts a result may carry (CompareVerdict's values).
constexpr uint64_t kIdentical = 0;
constexpr uint64_t kContentMismatch = 1;
constexpr uint64_t kStrictSizeMismatch = 2;
constexpr uint64_t kStrictStatusMismatch = 3;

}  // namespace instar::compare_result

#endif  // INSTAR_GUEST_COMPARE_RESULT_H_
