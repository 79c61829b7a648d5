// The result of Operation::kCheck: what `qemu-img check` prints.
//
// A stream holds, at top level:
//   kTagFormat      bytes  the driver's name (bdrv_get_format_name())
//   kTagLog         bytes  the lines the check printed on stderr, in order,
//                          each ending in '\n' (error_report() lines start
//                          with "qemu-img: "); absent when none. At most
//                          kMaxLogBytes: a longer log is cut at a line's
//                          end and ends with kLogCutLine.
//   then exactly one of
//   kTagNotSupported bool  true: the format has no check (qemu's -ENOTSUP)
//   kTagFailure     bytes  the check returned a negative errno: its
//                          strerror() text; nothing else is printed
//   the counters    u64    kTagCorruptions .. kTagCompressedClusters, each
//                          present (zero or not): qemu's BdrvCheckResult
// An image that cannot be opened, or instar's own failure (the memory
// bound of the refcount rebuild), gives the abi kTagError object instead.
// Tags 1-3 are abi's.
#ifndef INSTAR_GUEST_CHECK_RESULT_H_
#define INSTAR_GUEST_CHECK_RESULT_H_

#include <cstddef>
#include <cstdint>

namespace instar::check_result {

constexpr uint16_t kTagFormat = 16;
constexpr uint16_t kTagLog = 17;
constexpr uint16_t kTagNotSupported = 18;
constexpr uint16_t kTagFailure = 19;
constexpr uint16_t kTagCorruptions = 20;
constexpr uint16_t kTagLeaks = 21;
constexpr uint16_t kTagCheckErrors = 22;
constexpr uint16_t kTagImageEndOffset = 23;
constexpr uint16_t kTagTotalClusters = 24;
constexpr uint16_t kTagAllocatedClusters = 25;
constexpr uint16_t kTagFragmentedClusters = 26;
constexpr uint16_t kTagCompressedClusters = 27;

// Of the 1 MiB result, the log takes at most half.
constexpr size_t kMaxLogBytes = 512 * 1024;
constexpr char kLogCutLine[] = "instar: further lines of the check were left out\n";

}  // namespace instar::check_result

#endif  // INSTAR_GUEST_CHECK_RESULT_H_
