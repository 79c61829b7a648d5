// The compare view over a decoded result (compare_result.h), read like
// every other view through FieldReader.
#include "vmm/result/compare_view.h"

#include "instar/guest/compare_result.h"
#include "vmm/result/field_reader.h"

namespace instar::vmm {

using namespace compare_result;

bool ReadCompareView(const DecodedResult& result, CompareView* out, std::string* error) {
  FieldReader f(result.records, "result", error);
  std::optional<uint64_t> verdict;
  std::optional<uint64_t> offset;
  std::optional<bool> size_warning;
  std::optional<uint64_t> failure_exit;
  f.U64(kTagVerdict, "verdict", &verdict);
  f.U64(kTagOffset, "offset", &offset);
  f.Bool(kTagSizeWarning, "size warning", &size_warning);
  f.Text(kTagFailure, "failure", &out->failure);
  f.U64(kTagFailureExit, "failure exit", &failure_exit);
  if (!f.Done()) return false;
  out->size_warning = size_warning.value_or(false);
  if (verdict.has_value() == out->failure.has_value()) {
    *error = "the result has both or neither of a verdict and a failure";
    return false;
  }
  if (out->failure) {
    if (offset || !failure_exit || (*failure_exit != 3 && *failure_exit != 4)) {
      *error = "the result has a malformed failure";
      return false;
    }
    out->failure_exit = static_cast<int>(*failure_exit);
    return true;
  }
  if (failure_exit) {
    *error = "the result has a failure exit without a failure";
    return false;
  }
  bool has_offset = false;
  switch (*verdict) {
    case kIdentical:
      out->verdict = CompareVerdictView::kIdentical;
      break;
    case kContentMismatch:
      out->verdict = CompareVerdictView::kContentMismatch;
      has_offset = true;
      break;
    case kStrictSizeMismatch:
      out->verdict = CompareVerdictView::kStrictSizeMismatch;
      break;
    case kStrictStatusMismatch:
      out->verdict = CompareVerdictView::kStrictStatusMismatch;
      has_offset = true;
      break;
    default:
      *error = "the result has an unknown verdict";
      return false;
  }
  if (has_offset != offset.has_value()) {
    *error = has_offset ? "the result lacks the verdict's offset"
                        : "the result has an offset its verdict does not name";
    return false;
  }
  // qemu-img's offsets are int64_t: nothing past INT64_MAX is an offset.
  if (offset && *offset > static_cast<uint64_t>(INT64_MAX)) {
    *error = "the result has an offset past the end of any image";
    return false;
  }
  // A strict size mismatch ends the walk before any warning.
  if (out->size_warning && *out->verdict == CompareVerdictView::kStrictSizeMismatch) {
    *error = "the result warns of a size mismatch strict mode stopped at";
    return false;
  }
  out->offset = offset.value_or(0);
  return true;
}

}  // namespace instar::vmm
