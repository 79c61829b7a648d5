// The body of the guest-data writers' libFuzzer targets
// (engine/{vpc,vhdx,vmdk}/*_write_fuzz.cc): a create hook makes an image
// of a random size with one of a few -o texts, the driver's writer opens
// it and issues random writes (Write(), then Finish()) into a bounded
// SparseDevice. Where the driver has compressed writes, a writer that
// needs them (a streamOptimized vmdk), or byte 6's bit 4, makes every
// write a WriteCompressed() of the whole cluster holding the write's
// offset (cut at the disk's end), each cluster once, as convert writes
// them. Nothing may crash; the image must reopen with the
// engine's reader, pass the engine's check where the format has one, and
// read back what was written (testing/write_sequence.h VerifyWritten()).
// Running out of the device's bound or of the arena ends an input early,
// as the fuzzer's limits, not a fault.
//
// Input: byte 0 picks the qemu version (the matrix's seven); byte 1 the
// -o text from WriteFuzzOptions(); bytes 2-5 the disk size (little endian,
// below 4 MiB unless byte 6 says a large one: up to 64 GiB); bytes 7-70
// the writer's random bytes; then 8 bytes per write, at most 32 writes:
// the offset (4 bytes, scaled to the disk), the length (3 bytes, at most
// 256 KiB, cut at the disk's end) and the pattern.
//
// A driver with compressed writes (FormatDriver::compressed_writes) takes
// a WriteCompressed() where the length's top bit is set: offset and length
// rounded down to 512 << (pattern % 13) bytes (a cluster when that is the
// image's), the data the pattern or, for an odd pattern, bytes that do not
// compress. One the writer refuses as not whole fresh clusters (having
// written nothing) is left out; a normal write onto a compressed cluster
// (NotSupported) ends the input.
//
// RunWriteFuzzInput() is the body; the unit tests run it over a seeded
// sample (SampleWriteFuzzInputs()) so the normal build exercises it too.
#ifndef INSTAR_ENGINE_TESTING_WRITE_FUZZ_H_
#define INSTAR_ENGINE_TESTING_WRITE_FUZZ_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "instar/engine/format_driver.h"
#include "testing/create_fuzz.h"
#include "testing/sparse_device.h"
#include "testing/write_sequence.h"

