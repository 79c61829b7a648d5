// RenderCompare: what `qemu-img compare` prints for a compare view
// (qemu-img.c img_compare()'s qprintf() lines and its exit status). The
// wording is the same in every version of the matrix.
//
//   0  "Images are identical."
//   1  "Content mismatch at offset N!", "Strict mode: Image size mismatch!",
//      "Strict mode: Offset N block status mismatch!"
//   3  a block status failed, 4 a read failed: the failure on stderr
// "Warning: Image size mismatch!" comes first when the walk printed it.
// -q (quiet) prints nothing on stdout; the exit status is the same.
#ifndef INSTAR_VMM_RENDER_COMPARE_RENDER_H_
#define INSTAR_VMM_RENDER_COMPARE_RENDER_H_

#include <string>

#include "vmm/result/compare_view.h"

namespace instar::vmm {

struct CompareOutput {
  std::string out;  // stdout
  std::string err;  // stderr lines as qemu-img words them ("qemu-img: ...")
  int exit_code = 0;
};

CompareOutput RenderCompare(const CompareView& view, bool quiet);

}  // namespace instar::vmm

#endif  // INSTAR_VMM_RENDER_COMPARE_RENDER_H_
