// The body of the writers' libFuzzer targets (engine/{vpc,vhdx,vmdk}/
// *_create_fuzz.cc): random -o text and sizes go through
// ParseMeasureOptions() for the target, then the driver's create hook
// writes into a bounded SparseDevice. Nothing may crash, a refusal must
// format, and every image made must open with the engine's reader of that
// format at no less than the size asked, and pass the engine's check (for
// the formats that have one; vmdk's only up to 4 GiB, its check being a
// look-up per grain) with no corruption, leak or error. The images qemu's
// own open refuses although qemu-img creates them (a writer keeps qemu's
// bytes) must be refused by the reader too.
//
// RunCreateFuzzInput() is the body; the unit tests also run it over a
// seeded sample (SampleCreateFuzzInputs()), so the normal build exercises
// it too.
//
// Input: byte 0 picks the qemu version (the matrix's seven); bytes 1-8 are
// a size (little endian) that byte 9 shapes (as it is, below 16 MiB, below
// 16 TiB, or a power of two plus a few bytes); bytes 10-41 are the random
// bytes the host would pass; the rest is the -o text.
#ifndef INSTAR_ENGINE_TESTING_CREATE_FUZZ_H_
#define INSTAR_ENGINE_TESTING_CREATE_FUZZ_H_

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "instar/engine/check.h"
#include "instar/engine/format_driver.h"
#include "testing/sparse_device.h"

