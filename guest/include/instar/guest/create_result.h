// The result of Operation::kCreate: what `qemu-img create` printed.
//
// A stream holds, at top level:
//   kTagFormatting  bytes, once: the options of the "Formatting 'FILE',
//                   fmt=F <options>" line qemu-img prints on stdout before
//                   the driver runs (instar/engine/create_line.h)
//   kTagWarning     bytes, at most once, before kTagFormatting: the format
//                   probed for a backing file given without -F, which 5.2
//                   warns about (CreateDialect::backing_without_format)
//   kTagFailure     bytes, at most once, after kTagFormatting: the driver
//                   refused or failed; the lines qemu-img printed on stderr
//                   ("qemu-img: FILE: ..."). qemu-img exits 1, and the host
//                   removes the output instead of renaming it.
//   kTagSize        u64, alone: a run with abi::kCreateSizeOnly stopped
//                   where it knew the size (from the backing file when
//                   the command gave none), before the Formatting line;
//                   the host names a target of several files from it
//                   (FormatDriver::sibling_outputs).
// A refusal before the Formatting line (an unknown format, a bad option,
// no size) is the abi kTagError object instead. Only a stream with
// kTagFormatting and no kTagFailure is a success: the host renames the
// output over the target then. Tags 1-3 are abi's.
#ifndef INSTAR_GUEST_CREATE_RESULT_H_
#define INSTAR_GUEST_CREATE_RESULT_H_

#include <cstdint>

namespace instar::create_result {

constexpr uint16_t kTagFormatting = 16;
constexpr uint16_t kTagFailure = 17;
constexpr uint16_t kTagWarning = 18;
constexpr uint16_t kTagSize = 19;

}  // namespace instar::create_result

#endif  // INSTAR_GUEST_CREATE_RESULT_H_
