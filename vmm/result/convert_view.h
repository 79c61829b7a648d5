// The convert result, read from a decoded stream (convert_result.h).
#ifndef INSTAR_VMM_RESULT_CONVERT_VIEW_H_
#define INSTAR_VMM_RESULT_CONVERT_VIEW_H_

#include <cstdint>
#include <optional>
#include <string>

#include "vmm/result/result_decoder.h"

namespace instar::vmm {

struct ConvertView {
  // The run stopped where bdrv_create() creates the target, which the
  // host could not create.
  bool no_output = false;
  // The guest bytes written (unset with no_output).
  std::optional<uint64_t> written;
  // With no_output only: the size in bytes the target would have had.
  std::optional<uint64_t> size;
  // What qemu-img printed on stderr before it went on, each line with its
  // newline.
  std::optional<std::string> warning;
};

bool ReadConvertView(const DecodedResult& result, ConvertView* out, std::string* error);

}  // namespace instar::vmm

#endif  // INSTAR_VMM_RESULT_CONVERT_VIEW_H_
