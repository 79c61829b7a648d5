// The compare result, read from a decoded stream (compare_result.h).
#ifndef INSTAR_VMM_RESULT_COMPARE_VIEW_H_
#define INSTAR_VMM_RESULT_COMPARE_VIEW_H_

#include <cstdint>
#include <optional>
#include <string>

#include "vmm/result/result_decoder.h"

namespace instar::vmm {

enum class CompareVerdictView : uint8_t {
  kIdentical,
  kContentMismatch,
  kStrictSizeMismatch,
  kStrictStatusMismatch,
};

struct CompareView {
  // Set when the walk ended with a verdict; unset when it failed.
  std::optional<CompareVerdictView> verdict;
  uint64_t offset = 0;  // kContentMismatch, kStrictStatusMismatch
  bool size_warning = false;
  // The walk stopped: what qemu-img printed on stderr, and its exit status
  // (3 or 4).
  std::optional<std::string> failure;
  int failure_exit = 0;
};

// False, with *error set, when a field is missing, repeated or mistyped,
// the verdict is unknown, an offset is missing or present where the
// verdict has none, both or neither of a verdict and a failure are there,
// or a failure's exit status is not 3 or 4.
bool ReadCompareView(const DecodedResult& result, CompareView* out, std::string* error);

}  // namespace instar::vmm

#endif  // INSTAR_VMM_RESULT_COMPARE_VIEW_H_
