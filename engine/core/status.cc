#include "instar/engine/status.h"

#include "instar/engine/text_builder.h"

namespace instar {

const char* StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "OK";
    case StatusCode::kCorruption:
      return "Corruption";
    case StatusCode::kNotSupported:
      return "NotSupported";
    case StatusCode::kInvalidArgument:
      return "InvalidArgument";
    case StatusCode::kIOError:
      return "IOError";
    case StatusCode::kOutOfRange:
      return "OutOfRange";
    case StatusCode::kNoSpace:
      return "NoSpace";
  }
  return "Unknown";
}

size_t FormatStatusMessage(const Status& status, char* out, size_t size) {
  return TextBuilder(out, size).Append(status).length();
}

}  // namespace instar
