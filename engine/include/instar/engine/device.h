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
//
// DeviceOpener lets a format open the other files it names (a vmdk extent, a
// backing file), resolved by the host the way qemu's path_combine() does:
// relative to the directory of the image that names them.
#ifndef INSTAR_ENGINE_DEVICE_H_
#define INSTAR_ENGINE_DEVICE_H_

#include <cstddef>
#include <cstdint>

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

 protected:
  // Devices are owned by whoever made them; the engine never deletes one.
  ~BlockDevice() = default;
};

class DeviceOpener {
 public:
  // Opens `name` (not NUL-terminated) read-only, relative to the directory of
  // the primary image unless absolute.
  virtual Result<BlockDevice*> Open(const char* name, size_t name_length) = 0;

 protected:
  ~DeviceOpener() = default;
};

}  // namespace instar

#endif  // INSTAR_ENGINE_DEVICE_H_
