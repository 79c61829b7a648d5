// The body of qcow2_create_fuzz (see qcow2_create_fuzz.cc for what it
// checks), in a header so that qcow2_create_fuzz_regression_test.cc
// replays kept inputs through exactly the same code in the unit tests.
#ifndef INSTAR_ENGINE_QCOW2_QCOW2_CREATE_FUZZ_BODY_H_
#define INSTAR_ENGINE_QCOW2_QCOW2_CREATE_FUZZ_BODY_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "instar/engine/bytes.h"
#include "instar/engine/check.h"
#include "instar/engine/create.h"
#include "instar/engine/format_driver.h"
#include "instar/engine/image.h"
#include "instar/engine/measure.h"
#include "testing/memory_device.h"

namespace instar::qcow2_create_fuzz {

inline void Check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "qcow2_create_fuzz: invariant failed: %s\n", what);
    std::abort();
  }
}

// A MemoryDevice that refuses to grow past `limit` bytes, as a full disk
// would: the writer must fail cleanly, never crash or write past it.
class BoundedDevice final : public WritableDevice {
 public:
  explicit BoundedDevice(uint64_t limit) : limit_(limit) {}
  testing::MemoryDevice& inner() { return inner_; }

  Status Read(uint64_t offset, void* buffer, size_t length) override {
    return inner_.Read(offset, buffer, length);
  }
  uint64_t Size() const override { return inner_.Size(); }
  Result<uint64_t> SeekData(uint64_t offset) override { return inner_.SeekData(offset); }
  Result<uint64_t> SeekHole(uint64_t offset) override { return inner_.SeekHole(offset); }
  Status Write(uint64_t offset, const void* data, size_t length) override {
    if (!Fits(offset, length)) return Status::IOError("No space left on device");
    return inner_.Write(offset, data, length);
  }
  Status Truncate(uint64_t size) override {
    if (size > limit_) return Status::IOError("No space left on device");
    return inner_.Truncate(size);
  }
  Status Allocate(uint64_t offset, uint64_t length) override {
    if (!Fits(offset, length)) return Status::IOError("No space left on device");
    return inner_.Allocate(offset, length);
  }
  Status Flush() override { return inner_.Flush(); }

 private:
  bool Fits(uint64_t offset, uint64_t length) const {
    uint64_t end;
    return CheckedAdd(offset, length, &end) && end <= limit_;
  }

  uint64_t limit_;
  testing::MemoryDevice inner_;
};

class NullLog final : public CheckLog {
 public:
  void Line(const char*, size_t) override {}
};

class NoFiles final : public DeviceOpener {
 public:
  Result<BlockDevice*> Open(const char*, size_t) override {
    return Status::IOError("no such file");
  }
};

inline void CheckFormatting(const MeasureError& error) {
  const size_t needed = FormatMeasureError(error, nullptr, 0);
  std::vector<char> buffer(needed + 16, '\x7f');
  Check(FormatMeasureError(error, buffer.data(), needed + 1) == needed, "error length is stable");
  Check(buffer[needed] == '\0', "error text is terminated");
  Check(buffer[needed + 1] == '\x7f', "no write past the error text");
}

// Input: byte 0 picks the qemu version, byte 1 how far the 8-byte size
// that follows (little-endian) is shifted right; the rest is the -o text.
inline int CreateFuzzOne(const uint8_t* data, size_t size) {
  if (size < 10) return 0;
  static const QemuVersion kVersions[] = {{5, 2, 0}, {7, 2, 22}, {10, 0, 13}, {11, 1, 3}};
  const QemuVersion compat = kVersions[data[0] % 4];
  uint64_t raw = 0;
  std::memcpy(&raw, data + 2, 8);
  const uint64_t virtual_size = raw >> (data[1] & 63);
  const std::string text(reinterpret_cast<const char*>(data + 10), size - 10);

  static std::vector<uint8_t> memory(24u << 20);
  Arena arena(memory.data(), memory.size());
  MeasureError error;
  ParsedMeasureOptions options;
  if (!ParseMeasureOptions(ImageFormat::kQcow2, text.data(), text.size(), compat, arena, &options,
                           &error)
           .ok()) {
    CheckFormatting(error);
    return 0;
  }
  CreateRequest request;
  request.options = &options;
  request.size = virtual_size;
  BoundedDevice device(32u << 20);
  const size_t before = arena.used();
  const Status created =
      FindFormatDriver(ImageFormat::kQcow2)->create(request, device, compat, arena, &error);
  Check(arena.used() == before, "the writer gives its memory back");
  if (!created.ok()) {
    if (error.kind != MeasureErrorKind::kNone) CheckFormatting(error);
    return 0;
  }

  // Every image made opens and checks clean.
  testing::MemoryDevice& file = device.inner();
  Check(file.Size() >= 512, "an image has a header");
  Check(LoadBE64(file.bytes().data() + 24) == AlignUp(virtual_size, 512), "header size");
  static std::vector<uint8_t> check_memory(24u << 20);
  Arena check_arena(check_memory.data(), check_memory.size());
  NoFiles opener;
  OpenOptions open_options;
  open_options.compat = compat;
  open_options.check = true;
  Result<Image*> image = OpenImage(ImageFormat::kQcow2, file, opener, check_arena, open_options);
  Check(image.ok(), "the image opens");
  NullLog log;
  CheckResult result;
  Result<CheckSupport> support = CheckImage(**image, compat, check_arena, log, &result);
  Check(support.ok(), "the image can be checked");
  Check(result.corruptions == 0, "no corruption");
  Check(result.leaks == 0, "no leaked cluster");
  Check(result.check_errors == 0, "no check error");
  return 0;
}

}  // namespace instar::qcow2_create_fuzz

#endif  // INSTAR_ENGINE_QCOW2_QCOW2_CREATE_FUZZ_BODY_H_
