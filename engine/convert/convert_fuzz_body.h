// The body of convert_fuzz, the libFuzzer target of the convert planner
// (instar/engine/convert.h): a random image converted into a new image of
// a random format, as `qemu-img convert` would, all in memory. Nothing may
// crash; a conversion that succeeds must read back as its source (every
// byte of the source's length, through the target format's own reader);
// a conversion may fail only where the source cannot be read (a hostile
// image's block status or data), or where the target's bounded device or
// the arena runs out (the fuzzer's limits). A writer refusing a write the
// planner made is a fault.
//
// Input: byte 0 picks the qemu version (the matrix's seven); byte 1 the
// target (bits 0-2 and 6: raw, qcow2, vmdk, vpc, vhdx, qcow2 with 4 KiB
// clusters, a streamOptimized vmdk, a version 2 qcow2, a zstd qcow2), -c
// (bit 3: for qcow2 and vmdk) and -S (bits 4-5: 8 sectors, 0, 1, 128); bytes 2-65 the writers'
// random bytes; the rest is the source image, probed as qemu probes it (its backing files are not
// there: such an image fails to open, which is fine).
//
// ConvertFuzzOne() is the body; convert_fuzz_test.cc runs it over the
// corpus images and mutations of them, so the normal build exercises it.
#ifndef INSTAR_ENGINE_CONVERT_CONVERT_FUZZ_BODY_H_
#define INSTAR_ENGINE_CONVERT_CONVERT_FUZZ_BODY_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "instar/engine/compare.h"
#include "instar/engine/convert.h"
#include "instar/engine/format_driver.h"
#include "testing/create_fuzz.h"
#include "testing/memory_device.h"
#include "testing/sparse_device.h"

