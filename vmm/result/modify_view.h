// The result of resize and amend, read from a decoded stream
// (modify_result.h).
#ifndef INSTAR_VMM_RESULT_MODIFY_VIEW_H_
#define INSTAR_VMM_RESULT_MODIFY_VIEW_H_

#include <optional>
#include <string>

#include "vmm/result/result_decoder.h"

namespace instar::vmm {

struct ModifyView {
  // The lines qemu printed on stderr when it opened the image (a probed
  // raw image's warning), each with its newline.
  std::optional<std::string> warning;
};

// False, with *error set, when a field is repeated or mistyped.
bool ReadModifyView(const DecodedResult& result, ModifyView* out, std::string* error);

}  // namespace instar::vmm

#endif  // INSTAR_VMM_RESULT_MODIFY_VIEW_H_
