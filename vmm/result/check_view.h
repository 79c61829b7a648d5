// The check result, read from a decoded stream (check_result.h).
#ifndef INSTAR_VMM_RESULT_CHECK_VIEW_H_
#define INSTAR_VMM_RESULT_CHECK_VIEW_H_

#include <cstdint>
#include <optional>
#include <string>

#include "vmm/result/result_decoder.h"

namespace instar::vmm {

// qemu's BdrvCheckResult as qemu-img's ImageCheck carries it.
struct CheckCounters {
  uint64_t corruptions = 0;
  uint64_t leaks = 0;
  uint64_t check_errors = 0;
  uint64_t image_end_offset = 0;
  uint64_t total_clusters = 0;
  uint64_t allocated_clusters = 0;
  uint64_t fragmented_clusters = 0;
  uint64_t compressed_clusters = 0;
};

struct CheckView {
  std::string format;  // the driver's name
  std::string log;     // the stderr lines, each ending in '\n'; may be empty
  enum class Outcome { kChecked, kNotSupported, kFailed };
  Outcome outcome = Outcome::kChecked;
  std::string failure;     // kFailed: the strerror() text
  CheckCounters counters;  // kChecked
};

// False, with *error set, when a field is missing, repeated or mistyped,
// the outcomes contradict each other (counters with a failure, a failure
// without text), the log holds a NUL or does not end a line, or a counter
// is past INT64_MAX (qemu's are int64_t).
bool ReadCheckView(const DecodedResult& result, CheckView* out, std::string* error);

}  // namespace instar::vmm

#endif  // INSTAR_VMM_RESULT_CHECK_VIEW_H_
