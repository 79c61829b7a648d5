// The measure view over a decoded result (measure_result.h), read like every
// other view through FieldReader: each field once and of its type, and no
// field this host does not know.
#include "vmm/result/measure_view.h"

#include "instar/guest/measure_result.h"
#include "vmm/result/field_reader.h"

namespace instar::vmm {

bool ReadMeasureView(const DecodedResult& result, MeasureView* out, std::string* error) {
  using namespace measure_result;
  FieldReader f(result.records, "result", error);
  f.Text(kTagWarnings, "warnings", &out->warnings);
  f.U64(kTagRequired, "required size", &out->required);
  f.U64(kTagFullyAllocated, "fully allocated size", &out->fully_allocated);
  f.U64(kTagBitmaps, "bitmaps size", &out->bitmaps);
  return f.Done();
}

}  // namespace instar::vmm
