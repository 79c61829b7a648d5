// The modify view over a decoded result (modify_result.h), read like every
// other view through FieldReader.
#include "vmm/result/modify_view.h"

#include "instar/guest/modify_result.h"
#include "vmm/result/field_reader.h"

namespace instar::vmm {

bool ReadModifyView(const DecodedResult& result, ModifyView* out, std::string* error) {
  FieldReader f(result.records, "result", error);
  f.Text(modify_result::kTagWarning, "warning", &out->warning);
  return f.Done();
}

}  // namespace instar::vmm
