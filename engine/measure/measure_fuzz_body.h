// The body of measure_fuzz (see measure_fuzz.cc for what it checks), in a
// header so that measure_fuzz_regression_test.cc replays kept inputs
// through exactly the same code in the unit tests.
#ifndef INSTAR_ENGINE_MEASURE_MEASURE_FUZZ_BODY_H_
#define INSTAR_ENGINE_MEASURE_MEASURE_FUZZ_BODY_H_

#include <cerrno>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "instar/engine/measure.h"
#include "measure/qemu_numbers.h"

namespace instar::measure_fuzz {

using instar::Arena;
using instar::BlockStatus;
using instar::Image;
using instar::ImageFormat;
using instar::MeasureError;
using instar::MeasureRequest;
using instar::MeasureResult;
using instar::MeasureSource;
using instar::ParsedMeasureOptions;
using instar::QemuVersion;
using instar::Result;
using instar::Status;

inline void Check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "measure_fuzz: invariant failed: %s\n", what);
    std::abort();
  }
}

class EmptyDevice final : public instar::BlockDevice {
 public:
  Status Read(uint64_t, void* buffer, size_t length) override {
    std::memset(buffer, 0, length);
    return Status::Ok();
  }
  uint64_t Size() const override { return 0; }
  Result<uint64_t> SeekData(uint64_t) override { return kNoData; }
  Result<uint64_t> SeekHole(uint64_t) override { return uint64_t{0}; }
};

class RunsImage final : public Image {
 public:
  struct Run {
    uint64_t length;
    uint32_t flags;
  };
  RunsImage(uint64_t size, std::vector<Run> runs) : size_(size), runs_(std::move(runs)) {}
  ImageFormat format() const override { return ImageFormat::kRaw; }
  uint64_t VirtualSize() const override { return size_; }
  instar::BlockDevice& file() override { return file_; }
  bool HasDriverBlockStatus() const override { return true; }
  Result<BlockStatus> DriverBlockStatus(bool, uint64_t offset, uint64_t bytes) override {
    uint64_t start = 0;
    for (const Run& run : runs_) {
      if (offset < start + run.length) {
        BlockStatus s;
        s.flags = run.flags;
        s.bytes = start + run.length - offset < bytes ? start + run.length - offset : bytes;
        return s;
      }
      start += run.length;
    }
    BlockStatus s;  // past the runs: a hole to the end
    s.bytes = bytes;
    return s;
  }

 private:
  uint64_t size_;
  std::vector<Run> runs_;
  EmptyDevice file_;
};

inline Result<BlockStatus> DriverOnly(Image& image, uint64_t offset, uint64_t bytes,
                                      const QemuVersion&) {
  return image.DriverBlockStatus(true, offset, bytes);
}

inline void CheckFormatting(const MeasureError& error) {
  const size_t needed = instar::FormatMeasureError(error, nullptr, 0);
  std::vector<char> buffer(needed + 16, '\x7f');
  const size_t small = needed / 2;
  Check(instar::FormatMeasureError(error, buffer.data(), small) == needed, "length is stable");
  Check(small == 0 || buffer[small - 1] == '\0', "truncated text is terminated");
  Check(buffer[small] == '\x7f', "no write past the capacity");
  Check(instar::FormatMeasureError(error, buffer.data(), needed + 1) == needed, "full length");
  Check(buffer[needed] == '\0', "full text is terminated");
}

inline void CheckAgainstGlibc(const std::string& text) {
  using instar::measure_internal::SoftDouble;
  const std::string c = text.substr(0, text.find('\0'));
  for (int base : {0, 10, 16}) {
    errno = 0;
    char* end = nullptr;
    const unsigned long long expected = std::strtoull(c.c_str(), &end, base);
    const bool range = errno == ERANGE;
    uint64_t value;
    size_t consumed;
    bool overflow;
    instar::measure_internal::StrToULL(text.data(), text.size(), base, &value, &consumed,
                                       &overflow);
    Check(consumed == static_cast<size_t>(end - c.c_str()), "strtoull end");
    Check(value == expected && overflow == range, "strtoull value");
  }
  errno = 0;
  char* end = nullptr;
  const double expected = std::strtod(c.c_str(), &end);
  const bool range = errno == ERANGE;
  SoftDouble value;
  size_t consumed;
  bool soft_range;
  instar::measure_internal::StrToD(text.data(), text.size(), &value, &consumed, &soft_range);
  Check(consumed == static_cast<size_t>(end - c.c_str()), "strtod end");
  if (std::isnan(expected)) {
    Check(value.nan, "strtod nan");
  } else if (expected != 0 && std::fabs(expected) < 2.2250738585072014e-308) {
    Check(soft_range, "strtod subnormal range");
  } else if (!(expected == 0 && range)) {
    double d =
        value.infinite ? HUGE_VAL : std::ldexp(static_cast<double>(value.mantissa), value.exponent);
    if (value.negative) d = -d;
    Check(d == expected && soft_range == range, "strtod value");
  }
}

