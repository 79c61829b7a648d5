// Running a format driver's guest-data writer (FormatDriver::open_writer)
// from tests and fuzzers, the write sequences `qemu-img dd` issues, and
// reading back what was written. testing/qemu_writes.h runs qemu's side.
#ifndef INSTAR_ENGINE_TESTING_WRITE_SEQUENCE_H_
#define INSTAR_ENGINE_TESTING_WRITE_SEQUENCE_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "instar/engine/compare.h"
#include "instar/engine/format_driver.h"
#include "instar/engine/modify.h"
#include "testing/create_fuzz.h"
#include "testing/create_hook.h"
#include "testing/memory_device.h"

namespace instar::testing {

// One guest write: `length` bytes at `offset`, taken from `source` at
// `source_offset` (a dd input), or all `pattern` (qemu-io's -P) when
// `source` is null; a WriteCompressed() (qemu-io's write -c) when
// `compressed`.
struct GuestWrite {
  uint64_t offset = 0;
  uint64_t length = 0;
  uint8_t pattern = 0;
  const std::vector<uint8_t>* source = nullptr;
  uint64_t source_offset = 0;
  bool compressed = false;
};

// qemu-img dd's operands, as cases/dd.json gives them.
struct DdOperands {
  uint64_t bs = 512;
  uint64_t skip = 0;
  bool has_skip = false;
  uint64_t count = 0;
  bool has_count = false;
};

// What qemu-img.c img_dd() does with an input of `input.size()` bytes: the
// size it creates the output with (count is applied to the input before
// skip is taken off, as img_dd() does), and its writes, bs bytes at a time
// (the last one shorter), from output offset 0.
inline std::vector<GuestWrite> DdWrites(const std::vector<uint8_t>& input, const DdOperands& dd,
                                        uint64_t* output_size) {
  uint64_t size = input.size();
  if (dd.has_count && dd.count * dd.bs < size) size = dd.count * dd.bs;
  const uint64_t skip_bytes = dd.has_skip ? dd.skip * dd.bs : 0;
  *output_size = size < skip_bytes ? 0 : size - skip_bytes;
  std::vector<GuestWrite> writes;
  uint64_t out = 0;
  for (uint64_t in = skip_bytes; in < size;) {
    const uint64_t n = in + dd.bs > size ? size - in : dd.bs;
    writes.push_back({out, n, 0, &input, in});
    in += n;
    out += n;
  }
  return writes;
}

inline std::vector<std::string> DdArguments(const DdOperands& dd) {
  std::vector<std::string> args;
  if (dd.bs != 512) args.push_back("bs=" + std::to_string(dd.bs));
  if (dd.has_skip) args.push_back("skip=" + std::to_string(dd.skip));
  if (dd.has_count) args.push_back("count=" + std::to_string(dd.count));
  return args;
}

// The writes `qemu-img convert` makes into a new image when it compresses
// (-c, or a target whose writes must all be compressed): the input in
// clusters of `cluster_bytes` from offset 0 (the last one shorter), in
// order, each a compressed write, skipping the clusters that are all zero
// (convert_co_write() with has_zero_init: the target reads zeros there).
inline std::vector<GuestWrite> CompressedConvertWrites(const std::vector<uint8_t>& input,
                                                       uint64_t cluster_bytes) {
  std::vector<GuestWrite> writes;
  for (uint64_t at = 0; at < input.size(); at += cluster_bytes) {
    const uint64_t n = input.size() - at < cluster_bytes ? input.size() - at : cluster_bytes;
    bool zero = true;
    for (uint64_t i = 0; i < n && zero; ++i) zero = input[at + i] == 0;
    if (!zero) writes.push_back({at, n, 0, &input, at, true});
  }
  return writes;
}

// A write of an image over a backing file: data of `pattern`, or, with
// `zeroes`, qemu's write-zeroes with BDRV_REQ_MAY_UNMAP (qemu-io's
// `write -z -u`).
struct OverlayWrite {
  uint64_t offset;
  uint64_t length;
  uint8_t pattern;
  bool zeroes;
};

// The qemu-io command of each write (`-c`, then the command).
inline std::vector<std::string> QemuIoOverlayCommands(const std::vector<OverlayWrite>& writes) {
  std::vector<std::string> args;
  for (const OverlayWrite& w : writes) {
    args.push_back("-c");
    const std::string range = std::to_string(w.offset) + " " + std::to_string(w.length);
    args.push_back(w.zeroes ? "write -q -z -u " + range
                            : "write -q -P " + std::to_string(w.pattern) + " " + range);
  }
  return args;
}

// Issues `writes` to `writer` (Write() or WriteZeroes()): empty when all
// succeeded, else what failed.
inline std::string ApplyOverlayWrites(ImageWriter& writer,
                                      const std::vector<OverlayWrite>& writes) {
  for (const OverlayWrite& w : writes) {
    Status status = Status::Ok();
    if (w.zeroes) {
      status = writer.WriteZeroes(w.offset, w.length);
    } else {
      const std::vector<uint8_t> data(w.length, w.pattern);
      status = writer.Write(w.offset, data.data(), data.size());
    }
    if (!status.ok()) {
      return "write " + std::to_string(w.offset) + "+" + std::to_string(w.length) + ": " +
             status.message();
    }
  }
  return "";
}

// Test input: bytes no two sectors of which are equal and none zero.
// Opens the image of `format` on `device` for guest writes over its backing
// chain, which `opener` holds (a write with a backing file: convert -B):
// the format's reader, OpenBackingChain(), then the writer, in `arena`.
// The error of whichever step failed.
inline Result<ImageWriter*> OpenOverlayWriter(ImageFormat format, WritableDevice& device,
                                              DeviceOpener& opener, const WriterEntropy& entropy,
                                              const QemuVersion& compat, Arena& arena) {
  const FormatDriver* driver = FindFormatDriver(format);
  if (driver == nullptr || driver->open_writer == nullptr) {
    return Status::NotSupported("no writer for the format");
  }
  OpenOptions options;
  options.compat = compat;
  INSTAR_ASSIGN_OR_RETURN(Image * image, driver->open(device, opener, arena, options));
  INSTAR_RETURN_IF_ERROR(OpenBackingChain(*image, opener, arena, options));
  return driver->open_writer(*image, device, entropy, compat, arena);
}

inline std::vector<uint8_t> PatternInput(uint64_t size) {
  std::vector<uint8_t> bytes(size);
  for (uint64_t i = 0; i < size; ++i) {
    bytes[i] = static_cast<uint8_t>(((i * 131) ^ (i >> 9) ^ (i >> 17)) | 1);
  }
  return bytes;
}

// Opens the image in `device` with its driver's reader, opens the writer
// with `entropy`, issues `writes` one Write() (WriteCompressed() where
// compressed) each, then Finish(). Empty when all of it succeeded;
// otherwise what failed.
inline std::string RunWriter(ImageFormat format, MemoryDevice& device, const QemuVersion& compat,
                             const WriterEntropy& entropy, const std::vector<GuestWrite>& writes) {
  std::vector<uint8_t> buffer(16 << 20);
  Arena arena(buffer.data(), buffer.size());
  const FormatDriver* driver = FindFormatDriver(format);
  if (driver == nullptr || driver->open_writer == nullptr) return "no open_writer hook";
  // The files beside the image are the device's siblings (the other
  // outputs of a command, as a vmdk monolithicFlat's extent), and only those.
  class Siblings final : public DeviceOpener {
   public:
    explicit Siblings(MemoryDevice& device) : device_(device) {}
    Result<BlockDevice*> Open(const char* name, size_t length) override {
      MemoryDevice* sibling = device_.sibling(std::string(name, length));
      if (sibling == nullptr) return Status::IOError("no other files");
      return static_cast<BlockDevice*>(sibling);
    }

   private:
    MemoryDevice& device_;
  } opener(device);
  OpenOptions options;
  options.compat = compat;
  auto image = driver->open(device, opener, arena, options);
  if (!image.ok()) return std::string("open: ") + image.status().message();
  auto writer = driver->open_writer(**image, device, entropy, compat, arena);
  if (!writer.ok()) return std::string("open_writer: ") + writer.status().message();
  std::vector<uint8_t> data;
  for (const GuestWrite& w : writes) {
    data.assign(w.length, w.pattern);
    if (w.source != nullptr) {
      data.assign(w.source->begin() + static_cast<std::ptrdiff_t>(w.source_offset),
                  w.source->begin() + static_cast<std::ptrdiff_t>(w.source_offset + w.length));
    }
    const Status status = w.compressed
                              ? (*writer)->WriteCompressed(w.offset, data.data(), data.size())
                              : (*writer)->Write(w.offset, data.data(), data.size());
    if (!status.ok()) {
      return "write " + std::to_string(w.offset) + "+" + std::to_string(w.length) + ": " +
             status.message();
    }
  }
  const Status finished = (*writer)->Finish();
  if (!finished.ok()) return std::string("finish: ") + finished.message();
  return "";
}

// Reopens the written image with the engine's reader, runs the engine's
// check where the format has one (which must find nothing), and reads the
// guest disk back (all of a disk of up to 64 MiB; of a larger one, each
// write's range and 1 MiB either side): empty when it reads as `writes`
// left it.
inline std::string VerifyWritten(ImageFormat format, BlockDevice& device, const QemuVersion& compat,
                                 const std::vector<GuestWrite>& writes) {
  // One arena and one pair of chunk buffers, kept across calls: a fuzzer
  // calls this for every input.
  constexpr uint64_t kChunk = 1 << 20;
  static std::vector<uint8_t> buffer(8 << 20);
  static std::vector<uint8_t> guest(kChunk);
  static std::vector<uint8_t> want(kChunk);
  Arena arena(buffer.data(), buffer.size());
  NoFilesOpener opener;
  OpenOptions options;
  options.compat = compat;
  const FormatDriver* driver = FindFormatDriver(format);
  auto image = driver->open(device, opener, arena, options);
  if (!image.ok()) return std::string("open: ") + image.status().message();
  const uint64_t size = (*image)->VirtualSize();
  // vmdk's check looks every grain up: past 4 GiB it is too slow.
  if (driver->check != nullptr && (format != ImageFormat::kVmdk || size <= (uint64_t{1} << 32))) {
    CollectingCheckLog log;
    CheckResult result;
    const size_t mark = arena.Mark();
    auto checked = CheckImage(**image, compat, arena, log, &result);
    arena.Reset(mark);
    if (!checked.ok()) return std::string("check: ") + checked.status().message();
    if (result.corruptions != 0 || result.leaks != 0 || result.check_errors != 0) {
      std::string lines;
      for (const std::string& l : log.lines) lines += l + "\n";
      return "check found problems:\n" + lines;
    }
  }
  std::vector<std::pair<uint64_t, uint64_t>> ranges;  // start, end
  constexpr uint64_t kWhole = 64 << 20, kMargin = 1 << 20;
  if (size <= kWhole) {
    ranges.emplace_back(0, size);
  } else {
    for (const GuestWrite& w : writes) {
      const uint64_t start = w.offset < kMargin ? 0 : w.offset - kMargin;
      const uint64_t end = w.offset + w.length + kMargin;
      ranges.emplace_back(start, end < size ? end : size);
    }
  }
  for (auto [range_start, range_end] : ranges) {
    for (uint64_t start = range_start; start < range_end; start += kChunk) {
      const uint64_t end = range_end - start < kChunk ? range_end : start + kChunk;
      const size_t n = static_cast<size_t>(end - start);
      std::memset(guest.data(), 0xee, n);
      const Status read = ReadGuest(**image, start, n, guest.data(), compat, arena);
      if (!read.ok()) return std::string("read: ") + read.message();
      // What the writes left there, the later over the earlier.
      std::memset(want.data(), 0, n);
      for (const GuestWrite& w : writes) {
        const uint64_t from = w.offset > start ? w.offset : start;
        const uint64_t to = w.offset + w.length < end ? w.offset + w.length : end;
        if (from >= to) continue;
        if (w.source != nullptr) {
          std::memcpy(want.data() + (from - start),
                      w.source->data() + w.source_offset + (from - w.offset), to - from);
        } else {
          std::memset(want.data() + (from - start), w.pattern, to - from);
        }
      }
      for (size_t i = 0; i < n; ++i) {
        if (guest[i] != want[i]) {
          return "guest byte " + std::to_string(start + i) + " reads " + std::to_string(guest[i]) +
                 ", written " + std::to_string(want[i]);
        }
      }
    }
  }
  return "";
}

}  // namespace instar::testing

#endif  // INSTAR_ENGINE_TESTING_WRITE_SEQUENCE_H_
