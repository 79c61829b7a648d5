// resize's part of the harness: cases/resize.json and the cases it plans.
//
//   {"command": "resize",
//    "cases": [{"case", "target", "start", "end", "options",
//               "preallocation"?, "shrink-flag"?}...]}
//
// A case is a pipeline on one scratch file, in the bucket of its target:
//
//   qemu-img create -f F [-o O]... $FILENAME START
//   qemu-img resize -f F [--shrink] [--preallocation=P] $FILENAME END
//   qemu-img info --output=json $FILENAME
//
// END is an absolute size, +SIZE or -SIZE, passed to qemu-img as written.
// --shrink goes in when the end is smaller than the start (always for
// -SIZE), unless the case says "shrink-flag" itself: false records qemu-img's
// refusal to shrink without it. "preallocation" left out and "off" are two
// cases: the first passes no flag at all.
#ifndef INSTAR_HARNESS_CASES_RESIZE_CASES_H_
#define INSTAR_HARNESS_CASES_RESIZE_CASES_H_

#include <cstdint>
#include <optional>
#include <string_view>

namespace instar::harness {

// The virtual size a resize from `start` (a size string) to `end` ("N",
// "+N" or "-N", N a size string) asks for; nothing when either is malformed
// or the result would be negative or overflow.
std::optional<uint64_t> ExpectedFinalSize(std::string_view start, std::string_view end);

// Whether the harness passes --shrink: the end is "-N", or smaller than the
// start. `start` and `end` must be well formed (ExpectedFinalSize).
bool InferShrinkFlag(std::string_view start, std::string_view end);

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_CASES_RESIZE_CASES_H_