// The -o text read as -l and as --object too: whatever they refuse is
// worded without a fault.
inline void CheckSnapshotAndObject(const std::string& text, const QemuVersion& version) {
  std::vector<uint8_t> buffer(4 * text.size() + 8192);
  Arena arena(buffer.data(), buffer.size());
  instar::SnapshotParamList list;
  instar::MeasureSnapshot snapshot;
  MeasureError error;
  if (!instar::ParseSnapshotParam(text.data(), text.size(), version, arena, &list, &snapshot,
                                  &error)
           .ok() &&
      error.kind != instar::MeasureErrorKind::kNone) {
    CheckFormatting(error);
  }
  instar::MeasureObject object;
  error = MeasureError();
  instar::MeasureSecrets secrets;
  Status s = instar::ReadMeasureObject(text.data(), text.size(), version, arena, nullptr, 0,
                                       &object, &error);
  if (s.ok() && !object.help) {
    s = instar::MakeMeasureObject(object, version, secrets, &error);
    if (s.ok()) {
      const instar::MeasureText data = object.data.data != nullptr ? object.data : object.file;
      s = instar::FinishMeasureSecret(object, reinterpret_cast<const uint8_t*>(data.data),
                                      data.length, arena, &secrets, &error);
    }
  }
  if (!s.ok() && error.kind != instar::MeasureErrorKind::kNone) CheckFormatting(error);
}

// One fuzz input; aborts when an invariant fails.
inline int MeasureFuzzOne(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  static const QemuVersion kVersions[] = {{5, 2, 0},   {7, 2, 18}, {7, 2, 22}, {10, 0, 2},
                                          {10, 0, 13}, {11, 1, 2}, {11, 1, 3}, {6, 2, 0},
                                          {8, 0, 0},   {9, 0, 0}};
  static const char* const kTargets[] = {"qcow2", "raw", "vmdk", "vpc",       "vhdx", "qed",
                                         "luks",  "vdi", "qcow", "parallels", "dmg",  "bogus"};
  const QemuVersion version = kVersions[data[0] % (sizeof(kVersions) / sizeof(kVersions[0]))];
  const char* target_name = kTargets[(data[1] & 0x3f) % (sizeof(kTargets) / sizeof(kTargets[0]))];
  const bool source_mode = (data[1] & 0x40) != 0;
  const bool refuse_like_qemu = (data[1] & 0x80) != 0;

  const std::string rest(reinterpret_cast<const char*>(data + 2), size - 2);
  const size_t first = rest.find('\n');
  const std::string size_text = rest.substr(0, first);
  const size_t second = first == std::string::npos ? std::string::npos : rest.find('\n', first + 1);
  const std::string options =
      first == std::string::npos ? "" : rest.substr(first + 1, second - first - 1);
  const std::string runs_bytes = second == std::string::npos ? "" : rest.substr(second + 1);

  CheckAgainstGlibc(size_text);
  CheckSnapshotAndObject(options, version);

  MeasureError error;
  uint64_t measure_size = 0;
  bool warning = false;
  if (!instar::ParseMeasureSize(size_text.data(), size_text.size(), version, &measure_size,
                                &warning, &error)
           .ok()) {
    CheckFormatting(error);
    return 0;
  }
  if (!options.empty() && !instar::CheckOptionList(options.data(), options.size(), &error).ok()) {
    CheckFormatting(error);
    return 0;
  }
  ImageFormat target;
  if (!instar::LookUpMeasureTarget(target_name, std::strlen(target_name), version, &target, &error)
           .ok()) {
    CheckFormatting(error);
    return 0;
  }
  std::vector<uint8_t> arena_buffer(options.size() + 64);
  Arena arena(arena_buffer.data(), arena_buffer.size());
  ParsedMeasureOptions parsed;
  if (!instar::ParseMeasureOptions(target, options.data(), options.size(), version, arena, &parsed,
                                   &error)
           .ok()) {
    CheckFormatting(error);
    return 0;
  }

  std::vector<RunsImage::Run> runs;
  uint64_t source_size = 0;
  for (size_t i = 0; i + 5 <= runs_bytes.size() && runs.size() < 64; i += 5) {
    uint32_t length;
    std::memcpy(&length, runs_bytes.data() + i + 1, 4);
    // Scale some runs up so sources reach terabytes.
    const uint64_t scaled = (runs_bytes[i] & 0x80) != 0 ? uint64_t{length} << 16 : length;
    runs.push_back({scaled, static_cast<uint8_t>(runs_bytes[i]) & 0x3fu});
    source_size += scaled;
  }
  RunsImage image(source_size, runs);
  MeasureSource source;
  source.image = &image;
  source.block_status = &DriverOnly;
  source.supports_persistent_bitmaps = (data[1] & 0x20) != 0;
  if (source.supports_persistent_bitmaps && !runs_bytes.empty()) {
    source.bitmaps.Add(static_cast<uint8_t>(runs_bytes[0]), 9 + runs_bytes.size() % 23);
  }

  MeasureRequest request;
  request.options = &parsed;
  request.has_size = !source_mode;
  request.size = measure_size;
  request.refuse_like_qemu = refuse_like_qemu;
  // A secret "s" for LUKS's key-secret, UTF-8 or not.
  instar::MeasureSecrets secrets;
  secrets.entries[0].id = instar::MeasureText{"s", 1};
  secrets.entries[0].valid_utf8 = (data[0] & 0x80) != 0;
  secrets.count = 1;
  request.secrets = &secrets;
  request.target_name = instar::MeasureText{options.data(), options.size() % 40};
  Result<MeasureResult> result =
      instar::Measure(request, source_mode ? &source : nullptr, version, &error);
  if (!result.ok()) {
    if (error.kind != instar::MeasureErrorKind::kNone) CheckFormatting(error);
    return 0;
  }
  Check(result->required <= result->fully_allocated, "required <= fully_allocated");
  return 0;
}

}  // namespace instar::measure_fuzz

#endif  // INSTAR_ENGINE_MEASURE_MEASURE_FUZZ_BODY_H_
