// CheckImage(): bdrv_check(), the one place a format without a check hook
// is answered for (the host prints qemu-img's "This image format does not
// support checks").
#include "instar/engine/check.h"

#include "instar/engine/format_driver.h"

namespace instar {

const char* CheckFailureText(CheckFailure failure) {
  switch (failure) {
    case CheckFailure::kNone:
      return "";
    case CheckFailure::kNotPermitted:
      return "Operation not permitted";
    case CheckFailure::kIOError:
      return "Input/output error";
    case CheckFailure::kNoMemory:
      return "Cannot allocate memory";
    case CheckFailure::kInvalidArgument:
      return "Invalid argument";
    case CheckFailure::kFileTooLarge:
      return "File too large";
    case CheckFailure::kNotSupported:
      return "Operation not supported";
  }
  return "";
}

Result<CheckSupport> CheckImage(Image& image, const QemuVersion& compat, Arena& arena,
                                CheckLog& log, CheckResult* result) {
  *result = CheckResult{};
  const FormatDriver* driver = FindFormatDriver(image.format());
  if (driver == nullptr || driver->check == nullptr) return CheckSupport::kNotSupported;
  INSTAR_RETURN_IF_ERROR(driver->check(image, compat, arena, log, result));
  return CheckSupport::kChecked;
}

}  // namespace instar
