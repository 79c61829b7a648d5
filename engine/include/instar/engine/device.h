// BlockDevice: how the engine reaches the bytes of a file.
//
// Inside the sandbox a device is a numbered host file served over the call
// table; in the tests it is a vector or a file. The contract follows qemu's
// file protocol driver (block/file-posix.c) because qemu-img's answers depend
// on it:
//
//  * Read() past the end of the file yields zeros, as file-posix pads short
//    reads. A read whose range overflows uint64_t is an error.
//  * SeekData()/SeekHole() answer like lseek(2) SEEK_DATA/SEEK_HOLE on the
//    host file. They are file metadata, not image bytes; qemu's block status
//    (and so `qemu-img measure`) consults them.
//  * AllocatedBytes() is st_blocks * 512, what qemu's
//    bdrv_get_allocated_file_size() gives for a file (qcow2 guesses from it
//    whether an image was preallocated).
//
// DeviceOpener lets a format open the other files it names (a vmdk extent, a
// backing file), resolved by the host the way qemu's path_combine() does:
// relative to the directory of the image that names them.
#ifndef INSTAR_ENGINE_DEVICE_H_
#define INSTAR_ENGINE_DEVICE_H_

#include <cstddef>
#include <cstdint>

#include "instar/engine/bytes.h"
#include "instar/engine/status.h"

namespace instar {

class BlockDevice {
 public:
  // SeekData() result when there is no data at or after the offset (ENXIO).
  static constexpr uint64_t kNoData = UINT64_MAX;

  // Reads `length` bytes at `offset` into `buffer`; bytes past EOF read as 0.
  virtual Status Read(uint64_t offset, void* buffer, size_t length) = 0;
  // File length in bytes (st_size).
  virtual uint64_t Size() const = 0;
  // Offset of the first data byte at or after `offset`, or kNoData.
  virtual Result<uint64_t> SeekData(uint64_t offset) = 0;
  // Offset of the first hole at or after `offset`; Size() when none before EOF.
  virtual Result<uint64_t> SeekHole(uint64_t offset) = 0;
  // Bytes the file occupies on its file system (st_blocks * 512). The
  // default estimates it from SeekData/SeekHole in 4 KiB blocks: right for
  // a file whose blocks all hold data (the test devices), short for one
  // with fallocated ranges, which lseek reports as holes; a device that can
  // ask the file system does. Inline: a virtual defined out of line would
  // put the class's type information in the engine, built without RTTI.
  virtual Result<uint64_t> AllocatedBytes() {
    constexpr uint64_t kBlock = 4096;
    const uint64_t size = Size();
    uint64_t total = 0;
    uint64_t position = 0;
    while (position < size) {
      INSTAR_ASSIGN_OR_RETURN(const uint64_t data, SeekData(position));
      if (data == kNoData || data >= size || data < position) break;
      Result<uint64_t> hole = SeekHole(data);
      uint64_t end = hole.ok() ? *hole : size;
      if (end <= data || end > size) end = size;
      total += AlignUp(end, kBlock) - AlignDown(data, kBlock);
      position = end;
    }
    return total;
  }

 protected:
  // Devices are owned by whoever made them; the engine never deletes one.
  ~BlockDevice() = default;
};

class DeviceOpener {
 public:
  // Opens `name` (not NUL-terminated) read-only, relative to the directory of
  // the primary image unless absolute.
  virtual Result<BlockDevice*> Open(const char* name, size_t name_length) = 0;
  // Opens `name` as given: relative to the working directory unless
  // absolute, as qemu opens a qcow2's external data file. An opener that
  // has no working directory (tests, fuzzers) opens it as Open does.
  virtual Result<BlockDevice*> OpenAsGiven(const char* name, size_t name_length) {
    return Open(name, name_length);
  }

 protected:
  ~DeviceOpener() = default;
};

}  // namespace instar

#endif  // INSTAR_ENGINE_DEVICE_H_
