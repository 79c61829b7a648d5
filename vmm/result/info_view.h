// The info result, read from a decoded stream (info_result.h).
#ifndef INSTAR_VMM_RESULT_INFO_VIEW_H_
#define INSTAR_VMM_RESULT_INFO_VIEW_H_

#include <cstdint>
#include <string>

#include "vmm/result/result_decoder.h"

namespace instar::vmm {

struct InfoView {
  std::string format;  // qemu's driver name, checked to be a plain identifier
  uint64_t virtual_size = 0;
};

// False, with *error set, when a field is missing, repeated or mistyped.
bool ReadInfoView(const DecodedResult& result, InfoView* out, std::string* error);

}  // namespace instar::vmm

#endif  // INSTAR_VMM_RESULT_INFO_VIEW_H_
