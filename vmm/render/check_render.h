// RenderCheck: `qemu-img check`'s output from a check view, as qemu-img's
// img_check() prints it (dump_human_image_check(), dump_json_image_check())
// and the exit code it ends with.
//
// Every version of the matrix prints a check alike: the human text, and
// the ImageCheck QAPI object as a QDict (so in qemu's hash order), each
// optional member only when it is not zero. stderr carries the lines the
// check printed, then qemu-img's own: "This image format does not support
// checks" (exit 63), "Check failed: <errno text>" (no output, exit 1),
// "Check failed" after the output when the check had internal errors
// (exit 1); otherwise the exit code is 2 for corruptions, 3 for leaks only,
// 0 for none.
#ifndef INSTAR_VMM_RENDER_CHECK_RENDER_H_
#define INSTAR_VMM_RENDER_CHECK_RENDER_H_

#include <string>

#include "vmm/render/output_format.h"
#include "vmm/result/check_view.h"

namespace instar::vmm {

// qemu-img check's exit codes beyond 0 and 1.
constexpr int kCheckExitCorruptions = 2;
constexpr int kCheckExitLeaks = 3;
constexpr int kCheckExitNotSupported = 63;

struct CheckOutput {
  std::string out;  // stdout
  std::string err;  // stderr lines as qemu-img words them ("qemu-img: ...")
  int exit_code = 0;
};

// `filename` is the name as the user gave it (ImageCheck's filename);
// `quiet` is -q, which silences stdout only.
CheckOutput RenderCheck(const CheckView& view, const std::string& filename, OutputFormat format,
                        bool quiet);

}  // namespace instar::vmm

#endif  // INSTAR_VMM_RENDER_CHECK_RENDER_H_