namespace instar::testing {

// An opener with no other files: the writers make single-file images.
class NoFilesOpener final : public DeviceOpener {
 public:
  Result<BlockDevice*> Open(const char*, size_t) override {
    return Status::IOError("no other files");
  }
};

class DiscardLog final : public CheckLog {
 public:
  void Line(const char*, size_t) override {}
};

// `refused_by_qemu`, when given, says which images qemu's own open
// refuses although qemu-img create makes them (the writer keeps qemu's
// bytes); the reader must refuse exactly those.
using QemuRefusesCreatedImageFunction = bool (*)(const ParsedMeasureOptions& options,
                                                 uint64_t size);

// Runs one input; returns null when everything held, else what failed
// (a string literal).
// `*created` (when given) is set when the hook made an image.
inline const char* RunCreateFuzzInput(ImageFormat format, const char* target_name,
                                      size_t target_name_length, const uint8_t* data, size_t size,
                                      QemuRefusesCreatedImageFunction refused_by_qemu = nullptr,
                                      bool* created = nullptr) {
  if (created != nullptr) *created = false;
  constexpr QemuVersion kVersions[] = {{5, 2, 0},   {7, 2, 18}, {7, 2, 22}, {10, 0, 2},
                                       {10, 0, 13}, {11, 1, 2}, {11, 1, 3}};
  constexpr size_t kHeader = 42;
  if (size < kHeader) return nullptr;
  const QemuVersion compat = kVersions[data[0] % 7];
  uint64_t disk = 0;
  for (int i = 0; i < 8; ++i) disk |= uint64_t{data[1 + i]} << (8 * i);
  switch (data[9] % 4) {
    case 0:
      break;
    case 1:
      disk %= uint64_t{1} << 24;
      break;
    case 2:
      disk %= uint64_t{1} << 44;
      break;
    default:
      disk = (uint64_t{1} << (disk % 64)) + (disk >> 58);
      break;
  }

  static std::vector<uint8_t> buffer(4 << 20);
  Arena arena(buffer.data(), buffer.size());
  ParsedMeasureOptions options;
  MeasureError error;
  const char* text = reinterpret_cast<const char*>(data + kHeader);
  if (!ParseMeasureOptions(format, text, size - kHeader, compat, arena, &options, &error).ok()) {
    return nullptr;
  }
  const FormatDriver* driver = FindFormatDriver(format);
  if (driver == nullptr || driver->create == nullptr) return "the driver has no create hook";
  CreateRequest request;
  request.options = &options;
  request.size = disk;
  request.target_name = MeasureText{target_name, target_name_length};
  request.now_seconds = uint64_t{data[10]} << 24 | uint64_t{data[11]} << 16;
  for (size_t i = 0; i < 32; ++i) request.random[i] = data[10 + i];
  for (size_t i = 32; i < sizeof(request.random); ++i) request.random[i] = data[10 + i - 32] ^ 0x5a;

  SparseDevice device;
  error = MeasureError();
  const Status status = driver->create(request, device, compat, arena, &error);
  if (!status.ok()) {
    if (error.kind != MeasureErrorKind::kNone) {
      char message[512];
      (void)FormatMeasureError(error, message, sizeof(message));
    }
    return nullptr;
  }

  if (created != nullptr) *created = true;
  NoFilesOpener opener;
  OpenOptions open_options;
  open_options.compat = compat;
  auto image = driver->open(device, opener, arena, open_options);
  // The writer made what its reader refuses (running out of the arena is
  // the fuzzer's bound, not a fault).
  const bool refused = refused_by_qemu != nullptr && refused_by_qemu(options, disk);
  if (!image.ok()) {
    if (image.status().code() == StatusCode::kNoSpace || refused) return nullptr;
    // The reader's own words (a Status message is a string literal).
    return image.status().message();
  }
  if (refused) return "the reader accepts an image qemu refuses";
  if ((*image)->VirtualSize() < disk) return "the image is smaller than asked";
  // vmdk's check (qemu's vmdk_co_check) looks every grain up; past 4 GiB
  // (65536 grains) that takes longer than a fuzzer's input should.
  const bool check_too_slow =
      format == ImageFormat::kVmdk && (*image)->VirtualSize() > (uint64_t{1} << 32);
  if (driver->check != nullptr && !check_too_slow) {
    DiscardLog log;
    CheckResult result;
    auto checked = CheckImage(**image, compat, arena, log, &result);
    if (!checked.ok() && checked.status().code() == StatusCode::kNoSpace) return nullptr;
    if (!checked.ok()) return "the check fails";
    if (result.corruptions != 0 || result.leaks != 0 || result.check_errors != 0 ||
        result.failure != CheckFailure::kNone) {
      return "the check finds errors";
    }
  }
  return nullptr;
}

// The fuzzer's entry: aborts (a crash to libFuzzer) on a failure.
inline int FuzzCreateHook(ImageFormat format, const char* target_name, size_t target_name_length,
                          const uint8_t* data, size_t size,
                          QemuRefusesCreatedImageFunction refused_by_qemu = nullptr) {
  if (RunCreateFuzzInput(format, target_name, target_name_length, data, size, refused_by_qemu) !=
      nullptr) {
    std::abort();
  }
  return 0;
}

// Inputs for RunCreateFuzzInput() from a seeded generator: each joins a
// few of `words` (option texts) with ',' after a random header, so that
// the unit tests walk the same body over a fixed sample.
inline std::vector<std::vector<uint8_t>> SampleCreateFuzzInputs(
    const std::vector<const char*>& words, size_t count, uint64_t seed) {
  std::vector<std::vector<uint8_t>> inputs;
  uint64_t state = seed;
  auto next = [&state]() {
    state = state * 6364136223846793005u + 1442695040888963407u;
    return state >> 33;
  };
  for (size_t n = 0; n < count; ++n) {
    std::vector<uint8_t> input(42);
    for (uint8_t& b : input) b = static_cast<uint8_t>(next());
    const size_t word_count = next() % 4;
    for (size_t w = 0; w < word_count && !words.empty(); ++w) {
      if (w != 0) input.push_back(',');
      for (const char* c = words[next() % words.size()]; *c != '\0'; ++c) {
        input.push_back(static_cast<uint8_t>(*c));
      }
    }
    inputs.push_back(std::move(input));
  }
  return inputs;
}

}  // namespace instar::testing

#endif  // INSTAR_ENGINE_TESTING_CREATE_FUZZ_H_
