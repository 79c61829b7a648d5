// The result of Operation::kConvert: what `qemu-img convert` printed on
// success, and how far a run that could not create its output got.
//
// A stream holds, at top level:
//   kTagNoOutput  bool, true: the run stopped where bdrv_create() would
//                 have created the target, which the host could not
//                 create (abi::kConvertNoOutput); the host words the
//                 error. Only with kTagSize (and the warning).
//   kTagSize      u64, beside kTagNoOutput: the size in bytes the target
//                 would have had (the host names the files of a target
//                 of several files from it: FormatDriver::sibling_outputs).
//   kTagWritten   u64: the guest bytes written to the target (data and
//                 compressed clusters; zeros skipped are not counted).
//   kTagWarning   bytes, optional, beside either: lines qemu-img printed on
//                 stderr before it went on ("qemu-img: warning: ..."), each
//                 with its newline.
// A success is kTagWritten; qemu-img convert prints nothing then (but the
// warning). A failure is the abi kTagError object, the warning's lines in
// front of its message. Tags 1-3 are abi's.
#ifndef INSTAR_GUEST_CONVERT_RESULT_H_
#define INSTAR_GUEST_CONVERT_RESULT_H_

#include <cstdint>

namespace instar::convert_result {

constexpr uint16_t kTagNoOutput = 16;
constexpr uint16_t kTagWritten = 17;
constexpr uint16_t kTagWarning = 18;
constexpr uint16_t kTagSize = 19;

}  // namespace instar::convert_result

#endif  // INSTAR_GUEST_CONVERT_RESULT_H_
