// The result of Operation::kResize and Operation::kAmend: what `qemu-img
// resize` and `qemu-img amend` printed beyond their error, for a success.
//
// A stream holds, at top level:
//   kTagWarning  bytes, at most once: the lines qemu printed on stderr when
//                it opened the image (the warning about a probed raw image
//                opened for writing), each ending in a newline.
// A success has no other record: the host prints "Image resized." (resize,
// unless -q) and amend prints nothing. A failure is the abi kTagError
// object, whose text holds those same warning lines before the error line,
// in the order qemu-img printed them. Tags 1-3 are abi's.
#ifndef INSTAR_GUEST_MODIFY_RESULT_H_
#define INSTAR_GUEST_MODIFY_RESULT_H_

#include <cstdint>

namespace instar::modify_result {

constexpr uint16_t kTagWarning = 16;

}  // namespace instar::modify_result

#endif  // INSTAR_GUEST_MODIFY_RESULT_H_
