// The dd result, read from a decoded stream (dd_result.h).
#ifndef INSTAR_VMM_RESULT_DD_VIEW_H_
#define INSTAR_VMM_RESULT_DD_VIEW_H_

#include <cstdint>
#include <optional>
#include <string>

#include "vmm/result/result_decoder.h"

namespace instar::vmm {

struct DdView {
  // "qemu-img: IN: cannot skip to specified offset": printed, exit 0.
  std::optional<std::string> warning;
  // The run stopped where bdrv_create() opens the output, which the host
  // could not create.
  bool no_output = false;
  // The blocks copied (unset with no_output).
  std::optional<uint64_t> blocks;
};

// False, with *error set, when a field is missing, repeated or mistyped.
bool ReadDdView(const DecodedResult& result, DdView* out, std::string* error);

}  // namespace instar::vmm

#endif  // INSTAR_VMM_RESULT_DD_VIEW_H_
