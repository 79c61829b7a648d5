// The convert view over a decoded result (convert_result.h), read like
// every other view: each record once, of its type, nothing unknown.
#include "vmm/result/convert_view.h"

#include "instar/guest/convert_result.h"
#include "vmm/result/field_reader.h"

namespace instar::vmm {

using namespace convert_result;

bool ReadConvertView(const DecodedResult& result, ConvertView* out, std::string* error) {
  FieldReader f(result.records, "result", error);
  std::optional<bool> no_output;
  f.Bool(kTagNoOutput, "no output", &no_output);
  f.U64(kTagWritten, "bytes written", &out->written);
  f.Text(kTagWarning, "warning", &out->warning);
  f.U64(kTagSize, "target size", &out->size);
  if (!f.Done()) return false;
  out->no_output = no_output.value_or(false);
  if (out->no_output == out->written.has_value()) {
    *error = "the result has neither or both of the bytes written and the missing output";
    return false;
  }
  if (out->no_output != out->size.has_value()) {
    *error = "the result has a target size without the missing output, or not with it";
    return false;
  }
  return true;
}

}  // namespace instar::vmm
