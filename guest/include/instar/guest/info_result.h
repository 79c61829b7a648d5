// The result of Operation::kInfo: what `qemu-img info` prints about one
// image. The host walks a backing chain itself, one run per image.
//
// A successful stream holds, at top level:
//   kTagFormat       bytes  qemu's driver name ("qcow2", "raw" ...)
//   kTagVirtualSize  u64    guest-visible size in bytes
// A failed one holds the abi kTagError object instead. Tags 1-3 are abi's;
// new tags are added here as the info operation grows.
#ifndef INSTAR_GUEST_INFO_RESULT_H_
#define INSTAR_GUEST_INFO_RESULT_H_

#include <cstdint>

namespace instar::info_result {

constexpr uint16_t kTagFormat = 16;
constexpr uint16_t kTagVirtualSize = 17;

}  // namespace instar::info_result

#endif  // INSTAR_GUEST_INFO_RESULT_H_
