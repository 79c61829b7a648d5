// libFuzzer target: arbitrary bytes opened as qcow2 in a small arena, then
// block status, `qemu-img map`'s walk, the reads `qemu-img compare` makes
// and its walk of the image against itself, and every list read; and
// opened once more as `qemu-img check` opens it, and checked (the refcount
// rebuild of engine/check/qcow2_check.cc). Built only with
// -DINSTAR_FUZZ=ON and clang (see engine/CMakeLists.txt). Seed it with the
// first 64 KiB of every corpus image (where their metadata starts):
//   mkdir -p seeds corpus
//   for f in cases/images/*.qcow2; do head -c 65536 "$f" >seeds/"${f##*/}"; done
//   build/engine/qcow2_fuzz -max_len=65536 -max_total_time=60 corpus seeds
// Keep any crasher as a regression case in qcow2_hostile_test.cc.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "instar/engine/check.h"
#include "instar/engine/compare.h"
#include "instar/engine/image.h"
#include "instar/engine/map.h"
#include "instar/engine/qcow2.h"
#include "testing/memory_device.h"

namespace {

using instar::BlockDevice;
using instar::Result;
using instar::Status;

// Any file the image names is the image itself again.
class SelfOpener final : public instar::DeviceOpener {
 public:
  explicit SelfOpener(BlockDevice& device) : device_(&device) {}
  Result<BlockDevice*> Open(const char*, size_t) override { return device_; }

 private:
  BlockDevice* device_;
};

// Checks what `qemu-img map`'s walk hands over: each extent starts where
// the last ended, and only the first may be empty.
class CheckingMapSink final : public instar::MapSink {
 public:
  Status Extent(const instar::MapEntry& entry) override {
    if (count_ > 0 && (entry.start != end_ || entry.length == 0)) __builtin_trap();
    if (entry.file != nullptr && !entry.has_offset) __builtin_trap();
    end_ = entry.start + entry.length;
    ++count_;
    return Status::Ok();
  }

