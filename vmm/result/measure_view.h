// The measure result, read from a decoded stream (measure_result.h).
#ifndef INSTAR_VMM_RESULT_MEASURE_VIEW_H_
#define INSTAR_VMM_RESULT_MEASURE_VIEW_H_

#include <cstdint>
#include <optional>
#include <string>

#include "vmm/result/result_decoder.h"

namespace instar::vmm {

struct MeasureView {
  uint64_t required = 0;
  uint64_t fully_allocated = 0;
  std::optional<uint64_t> bitmaps;  // printed only when present
  // qemu-img's stderr lines before the result ("qemu-img: warning: ..."), if any.
  std::optional<std::string> warnings;
};

// False, with *error set, when a field is missing, repeated or mistyped.
bool ReadMeasureView(const DecodedResult& result, MeasureView* out, std::string* error);

}  // namespace instar::vmm

#endif  // INSTAR_VMM_RESULT_MEASURE_VIEW_H_
