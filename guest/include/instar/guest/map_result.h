// The result of Operation::kMap: the extents `qemu-img map` prints.
//
// A stream holds, at top level:
//   kTagExtent   bytes, repeated, in order: one extent, packed (below),
//                merged as the JSON output merges them (instar/engine/map.h)
//   kTagFailure  bytes, at most once, after the extents: the walk stopped;
//                the lines qemu-img printed on stderr there ("qemu-img: "
//                error lines, others as they are). The extents before it
//                are the ones qemu-img printed before it failed.
// Without kTagFailure the walk reached its end and the last extent is the
// last one qemu-img prints. An image that cannot be opened gives the abi
// kTagError object instead (qemu-img prints nothing on stdout then).
// Tags 1-3 are abi's.
//
// At most kMaxExtents extents: a walk with more stops there with a
// kTagFailure that says where to go on (--start-offset), so a result is
// bounded by abi::kMaxResult whatever the image.
//
// A kTagExtent record is, little endian:
//   0   u64  start
//   8   u64  length
//   16  u64  offset in the file (only meaningful with kExtentHasOffset)
//   24  u32  depth in the backing chain
//   28  u32  the sandbox device of the file, kNoDevice when none
//   32  u32  flags (kExtent*)
// and nothing after them.
#ifndef INSTAR_GUEST_MAP_RESULT_H_
#define INSTAR_GUEST_MAP_RESULT_H_

#include <cstddef>
#include <cstdint>

namespace instar::map_result {

constexpr uint16_t kTagExtent = 16;
constexpr uint16_t kTagFailure = 17;

constexpr size_t kExtentBytes = 36;
constexpr uint32_t kNoDevice = 0xffffffffu;
constexpr uint32_t kExtentPresent = 1u << 0;
constexpr uint32_t kExtentZero = 1u << 1;
constexpr uint32_t kExtentData = 1u << 2;
constexpr uint32_t kExtentCompressed = 1u << 3;
constexpr uint32_t kExtentHasOffset = 1u << 4;
constexpr uint32_t kExtentKnownFlags = 0x1f;

// 48 bytes a record: 768 KiB of the 1 MiB result, the rest for the failure.
constexpr uint64_t kMaxExtents = 16384;

}  // namespace instar::map_result

#endif  // INSTAR_GUEST_MAP_RESULT_H_
