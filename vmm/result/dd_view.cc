// The dd view over a decoded result (dd_result.h), read like every other
// view through FieldReader.
#include "vmm/result/dd_view.h"

#include "instar/guest/dd_result.h"
#include "vmm/result/field_reader.h"

namespace instar::vmm {

using namespace dd_result;

bool ReadDdView(const DecodedResult& result, DdView* out, std::string* error) {
  FieldReader f(result.records, "result", error);
  std::optional<bool> no_output;
  f.Text(kTagWarning, "warning", &out->warning);
  f.Bool(kTagNoOutput, "no output", &no_output);
  f.U64(kTagBlocks, "blocks", &out->blocks);
  if (!f.Done()) return false;
  out->no_output = no_output.value_or(false);
  if (out->no_output == out->blocks.has_value()) {
    *error = "the result has neither or both of the block count and the missing output";
    return false;
  }
  return true;
}

}  // namespace instar::vmm