namespace instar::convert_fuzz {

struct Target {
  ImageFormat format;
  const char* options;
};

inline constexpr Target kTargets[] = {
    {ImageFormat::kRaw, ""},
    {ImageFormat::kQcow2, ""},
    {ImageFormat::kVmdk, ""},
    {ImageFormat::kVpc, ""},
    {ImageFormat::kVhdx, ""},
    {ImageFormat::kQcow2, "cluster_size=4k"},
    {ImageFormat::kVmdk, "subformat=streamOptimized"},
    {ImageFormat::kQcow2, "compat=0.10"},
    {ImageFormat::kQcow2, "compression_type=zstd"},
};

// Runs one input; returns empty when everything held, else what failed.
inline std::string RunConvertFuzzInput(const uint8_t* data, size_t size,
                                       bool* converted = nullptr) {
  constexpr QemuVersion kVersions[] = {{5, 2, 0},   {7, 2, 18}, {7, 2, 22}, {10, 0, 2},
                                       {10, 0, 13}, {11, 1, 2}, {11, 1, 3}};
  constexpr size_t kHeader = 66;
  constexpr uint64_t kSparseChoices[] = {8, 0, 1, 128};
  if (converted != nullptr) *converted = false;
  if (size <= kHeader) return "";
  const QemuVersion compat = kVersions[data[0] % 7];
  const Target& target = kTargets[((data[1] & 7) | ((data[1] >> 6) & 1) << 3) %
                                  (sizeof(kTargets) / sizeof(kTargets[0]))];
  ConvertSettings settings;
  settings.compat = compat;
  settings.compressed = (data[1] & 8) != 0;
  settings.min_sparse = kSparseChoices[(data[1] >> 4) & 3];

  static std::vector<uint8_t> memory(64 << 20);
  Arena arena(memory.data(), memory.size());
  testing::MemoryDevice source_device(std::vector<uint8_t>(data + kHeader, data + size));
  testing::NoFilesOpener opener;
  Result<ImageFormat> probed = ProbeFormat(source_device, "fuzz", 4);
  if (!probed.ok()) return "";
  OpenOptions open_options;
  open_options.compat = compat;
  Result<Image*> source = OpenImage(*probed, source_device, opener, arena, open_options);
  if (!source.ok()) return "";
  QemuLength length;
  const ConvertSource converted_source = ConvertSourceOf(**source, *probed, &length);
  if (!length.ok) return "";
  const uint64_t bytes = converted_source.sectors * 512;
  // Whatever is written must fit the bounded device: a disk the size of
  // the device at most, and -S 0 (which writes every byte) on small ones.
  if (bytes > (uint64_t{1} << 30) || (settings.min_sparse == 0 && bytes > (uint64_t{8} << 20))) {
    return "";
  }

  // The target, as img_convert creates and opens it.
  const FormatDriver* driver = FindFormatDriver(target.format);
  if (driver == nullptr || driver->create == nullptr || driver->open_writer == nullptr) {
    return "the target's driver has no create hook or writer";
  }
  if (settings.compressed && !driver->compressed_writes) return "";
  ParsedMeasureOptions options;
  MeasureError error;
  size_t options_length = 0;
  while (target.options[options_length] != '\0') ++options_length;
  if (!ParseMeasureOptions(target.format, target.options, options_length, compat, arena, &options,
                           &error)
           .ok()) {
    return "";  // an option this version lacks
  }
  CreateRequest request;
  request.options = &options;
  request.size = bytes;
  request.target_name = MeasureText{"fuzz.out", 8};
  request.now_seconds = 1796000000;
  for (size_t i = 0; i < sizeof(request.random); ++i) request.random[i] = data[2 + i];
  testing::SparseDevice output(2048);  // 128 MiB
  if (!driver->create(request, output, compat, arena, &error).ok()) return "";
  Result<Image*> opened = OpenImage(target.format, output, opener, arena, open_options);
  if (!opened.ok()) {
    // qemu cannot open the empty streamOptimized vmdk it creates either
    // (before 8.0: "Unsupported image type"); img_convert fails there too.
    if (bytes == 0) return "";
    return std::string("open of the created target: ") + opened.status().message();
  }
  WriterEntropy entropy;
  for (size_t i = 0; i < sizeof(entropy.random); ++i) entropy.random[i] = data[2 + i] ^ 0x5a;
  Result<ImageWriter*> writer = driver->open_writer(**opened, output, entropy, compat, arena);
  if (!writer.ok()) return "";
  ImageDescription description;
  if (driver->describe != nullptr) driver->describe(**opened, &description);
  settings.compressed = settings.compressed || (*writer)->NeedsCompressedWrites();
  settings.cluster_sectors = description.cluster_size / 512;
  if (settings.compressed &&
      (settings.cluster_sectors == 0 || settings.cluster_sectors > kConvertBufferBytes / 512)) {
    return "";
  }
  settings.has_zero_init = settings.min_sparse != 0;

  static std::vector<uint8_t> buffer(kConvertBufferBytes);
  ConvertFailure failure;
  uint64_t written = 0;
  const Status copied = ConvertImages(&converted_source, 1, settings, **writer, buffer.data(),
                                      arena, &failure, &written);
  if (!copied.ok()) {
    if (failure.step != ConvertStep::kWrite) return "";  // the source cannot be read
    const StatusCode code = copied.code();
    if (code == StatusCode::kIOError || code == StatusCode::kNoSpace) return "";  // the bounds
    return std::string("the writer refused a write of the copy: ") + copied.message();
  }
  if (Status s = (*writer)->Finish(); !s.ok()) {
    if (s.code() == StatusCode::kIOError || s.code() == StatusCode::kNoSpace) return "";
    return std::string("finish: ") + s.message();
  }
  if (converted != nullptr) *converted = true;

  // The target read back through its own reader: the source's bytes.
  static std::vector<uint8_t> check_memory(16 << 20);
  Arena check_arena(check_memory.data(), check_memory.size());
  Result<Image*> reread = OpenImage(target.format, output, opener, check_arena, open_options);
  if (!reread.ok()) return std::string("reopen of the target: ") + reread.status().message();
  const uint64_t source_size = (*source)->VirtualSize();
  if ((*reread)->VirtualSize() < source_size) return "the target is smaller than the source";
  static std::vector<uint8_t> expected(1 << 20);
  static std::vector<uint8_t> actual(1 << 20);
  for (uint64_t at = 0; at < source_size; at += expected.size()) {
    const uint64_t n = source_size - at < expected.size() ? source_size - at : expected.size();
    if (!ReadGuest(**source, at, n, expected.data(), compat, arena).ok()) return "";
    if (Status s = ReadGuest(**reread, at, n, actual.data(), compat, check_arena); !s.ok()) {
      return std::string("read back of the target: ") + s.message();
    }
    // memcmp first: a byte loop under the fuzzer's comparison tracing took
    // a minute over a 4 GiB sparse source, past the 10 s time-out.
    if (std::memcmp(expected.data(), actual.data(), static_cast<size_t>(n)) == 0) continue;
    for (uint64_t i = 0; i < n; ++i) {
      if (expected[i] != actual[i]) {
        return "the target differs from the source at byte " + std::to_string(at + i);
      }
    }
  }
  return "";
}

}  // namespace instar::convert_fuzz

#endif  // INSTAR_ENGINE_CONVERT_CONVERT_FUZZ_BODY_H_
