// The result of Operation::kDd: what `qemu-img dd` printed on success.
//
// A stream holds, at top level:
//   kTagWarning      bytes, at most once: "qemu-img: IN: cannot skip to
//                    specified offset", which img_dd() prints when skip=
//                    is past the input's end (and then writes an empty
//                    image and exits 0)
//   kTagNoOutput     bool, at most once: the run stopped where
//                    bdrv_create() opens of= (abi::kDdNoOutput); the host
//                    prints why it could not create the file, and qemu's
//                    "OUT: error while creating output image: " before it
//   kTagBlocks       u64, once on success: the blocks copied
// Any failure (the input cannot be opened, an unknown -O, the driver's
// refusal, a read or write error) is the abi kTagError object, in qemu's
// words; the host then removes the output instead of renaming it. Tags 1-3
// are abi's.
#ifndef INSTAR_GUEST_DD_RESULT_H_
#define INSTAR_GUEST_DD_RESULT_H_

#include <cstdint>

namespace instar::dd_result {

constexpr uint16_t kTagWarning = 16;
constexpr uint16_t kTagNoOutput = 17;
constexpr uint16_t kTagBlocks = 18;

}  // namespace instar::dd_result

#endif  // INSTAR_GUEST_DD_RESULT_H_
