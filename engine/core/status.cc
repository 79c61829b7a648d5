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

const char* QemuErrnoText(QemuErrno error) {
  switch (error) {
    case QemuErrno::kNone:
      return "";
    case QemuErrno::kEPERM:
      return GlibcStrError(1);
    case QemuErrno::kEIO:
      return GlibcStrError(5);
    case QemuErrno::kENOMEM:
      return GlibcStrError(12);
    case QemuErrno::kEINVAL:
      return GlibcStrError(22);
    case QemuErrno::kEFBIG:
      return GlibcStrError(27);
    case QemuErrno::kENOTSUP:
      return GlibcStrError(95);
  }
  return "";
}

Status Status::WithTextCopy(const char* text, size_t length) const {
  static char copy[kMaxCopiedText];
  if (length > sizeof(copy)) length = sizeof(copy);
  for (size_t i = 0; i < length; ++i) copy[i] = text[i];
  return WithText(copy, length);
}

size_t FormatStatusMessage(const Status& status, char* out, size_t size) {
  return TextBuilder(out, size).Append(status).length();
}

}  // namespace instar
