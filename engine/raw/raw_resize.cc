// raw's resize hook: qemu's raw_co_truncate (block/raw-format.c), which
// hands the new length to the file protocol (block/file-posix.c
// raw_co_truncate, handle_aiocb_truncate() for a regular file). The file
// is the disk, so the new virtual size is the new file length, changed
// from the file's current length as the preallocation mode says:
//
//   off       ftruncate(size): a shorter file drops its tail, a longer one
//             gains a hole; a file that was empty gets its first block
//             written (allocate_first_block(), as create does: 4 KiB of
//             zeros, 512 bytes when the new size is smaller), errors
//             ignored
//   falloc    posix_fallocate() of [current, size) only (and the first
//             block of a file that was empty, as for off)
//   full      ftruncate(size), then zeros written over [current, size)
//             (qemu writes 64 KiB at a time; instar kMaxTransfer, the bytes
//             on disk are the same), then a flush
//   metadata  "Unsupported preallocation mode: metadata" (every release of
//             the matrix), the file untouched
//
// Preallocation when the file does not grow is refused ("Cannot use
// preallocation for shrinking files"), though qemu-img's own check
// ("Preallocation can only be used for growing images") comes first. When
// falloc or full fails part-way the file is cut back to its old length,
// as qemu does. A device error is worded as qemu words the errno, without
// the errno's text (the host does not pass it on): "Could not resize
// file", "Could not preallocate new data", "Could not write zeros for
// preallocation".
#include "raw/raw_resize.h"

#include "instar/engine/bytes.h"

namespace instar {

namespace {

// How many zero bytes one write of preallocation=full sends.
constexpr size_t kZeroChunkBytes = 1 << 20;
// file-posix's BDRV_SECTOR_SIZE and MAX_BLOCKSIZE.
constexpr uint64_t kSectorBytes = 512;
constexpr uint64_t kMaxBlockBytes = 4096;

// allocate_first_block(): zeros over the first block of a file that was
// empty; errors are ignored, as qemu ignores them.
void AllocateFirstBlock(WritableDevice& device, uint64_t size) {
  static constexpr uint8_t kZeros[kMaxBlockBytes] = {};
  (void)device.Write(0, kZeros, size < kMaxBlockBytes ? kSectorBytes : kMaxBlockBytes);
}

// What qemu does when falloc or full failed: the old length back.
Status Restore(WritableDevice& device, uint64_t length, Status failure) {
  (void)device.Truncate(length);
  return failure;
}

Status WriteZeros(WritableDevice& device, uint64_t from, uint64_t to, Arena& arena) {
  const size_t mark = arena.Mark();
  auto* zeros = arena.AllocateArray<uint8_t>(kZeroChunkBytes);
  if (zeros == nullptr) return Status::NoSpace("out of memory for preallocation");
  FillBytes(zeros, 0, kZeroChunkBytes);
  Status written = Status::Ok();
  for (uint64_t at = from; at < to && written.ok();) {
    const uint64_t left = to - at;
    const size_t n = left < kZeroChunkBytes ? static_cast<size_t>(left) : kZeroChunkBytes;
    written = device.Write(at, zeros, n);
    at += n;
  }
  arena.Reset(mark);
  return written;
}

}  // namespace

Status ResizeRaw(Image& /*image*/, WritableDevice& device, const ResizeRequest& request,
                 const QemuVersion& /*compat*/, Arena& arena) {
  const uint64_t size = request.size;
  if (size > static_cast<uint64_t>(INT64_MAX)) {
    return Status::InvalidArgument("Disk size too large for the chosen offset");
  }
  const uint64_t current = device.Size();
  const Preallocation preallocation =
      request.has_preallocation ? request.preallocation : Preallocation::kOff;
  if (current > size && preallocation != Preallocation::kOff) {
    return Status::NotSupported("Cannot use preallocation for shrinking files");
  }
  switch (preallocation) {
    case Preallocation::kOff:
      if (!device.Truncate(size).ok()) {
        return Status::IOError("Could not resize file: Input/output error");
      }
      if (current == 0 && size > 0) AllocateFirstBlock(device, size);
      break;
    case Preallocation::kMetadata:
      return Status::NotSupported("Unsupported preallocation mode: metadata");
    case Preallocation::kFalloc:
      if (size != current) {
        if (!device.Allocate(current, size - current).ok()) {
          return Restore(device, current,
                         Status::IOError("Could not preallocate new data: Input/output error"));
        }
        if (current == 0) AllocateFirstBlock(device, size);
      }
      break;
    case Preallocation::kFull: {
      if (!device.Truncate(size).ok()) {
        return Restore(device, current,
                       Status::IOError("Could not resize file: Input/output error"));
      }
      const Status written = WriteZeros(device, current, size, arena);
      if (written.code() == StatusCode::kNoSpace) return Restore(device, current, written);
      if (!written.ok()) {
        return Restore(
            device, current,
            Status::IOError("Could not write zeros for preallocation: Input/output error"));
      }
      if (!device.Flush().ok()) {
        return Restore(device, current, Status::IOError("Could not flush: Input/output error"));
      }
      break;
    }
  }
  return Status::Ok();
}

}  // namespace instar