 private:
  uint64_t end_ = 0;
  uint64_t count_ = 0;
};

void Exercise(instar::testing::MemoryDevice& device, const char* compat_text, bool no_io) {
  alignas(16) static uint8_t memory[256 * 1024];
  instar::Arena arena(memory, sizeof(memory));
  SelfOpener opener(device);
  instar::OpenOptions options;
  size_t length = 0;
  while (compat_text[length] != '\0') ++length;
  options.compat = *instar::ParseQemuVersion(compat_text, length);
  instar::Qcow2OpenParams params;
  params.no_io = no_io;
  Result<instar::Qcow2Image*> opened = instar::OpenQcow2(device, opener, arena, options, params);
  if (!opened.ok()) return;
  instar::Qcow2Image& image = **opened;

  // Block status in bounded steps: an image may claim an exabyte.
  uint64_t offset = 0;
  const uint64_t size = image.VirtualSize();
  for (int step = 0; step < 512 && offset < size; ++step) {
    Result<instar::BlockStatus> status =
        instar::BlockStatusAbove(image, offset, size - offset, options.compat);
    if (!status.ok()) break;
    if (status->bytes == 0 || status->bytes > size - offset) __builtin_trap();
    offset += status->bytes;
  }
  // The map walk over the first 16 MiB (--max-length bounds the steps: a
  // run of unallocated clusters never ends an extent).
  instar::MapRange range;
  range.has_max_length = true;
  range.max_length = 16u << 20;
  CheckingMapSink sink;
  (void)instar::WalkMap(image, range, options.compat, sink);
  // compare's reads over the first 4 MiB (compressed clusters inflated),
  // and its whole walk of the image against itself where the disk is small
  // enough for the walk to be bounded (an image may claim an exabyte of
  // data, which qemu-img would read for ever too).
  static std::vector<uint8_t> buffer1(instar::kCompareChunkBytes);
  static std::vector<uint8_t> buffer2(instar::kCompareChunkBytes);
  static std::vector<uint8_t> scratch_memory(8u << 20);
  instar::Arena scratch(scratch_memory.data(), scratch_memory.size());
  for (uint64_t at = 0; at < size && at < (4u << 20); at += 1u << 20) {
    const uint64_t piece = size - at < (1u << 20) ? size - at : (1u << 20);
    if (!instar::ReadGuest(image, at, piece, buffer1.data(), options.compat, scratch).ok()) break;
  }
  if (size <= (64u << 20)) {
    const instar::CompareOutcome outcome = instar::CompareImages(
        image, image, true, options.compat, buffer1.data(), buffer2.data(), scratch);
    // The same image reads the same, or fails: never a mismatch.
    if (outcome.failure.exit_code == 0 && outcome.verdict != instar::CompareVerdict::kIdentical) {
      __builtin_trap();
    }
  }
  // A few answers from far inside the image too.
  for (uint64_t probe : {size / 2, size - (size > 512 ? 512 : size)}) {
    if (probe < size) (void)instar::BlockStatusAbove(image, probe, size - probe, options.compat);
  }

  instar::Qcow2SnapshotCursor snapshots(image);
  instar::Qcow2Snapshot snapshot;
  for (int i = 0; i < 1024; ++i) {
    Result<bool> more = snapshots.Next(&snapshot);
    if (!more.ok() || !*more) break;
  }
  instar::Qcow2BitmapCursor bitmaps(image);
  instar::Qcow2Bitmap bitmap;
  for (int i = 0; i < 1024; ++i) {
    Result<bool> more = bitmaps.Next(&bitmap);
    if (!more.ok() || !*more) break;
  }
  instar::Qcow2FeatureNameCursor features(image);
  instar::Qcow2FeatureName feature;
  for (int i = 0; i < 1024; ++i) {
    Result<bool> more = features.Next(&feature);
    if (!more.ok() || !*more) break;
  }
  char text[256];
  instar::FormatQcow2Corruption(image.first_corruption(), text, sizeof(text));
  if (arena.high_water() > sizeof(memory)) __builtin_trap();
}

// Every line a check prints is one line.
class CheckingLog final : public instar::CheckLog {
 public:
  void Line(const char* text, size_t length) override {
    for (size_t i = 0; i < length; ++i) {
      if (text[i] == '\n' || text[i] == '\0') __builtin_trap();
    }
  }
};

// `qemu-img check`: the image opened with BDRV_O_CHECK and checked; the
// refcount array of a 64 KiB input is at most 129 entries.
void ExerciseCheck(instar::testing::MemoryDevice& device, const char* compat_text) {
  alignas(16) static uint8_t memory[512 * 1024];
  instar::Arena arena(memory, sizeof(memory));
  SelfOpener opener(device);
  instar::OpenOptions options;
  size_t length = 0;
  while (compat_text[length] != '\0') ++length;
  options.compat = *instar::ParseQemuVersion(compat_text, length);
  options.check = true;
  Result<instar::Image*> opened =
      instar::OpenImage(instar::ImageFormat::kQcow2, device, opener, arena, options);
  if (!opened.ok()) return;
  CheckingLog log;
  instar::CheckResult result;
  (void)instar::CheckImage(**opened, options.compat, arena, log, &result);
  if (result.image_end_offset % 512 != 0) __builtin_trap();
  if (arena.high_water() > sizeof(memory)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  instar::testing::MemoryDevice device(std::vector<uint8_t>(data, data + size));
  // All-zero blocks as holes, so metadata preallocation and the file
  // layer's answers come into play.
  device.PunchZeroBlocks(4096);
  Exercise(device, "10.0.13", false);
  Exercise(device, "10.0.13", true);
  Exercise(device, "5.2.0", true);
  ExerciseCheck(device, "10.0.13");
  ExerciseCheck(device, "5.2.0");
  return 0;
}
