#include "instar/engine/status.h"

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
  size_t n = 0;
  auto put = [&](char c) {
    if (n + 1 < size) out[n++] = c;
  };
  bool substituted = !status.has_argument();
  for (const char* p = status.message(); *p != '\0'; ++p) {
    if (!substituted && p[0] == '{' && p[1] == '}') {
      char digits[20];
      int count = 0;
      uint64_t v = status.argument();
      do {
        digits[count++] = static_cast<char>('0' + v % 10);
        v /= 10;
      } while (v != 0);
      while (count > 0) put(digits[--count]);
      substituted = true;
      ++p;
      continue;
    }
    put(*p);
  }
  out[n] = '\0';
  return n;
}

}  // namespace instar
