// The generic block-status layer: qemu's bdrv_co_block_status() /
// bdrv_co_do_block_status() and bdrv_co_common_block_status_above()
// (block/io.c) over one format node whose children are protocol ("file")
// nodes, with the file protocol's answer (block/file-posix.c
// raw_co_block_status(), find_allocation()) computed from the device's
// SeekData/SeekHole.
//
// Version differences (5.2, 7.2, 10.0 read side by side):
//  * From 7.2.9 (and 8.2) BDRV_BLOCK_RECURSE is cleared once the file layer
//    has been consulted; before, it stays in the returned flags.
//  * 5.2's file layer caps its answer at the request; later ones may return
//    more, which the caller clamps: the clamped results are the same.
//  * 6.0+ caches the last data extent of protocol nodes; the cache only
//    replays what SeekData/SeekHole would say again, so it is not modelled.
#include "instar/engine/bytes.h"
#include "instar/engine/format_driver.h"
#include "instar/engine/image.h"

namespace instar {

namespace {

using namespace block_status;

constexpr uint64_t kSectorSize = 512;

// Whether the driver sets supports_backing: an unallocated run of such a
// node with no backing file open reads as zeros.
bool SupportsBacking(ImageFormat format) {
  const FormatDriver* driver = FindFormatDriver(format);
  return driver != nullptr && driver->supports_backing;
}

// Whether `compat` clears BDRV_BLOCK_RECURSE after recursing into the file
// (qemu commit "block/io: clear BDRV_BLOCK_RECURSE flag after recursing in
// bdrv_co_block_status", 8.2, backported to 7.2.9).
bool ClearsRecurse(const QemuVersion& compat) {
  if (compat.AtLeast(8, 2)) return true;
  return compat.major == 7 && compat.minor == 2 && compat.micro >= 9;
}

// bdrv_co_do_block_status() of a file-posix node opened without O_DIRECT
// (request_alignment 1), want_zero set.
Result<BlockStatus> FileLayerStatus(BlockDevice& device, uint64_t offset, uint64_t bytes) {
  BlockStatus status;
  status.file = &device;
  // The node's length is its size in whole sectors.
  uint64_t total;
  if (!CheckedAlignUp(device.Size(), kSectorSize, &total)) {
    return Status::OutOfRange("file is too large");
  }
  if (offset >= total) {
    status.flags = kEof;
    return status;
  }
  if (bytes == 0) return status;
  if (bytes > total - offset) bytes = total - offset;

  // find_allocation(): D1..D4 and H1..H4 of file-posix.c.
  uint64_t pnum = bytes;
  uint32_t flags;
  Result<uint64_t> data = device.SeekData(offset);
  if (data.ok() && *data == BlockDevice::kNoData) {
    flags = kZero;  // trailing hole, or past the end of the file
  } else if (!data.ok() || *data < offset) {
    flags = kData;  // nothing learned: assume data
  } else if (*data > offset) {
    pnum = *data - offset;
    flags = kZero;
  } else {
    Result<uint64_t> hole = device.SeekHole(offset);
    if (hole.ok() && *hole > offset) {
      pnum = *hole - offset;
      flags = kData;
    } else {
      flags = kData;  // an error, or a hole dug behind our back: assume data
    }
  }
  if (pnum > bytes) pnum = bytes;
  status.flags = flags | kOffsetValid | kAllocated;
  status.map = offset;
  status.bytes = pnum;
  if (offset + pnum == total) status.flags |= kEof;
  return status;
}

// bdrv_co_do_block_status() of one format node, want_zero set.
Result<BlockStatus> NodeBlockStatus(Image& image, uint64_t offset, uint64_t bytes,
                                    const QemuVersion& compat) {
  BlockStatus status;
  const uint64_t total = image.VirtualSize();
  if (offset >= total) {
    status.flags = kEof;
    return status;
  }
  if (bytes == 0) return status;
  if (bytes > total - offset) bytes = total - offset;

  if (!image.HasDriverBlockStatus()) {
    // A format driver without block status: all of it is allocated data.
    status.flags = kData | kAllocated;
    if (offset + bytes == total) status.flags |= kEof;
    status.bytes = bytes;
    return status;
  }

  // Round the request out to the node's alignment.
  const uint64_t align = image.RequestAlignment();
  const uint64_t aligned_offset = AlignDown(offset, align);
  uint64_t aligned_end;
  if (!CheckedAlignUp(offset + bytes, align, &aligned_end)) {
    return Status::OutOfRange("block status request overflows");
  }
  INSTAR_ASSIGN_OR_RETURN(
      BlockStatus driver,
      image.DriverBlockStatus(true, aligned_offset, aligned_end - aligned_offset));
  // qemu asserts these of every driver.
  if (driver.bytes == 0 || driver.bytes % align != 0 || driver.bytes <= offset - aligned_offset) {
    return Status::Corruption("format driver returned a malformed block status");
  }
  if ((driver.flags & kRecurse) != 0 &&
      ((driver.flags & kData) == 0 || (driver.flags & kOffsetValid) == 0 ||
       (driver.flags & kZero) != 0)) {
    return Status::Corruption("format driver returned a malformed block status");
  }

  uint32_t flags = driver.flags;
  uint64_t pnum = driver.bytes - (offset - aligned_offset);
  if (pnum > bytes) pnum = bytes;
  uint64_t map = driver.map;
  BlockDevice* file = driver.file;
  if ((flags & kOffsetValid) != 0) map += offset - aligned_offset;

  if ((flags & kRaw) != 0) {
    // The raw format defers to its file.
    if ((flags & kOffsetValid) == 0 || file == nullptr) {
      return Status::Corruption("format driver returned a malformed block status");
    }
    INSTAR_ASSIGN_OR_RETURN(BlockStatus below, FileLayerStatus(*file, map, pnum));
    status = below;
    if (offset + status.bytes == total) status.flags |= kEof;
    return status;
  }

  if ((flags & (kData | kZero)) != 0) {
    flags |= kAllocated;
  } else if (SupportsBacking(image.format())) {
    // Unallocated reads as zeros when nothing lies below, or when the run
    // starts past the end of the backing image (its length in sectors).
    const Image* backing = image.backing();
    if (backing == nullptr || offset >= AlignUp(backing->VirtualSize(), kSectorSize)) {
      flags |= kZero;
    }
  }

  if ((flags & kRecurse) != 0 && file != nullptr && (flags & kData) != 0 && (flags & kZero) == 0 &&
      (flags & kOffsetValid) != 0) {
    // Ask the file whether the data clusters are holes there.
    Result<BlockStatus> below = FileLayerStatus(*file, map, pnum);
    if (below.ok()) {
      if ((below->flags & kEof) != 0 && (below->bytes == 0 || (below->flags & kZero) != 0)) {
        // Reading past the end of the file yields zeros.
        flags |= kZero;
      } else {
        pnum = below->bytes;
        flags |= below->flags & kZero;
      }
    }
    if (ClearsRecurse(compat)) flags &= ~kRecurse;
  }

  if (offset + pnum == total) flags |= kEof;
  status.flags = flags;
  status.bytes = pnum;
  status.map = map;
  status.file = file;
  return status;
}

}  // namespace

Result<BlockStatus> LayerBlockStatus(Image& image, uint64_t offset, uint64_t bytes,
                                     const QemuVersion& compat) {
  // bdrv_co_common_block_status_above() with base = the image's own
  // backing: only the image itself answers.
  return NodeBlockStatus(image, offset, bytes, compat);
}

Result<BlockStatus> BlockStatusAbove(Image& image, uint64_t offset, uint64_t bytes,
                                     const QemuVersion& compat) {
  // bdrv_co_common_block_status_above() with no base: the top node answers;
  // a run it leaves unallocated is asked of each node below in turn, over
  // the shrinking run, until one allocates it.
  INSTAR_ASSIGN_OR_RETURN(BlockStatus status, NodeBlockStatus(image, offset, bytes, compat));
  if (status.bytes == 0 || (status.flags & kAllocated) != 0 || image.backing() == nullptr) {
    return status;
  }
  const bool top_eof = (status.flags & kEof) != 0;
  const uint64_t eof = top_eof ? offset + status.bytes : 0;
  uint64_t run = status.bytes;
  for (Image* below = image.backing(); below != nullptr; below = below->backing()) {
    INSTAR_ASSIGN_OR_RETURN(status, NodeBlockStatus(*below, offset, run, compat));
    if (status.bytes == 0) {
      // The image below is shorter: what it does not cover reads as zeros
      // allocated at that layer.
      status.flags = kZero | kAllocated;
      status.bytes = run;
      status.map = 0;
      status.file = nullptr;
      break;
    }
    if ((status.flags & kAllocated) != 0) {
      status.flags &= ~kEof;  // end of a lower image says nothing of the top
      break;
    }
    run = status.bytes;
  }
  if (top_eof && offset + status.bytes == eof) status.flags |= kEof;
  return status;
}

}  // namespace instar
