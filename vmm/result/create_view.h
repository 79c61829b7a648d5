// The create result, read from a decoded stream (create_result.h).
#ifndef INSTAR_VMM_RESULT_CREATE_VIEW_H_
#define INSTAR_VMM_RESULT_CREATE_VIEW_H_

#include <optional>
#include <string>

#include "vmm/result/result_decoder.h"

namespace instar::vmm {

struct CreateView {
  // The options of the Formatting line ("size=1048576 preallocation=full").
  std::string formatting;
  // 5.2's deprecation warning: the format probed for a backing file.
  std::optional<std::string> detected_backing_format;
  // The driver failed: what qemu-img printed on stderr ("qemu-img: FILE:
  // ..."). Unset: the image was made, and the host may rename it.
  std::optional<std::string> failure;
  // A run with abi::kCreateSizeOnly: the size, alone.
  std::optional<uint64_t> size;
};

// False, with *error set, when a field is missing, repeated or mistyped.
bool ReadCreateView(const DecodedResult& result, CreateView* out, std::string* error);

}  // namespace instar::vmm

#endif  // INSTAR_VMM_RESULT_CREATE_VIEW_H_
