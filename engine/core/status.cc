#include "instar/engine/status.h"

#include "instar/engine/text_builder.h"

namespace instar {

const char* StatusCodeName(StatusCode code) {
  // Indexed by the code's number.
  static constexpr const char* kNames[] = {
      "OK", "Corruption", "NotSupported", "InvalidArgument", "IOError", "OutOfRange", "NoSpace",
  };
  constexpr size_t kCount = sizeof(kNames) / sizeof(kNames[0]);
  static_assert(kCount == static_cast<size_t>(StatusCode::kNoSpace) + 1);
  const auto index = static_cast<size_t>(code);
  return index < kCount ? kNames[index] : "Unknown";
}

size_t FormatStatusMessage(const Status& status, char* out, size_t size) {
  return TextBuilder(out, size).Append(status).length();
}

}  // namespace instar
