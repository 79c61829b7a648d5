#include "vmm/render/compare_render.h"

namespace instar::vmm {

CompareOutput RenderCompare(const CompareView& view, bool quiet) {
  CompareOutput output;
  std::string out;
  if (view.size_warning) out += "Warning: Image size mismatch!\n";
  if (view.failure) {
    output.err = *view.failure;
    output.exit_code = view.failure_exit;
  } else {
    switch (*view.verdict) {
      case CompareVerdictView::kIdentical:
        out += "Images are identical.\n";
        output.exit_code = 0;
        break;
      case CompareVerdictView::kContentMismatch:
        out += "Content mismatch at offset " + std::to_string(view.offset) + "!\n";
        output.exit_code = 1;
        break;
      case CompareVerdictView::kStrictSizeMismatch:
        out += "Strict mode: Image size mismatch!\n";
        output.exit_code = 1;
        break;
      case CompareVerdictView::kStrictStatusMismatch:
        out += "Strict mode: Offset " + std::to_string(view.offset) + " block status mismatch!\n";
        output.exit_code = 1;
        break;
    }
  }
  if (!quiet) output.out = std::move(out);
  return output;
}

}  // namespace instar::vmm
