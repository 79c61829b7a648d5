// The create view over a decoded result (create_result.h), read like every
// other view through FieldReader.
#include "vmm/result/create_view.h"

#include "instar/guest/create_result.h"
#include "vmm/result/field_reader.h"

namespace instar::vmm {

using namespace create_result;

bool ReadCreateView(const DecodedResult& result, CreateView* out, std::string* error) {
  FieldReader f(result.records, "result", error);
  std::optional<std::string> formatting;
  f.Text(kTagFormatting, "formatting", &formatting);
  f.Text(kTagWarning, "warning", &out->detected_backing_format);
  f.Text(kTagFailure, "failure", &out->failure);
  f.U64(kTagSize, "size", &out->size);
  if (!f.Done()) return false;
  if (out->size) {
    if (formatting || out->failure || out->detected_backing_format) {
      *error = "the result has a size beside the Formatting line";
      return false;
    }
    return true;
  }
  if (!formatting) {
    *error = "the result lacks the Formatting line";
    return false;
  }
  out->formatting = *formatting;
  return true;
}

}  // namespace instar::vmm
