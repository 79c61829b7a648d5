// The body of qcow2_modify_fuzz (see qcow2_modify_fuzz.cc for what it
// checks), in a header so that qcow2_modify_fuzz_regression_test.cc
// replays kept inputs, and a seeded sample, through the same code in the
// unit tests.
#ifndef INSTAR_ENGINE_QCOW2_QCOW2_MODIFY_FUZZ_BODY_H_
#define INSTAR_ENGINE_QCOW2_QCOW2_MODIFY_FUZZ_BODY_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "instar/engine/check.h"
#include "instar/engine/create.h"
#include "instar/engine/format_driver.h"
#include "instar/engine/image.h"
#include "instar/engine/measure.h"
#include "instar/engine/modify.h"
#include "qcow2/qcow2_create_fuzz_body.h"

namespace instar::qcow2_modify_fuzz {

using qcow2_create_fuzz::BoundedDevice;
using qcow2_create_fuzz::Check;
using qcow2_create_fuzz::NoFiles;
using qcow2_create_fuzz::NullLog;

// A size from 8 little-endian bytes, kept below 64 MiB most of the time
// (the device holds 32 MiB) and sometimes left huge.
inline uint64_t ShapeSize(const uint8_t* bytes, uint8_t shape) {
  uint64_t raw = 0;
  for (int i = 0; i < 8; ++i) raw |= uint64_t{bytes[i]} << (8 * i);
  switch (shape % 4) {
    case 0:
      return raw % (uint64_t{64} << 20);
    case 1:
      return (raw % (uint64_t{64} << 20)) & ~uint64_t{511};
    case 2:
      return raw % (uint64_t{1} << 40);
    default:
      return raw;
  }
}

// The image opens with the engine's reader and checks with no
// corruption, leak or check error.
inline void CheckClean(testing::MemoryDevice& file, const QemuVersion& compat) {
  static std::vector<uint8_t> check_memory(24u << 20);
  Arena check_arena(check_memory.data(), check_memory.size());
  NoFiles opener;
  OpenOptions open_options;
  open_options.compat = compat;
  open_options.check = true;
  Result<Image*> image = OpenImage(ImageFormat::kQcow2, file, opener, check_arena, open_options);
  Check(image.ok(), "the changed image opens");
  NullLog log;
  CheckResult result;
  Result<CheckSupport> support = CheckImage(**image, compat, check_arena, log, &result);
  Check(support.ok(), "the changed image can be checked");
  Check(result.corruptions == 0, "no corruption after the change");
  Check(result.leaks == 0, "no leaked cluster after the change");
  Check(result.check_errors == 0, "no check error after the change");
}

// Input: byte 0 picks the qemu version; byte 1 the hook and its flags
// (bit 0: amend, else resize; bit 1: --shrink; bits 2-3: preallocation;
// bit 4: --preallocation given); bytes 2-9 the created size and 10-17 the
// new size (shaped by bytes 18 and 19); byte 20 the length of the create
// -o text that follows; the rest is the amend -o text.
inline int ModifyFuzzOne(const uint8_t* data, size_t size) {
  if (size < 21) return 0;
  static const QemuVersion kVersions[] = {{5, 2, 0}, {7, 2, 22}, {10, 0, 13}, {11, 1, 3}};
  const QemuVersion compat = kVersions[data[0] % 4];
  const uint8_t mode = data[1];
  const uint64_t start = ShapeSize(data + 2, data[18]);
  const uint64_t end = ShapeSize(data + 10, data[19]);
  const size_t create_length = data[20] < size - 21 ? data[20] : size - 21;
  const std::string create_text(reinterpret_cast<const char*>(data + 21), create_length);
  const std::string amend_text(reinterpret_cast<const char*>(data + 21 + create_length),
                               size - 21 - create_length);

  static std::vector<uint8_t> memory(40u << 20);
  Arena arena(memory.data(), memory.size());
  MeasureError error;
  ParsedMeasureOptions create_options;
  if (!ParseMeasureOptions(ImageFormat::kQcow2, create_text.data(), create_text.size(), compat,
                           arena, &create_options, &error)
           .ok()) {
    return 0;
  }
  CreateRequest create;
  create.options = &create_options;
  create.size = start;
  BoundedDevice device(32u << 20);
  const FormatDriver* driver = FindFormatDriver(ImageFormat::kQcow2);
  if (!driver->create(create, device, compat, arena, &error).ok()) return 0;

  NoFiles opener;
  OpenOptions open_options;
  open_options.compat = compat;
  Result<Image*> image = OpenImage(ImageFormat::kQcow2, device, opener, arena, open_options);
  Check(image.ok(), "a created image opens");
  const size_t before = arena.used();
  Status changed;
  if ((mode & 1) != 0) {
    ParsedMeasureOptions amend_options;
    if (!ParseMeasureOptions(ImageFormat::kQcow2, amend_text.data(), amend_text.size(), compat,
                             arena, &amend_options, &error)
             .ok()) {
      return 0;
    }
    AmendRequest request;
    request.options = &amend_options;
    const size_t after_options = arena.used();
    changed = driver->amend(**image, device, request, compat, arena);
    Check(arena.used() == after_options, "amend gives its memory back");
  } else {
    ResizeRequest request;
    request.size = end;
    request.shrink = (mode & 2) != 0;
    request.preallocation = static_cast<Preallocation>((mode >> 2) & 3);
    request.has_preallocation = (mode & 16) != 0;
    changed = driver->resize(**image, device, request, compat, arena);
    Check(arena.used() == before, "resize gives its memory back");
  }
  char text[1200];
  const size_t length = FormatStatusMessage(changed, text, sizeof(text));
  Check(length < sizeof(text), "the status formats");
  if (changed.ok()) CheckClean(device.inner(), compat);
  return 0;
}

}  // namespace instar::qcow2_modify_fuzz

#endif  // INSTAR_ENGINE_QCOW2_QCOW2_MODIFY_FUZZ_BODY_H_