namespace instar::testing {

// The -o texts the fuzzer creates images with: the subformats and options
// each writer handles.
inline std::vector<const char*> WriteFuzzOptions(ImageFormat format) {
  switch (format) {
    case ImageFormat::kVpc:
      return {"", "subformat=fixed", "force_size=on", "subformat=dynamic,force_size=on"};
    case ImageFormat::kVmdk:
      return {"",
              "zeroed_grain=on",
              "compat6=on",
              "adapter_type=lsilogic",
              "subformat=streamOptimized",
              "subformat=streamOptimized,zeroed_grain=on"};
    case ImageFormat::kQcow2:
      return {"",
              "cluster_size=512",
              "cluster_size=4k,refcount_bits=1",
              "cluster_size=2M",
              "compat=0.10",
              "refcount_bits=64"};
    case ImageFormat::kVhdx:
      return {"",
              "block_size=1M",
              "block_state_zero=off",
              "subformat=fixed",
              "block_size=1M,block_state_zero=off",
              "log_size=2M,block_size=2M"};
    default:
      return {};
  }
}

// Whether what `compat` writes reads back as written: vhdx before 8.0 and
// 7.2.2 moves BAT entries when it logs one at a BAT sector's start
// (vhdx_write.cc), so only its structure is checked there.
inline bool ReadsBack(ImageFormat format, const QemuVersion& compat) {
  return format != ImageFormat::kVhdx || compat.AtLeast(7, 2, 2);
}

// Runs one input; returns empty when everything held, else what failed.
inline std::string RunWriteFuzzInput(ImageFormat format, const uint8_t* data, size_t size,
                                     bool* wrote = nullptr) {
  const std::vector<const char*> options = WriteFuzzOptions(format);
  if (wrote != nullptr) *wrote = false;
  constexpr QemuVersion kVersions[] = {{5, 2, 0},   {7, 2, 18}, {7, 2, 22}, {10, 0, 2},
                                       {10, 0, 13}, {11, 1, 2}, {11, 1, 3}};
  constexpr size_t kHeader = 71;
  constexpr size_t kMaxWrites = 32;
  if (size < kHeader || options.empty()) return "";
  const QemuVersion compat = kVersions[data[0] % 7];
  const char* text = options[data[1] % options.size()];
  uint64_t disk = uint64_t{data[2]} | uint64_t{data[3]} << 8 | uint64_t{data[4]} << 16 |
                  uint64_t{data[5]} << 24;
  disk = data[6] % 8 == 0 ? (disk << 4) % (uint64_t{1} << 36) : disk % (uint64_t{4} << 20);
  if (disk == 0) disk = 512;

  static std::vector<uint8_t> buffer(8 << 20);
  Arena arena(buffer.data(), buffer.size());
  ParsedMeasureOptions parsed;
  MeasureError error;
  size_t text_length = 0;
  while (text[text_length] != '\0') ++text_length;
  if (!ParseMeasureOptions(format, text, text_length, compat, arena, &parsed, &error).ok()) {
    return std::string("options do not parse: ") + text;
  }
  const FormatDriver* driver = FindFormatDriver(format);
  if (driver == nullptr || driver->create == nullptr || driver->open_writer == nullptr) {
    return "the driver has no create hook or writer";
  }
  CreateRequest request;
  request.options = &parsed;
  request.size = disk;
  request.target_name = MeasureText{"fuzz.img", 8};
  request.now_seconds = 1796000000;
  for (size_t i = 0; i < sizeof(request.random); ++i) request.random[i] = data[7 + i] ^ 0x3c;
  SparseDevice device(1024);  // 64 MiB
  if (!driver->create(request, device, compat, arena, &error).ok()) return "";

  NoFilesOpener opener;
  OpenOptions open_options;
  open_options.compat = compat;
  auto image = driver->open(device, opener, arena, open_options);
  if (!image.ok()) return std::string("open of the created image: ") + image.status().message();
  const uint64_t virtual_size = (*image)->VirtualSize();
  WriterEntropy entropy;
  for (size_t i = 0; i < sizeof(entropy.random); ++i) entropy.random[i] = data[7 + i];
  auto writer = driver->open_writer(**image, device, entropy, compat, arena);
  if (!writer.ok()) {
    if (writer.status().code() == StatusCode::kNoSpace) return "";
    return std::string("open_writer: ") + writer.status().message();
  }
  // Compressed writes: whole clusters (describe's cluster size), each once.
  const bool compressed_mode =
      driver->compressed_writes && ((*writer)->NeedsCompressedWrites() || (data[6] & 0x10) != 0);
  uint64_t cluster = 0;
  if (compressed_mode && driver->describe != nullptr) {
    ImageDescription description;
    driver->describe(**image, &description);
    cluster = description.cluster_size;
  }
  if (compressed_mode && cluster == 0) return "compressed writes without a cluster size";
  std::vector<uint64_t> written_clusters;
  std::vector<GuestWrite> writes;
  std::vector<uint8_t> bytes;
  static const std::vector<uint8_t> noise = [] {
    std::vector<uint8_t> v((256 << 10) + 1);
    uint64_t state = 0x9e3779b97f4a7c15u;
    for (uint8_t& b : v) {
      state = state * 6364136223846793005u + 1442695040888963407u;
      b = static_cast<uint8_t>(state >> 56);
    }
    return v;
  }();
  bool wrote_compressed = false;  // a compressed write of the top bit's went in
  for (size_t at = kHeader; at + 8 <= size && writes.size() < kMaxWrites; at += 8) {
    const uint64_t raw = uint64_t{data[at]} | uint64_t{data[at + 1]} << 8 |
                         uint64_t{data[at + 2]} << 16 | uint64_t{data[at + 3]} << 24;
    auto offset = static_cast<uint64_t>(static_cast<unsigned __int128>(raw) * virtual_size >> 32);
    uint64_t length =
        (uint64_t{data[at + 4]} | uint64_t{data[at + 5]} << 8 | uint64_t{data[at + 6]} << 16) %
        ((256 << 10) + 1);
    if (length > virtual_size - offset) length = virtual_size - offset;
    if (compressed_mode) {
      offset -= offset % cluster;
      bool again = false;
      for (uint64_t c : written_clusters) again = again || c == offset;
      if (again) continue;
      written_clusters.push_back(offset);
      length = virtual_size - offset < cluster ? virtual_size - offset : cluster;
    }
    const uint8_t pattern = data[at + 7];
    if (driver->compressed_writes && (data[at + 6] & 0x80) != 0) {
      const uint64_t unit = uint64_t{512} << (pattern % 13);
      const uint64_t start = offset / unit * unit;
      uint64_t n = length / unit * unit;
      if (n == 0) n = unit;
      if (n > virtual_size - start) n = virtual_size - start;  // the disk's tail
      const bool incompressible = (pattern & 1) != 0;
      if (incompressible && n > noise.size()) continue;
      if (incompressible) {
        bytes.assign(noise.begin(), noise.begin() + static_cast<std::ptrdiff_t>(n));
      } else {
        bytes.assign(n, pattern);
      }
      const Status status = (*writer)->WriteCompressed(start, bytes.data(), n);
      if (status.code() == StatusCode::kInvalidArgument) continue;  // nothing written
      if (!status.ok()) {
        if (status.code() == StatusCode::kIOError || status.code() == StatusCode::kNoSpace) {
          return "";
        }
        return std::string("compressed write: ") + status.message();
      }
      wrote_compressed = true;
      if (incompressible) {
        writes.push_back({start, n, 0, &noise, 0});
      } else {
        writes.push_back({start, n, pattern});
      }
      continue;
    }
    bytes.assign(length, pattern);
    const Status status = compressed_mode ? (*writer)->WriteCompressed(offset, bytes.data(), length)
                                          : (*writer)->Write(offset, bytes.data(), bytes.size());
    if (!status.ok()) {
      // A whole-cluster compressed write onto a cluster a top-bit write
      // compressed first: refused, nothing written.
      if (compressed_mode && status.code() == StatusCode::kInvalidArgument) continue;
      // Over a compressed cluster: qemu would copy it; the writer refuses.
      if (status.code() == StatusCode::kNotSupported && wrote_compressed) return "";
      // The device's bound reached: the input ends here.
      if (status.code() == StatusCode::kIOError || status.code() == StatusCode::kNoSpace) {
        return "";
      }
      return std::string("write: ") + status.message();
    }
    writes.push_back({offset, length, pattern, nullptr, 0, compressed_mode});
  }
  const Status finished = (*writer)->Finish();
  if (!finished.ok()) return std::string("finish: ") + finished.message();
  if (wrote != nullptr) *wrote = !writes.empty();
  if (!ReadsBack(format, compat)) {
    ReopenedImage reopened = Reopen(format, device, compat, virtual_size <= (uint64_t{1} << 32));
    if (!reopened.failure.empty()) return reopened.failure;
    return "";
  }
  return VerifyWritten(format, device, compat, writes);
}

// The fuzzer's entry: aborts (a crash to libFuzzer) on a failure.
inline int FuzzWriter(ImageFormat format, const uint8_t* data, size_t size) {
  const std::string failure = RunWriteFuzzInput(format, data, size);
  if (!failure.empty()) {
    std::fprintf(stderr, "%s\n", failure.c_str());
    std::abort();
  }
  return 0;
}

// Inputs for RunWriteFuzzInput() from a seeded generator, `writes` writes
// at most each, small disks and writes mostly (an eighth of the disks are
// large: byte 6).
inline std::vector<std::vector<uint8_t>> SampleWriteFuzzInputs(size_t count, size_t writes,
                                                               uint64_t seed) {
  std::vector<std::vector<uint8_t>> inputs;
  uint64_t state = seed;
  auto next = [&state]() {
    state = state * 6364136223846793005u + 1442695040888963407u;
    return static_cast<uint8_t>(state >> 33);
  };
  for (size_t n = 0; n < count; ++n) {
    std::vector<uint8_t> input(71 + 8 * (1 + n % writes));
    for (uint8_t& b : input) b = next();
    if (n % 5 != 0) input[4] &= 0x0f;  // below 1 MiB mostly
    for (size_t at = 71; at + 8 <= input.size(); at += 8) {
      input[at + 6] = 0;                     // writes below 64 KiB
      if (n % 3 == 0) input[at + 5] &= 0x3;  // and some small
    }
    inputs.push_back(std::move(input));
  }
  return inputs;
}

}  // namespace instar::testing

#endif  // INSTAR_ENGINE_TESTING_WRITE_FUZZ_H_
