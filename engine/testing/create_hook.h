// Running a format driver's create hook from tests and fuzzers, the way
// `instar create` reaches it: the -o text through ParseMeasureOptions()
// for the target, the size through ParseMeasureSize(), then the hook into
// a MemoryDevice.
#ifndef INSTAR_ENGINE_TESTING_CREATE_HOOK_H_
#define INSTAR_ENGINE_TESTING_CREATE_HOOK_H_

#include <cstdint>
#include <string>
#include <vector>

#include "instar/engine/check.h"
#include "instar/engine/format_driver.h"
#include "testing/memory_device.h"

namespace instar::testing {

struct CreateOutcome {
  Status status;
  MeasureError error;
  std::string error_text;  // FormatMeasureError(), when the hook refused
  MemoryDevice device;
};

inline std::string MeasureErrorText(const MeasureError& error) {
  std::string text(FormatMeasureError(error, nullptr, 0), '\0');
  FormatMeasureError(error, text.data(), text.size() + 1);
  return text;
}

// What the hook of `format` writes for `-o options` and a size of `size`
// bytes. `random` fills CreateRequest::random (the rest stays zero).
inline CreateOutcome RunCreateHook(ImageFormat format, const std::string& options, uint64_t size,
                                   const QemuVersion& compat, const std::string& target_name,
                                   uint64_t now_seconds, const std::vector<uint8_t>& random,
                                   size_t arena_bytes = 1 << 20) {
  CreateOutcome out;
  std::vector<uint8_t> buffer(arena_bytes + options.size() * 2);
  Arena arena(buffer.data(), buffer.size());
  ParsedMeasureOptions parsed;
  out.status = ParseMeasureOptions(format, options.data(), options.size(), compat, arena, &parsed,
                                   &out.error);
  if (!out.status.ok()) {
    out.error_text = MeasureErrorText(out.error);
    return out;
  }
  const FormatDriver* driver = FindFormatDriver(format);
  if (driver == nullptr || driver->create == nullptr) {
    out.status = Status::NotSupported("the driver has no create hook");
    return out;
  }
  CreateRequest request;
  request.options = &parsed;
  request.size = size;
  request.target_name = MeasureText{target_name.data(), target_name.size()};
  request.now_seconds = now_seconds;
  for (size_t i = 0; i < random.size() && i < sizeof(request.random); ++i) {
    request.random[i] = random[i];
  }
  // The files beside the image the host creates before the run.
  if (driver->sibling_outputs != nullptr) {
    std::vector<SiblingName> names(kMaxSiblingOutputs);
    const size_t count =
        driver->sibling_outputs(parsed, request.target_name, size, names.data(), names.size());
    for (size_t i = 0; i < count && i < names.size(); ++i) {
      out.device.AddSibling(std::string(names[i].text, names[i].length));
    }
  }
  out.status = driver->create(request, out.device, compat, arena, &out.error);
  if (!out.status.ok() && out.error.kind != MeasureErrorKind::kNone) {
    out.error_text = MeasureErrorText(out.error);
  }
  return out;
}

class CollectingCheckLog final : public CheckLog {
 public:
  void Line(const char* text, size_t length) override { lines.emplace_back(text, length); }
  std::vector<std::string> lines;
};

// What the engine's reader and check make of a written image.
struct ReopenedImage {
  std::string failure;  // empty when it opened (and checked, where it can)
  uint64_t virtual_size = 0;
  bool checked = false;  // the format has a check
  CheckResult check;
  std::vector<std::string> check_lines;
};

// `run_check` false skips the check (vmdk's walks every grain table: too
// slow for a disk of hundreds of terabytes).
inline ReopenedImage Reopen(ImageFormat format, BlockDevice& device, const QemuVersion& compat,
                            bool run_check = true) {
  ReopenedImage out;
  std::vector<uint8_t> buffer(8 << 20);
  Arena arena(buffer.data(), buffer.size());
  const FormatDriver* driver = FindFormatDriver(format);
  class NoFiles final : public DeviceOpener {
   public:
    Result<BlockDevice*> Open(const char*, size_t) override {
      return Status::IOError("no other files");
    }
  } opener;
  OpenOptions options;
  options.compat = compat;
  auto image = driver->open(device, opener, arena, options);
  if (!image.ok()) {
    out.failure = std::string("open: ") + image.status().message();
    return out;
  }
  out.virtual_size = (*image)->VirtualSize();
  if (driver->check == nullptr || !run_check) return out;
  CollectingCheckLog log;
  auto checked = CheckImage(**image, compat, arena, log, &out.check);
  if (!checked.ok()) {
    out.failure = std::string("check: ") + checked.status().message();
    return out;
  }
  out.checked = true;
  out.check_lines = log.lines;
  return out;
}

// The size argument as qemu-img create of `compat` reads it; ~0 when it
// does not parse.
inline uint64_t ParseSizeArgument(const std::string& text, const QemuVersion& compat) {
  uint64_t size = 0;
  bool warning = false;
  MeasureError error;
  if (!ParseMeasureSize(text.data(), text.size(), compat, &size, &warning, &error).ok()) {
    return ~uint64_t{0};
  }
  return size;
}

}  // namespace instar::testing

#endif  // INSTAR_ENGINE_TESTING_CREATE_HOOK_H_
