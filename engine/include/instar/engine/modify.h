// Modify: what the commands that change an image write through once it
// exists: resize and amend change an image in place, dd and convert write
// guest data into an image a create hook has just written.
//
// Each is a FormatDriver hook (format_driver.h), given the image as the
// driver's own reader opened it over the same WritableDevice
// (create.h) it is to change: the reader's parse is where the writer
// starts, and the device is the only way anything reaches the file. A
// hook that writes must leave the reader's cached tables as it found them
// or not use the Image for reading afterwards; what it reads after its own
// writes it reads from the device.
//
// As qemu does, resize and amend write in place: a failure part-way leaves
// the image as qemu's driver would leave it after the same failure, and
// the command reports it in qemu's words. dd and convert write to a new
// file under a temporary name (the host renames it on success), so a
// failure of theirs leaves nothing.
#ifndef INSTAR_ENGINE_MODIFY_H_
#define INSTAR_ENGINE_MODIFY_H_

#include <cstddef>
#include <cstdint>

#include "instar/engine/create.h"
#include "instar/engine/measure.h"
#include "instar/engine/status.h"

namespace instar {

// What `qemu-img resize` asks of a format driver (bdrv_co_truncate).
struct ResizeRequest {
  // The new virtual size in bytes, `+`/`-` already resolved against the
  // current size by the command (qemu-img's own arithmetic and checks).
  uint64_t size = 0;
  // --shrink: qemu-img refuses to shrink without it (before the driver is
  // asked, in qemu-img.c), and qcow2 needs it to discard clusters.
  bool shrink = false;
  // --preallocation: for the bytes the image grows by.
  Preallocation preallocation = Preallocation::kOff;
  bool has_preallocation = false;
};

// What `qemu-img amend -o` asks of a format driver (bdrv_amend_options).
struct AmendRequest {
  // The -o text parsed for the image's format, as for create
  // (ParseMeasureOptions()); only the keys the user gave are set.
  const ParsedMeasureOptions* options = nullptr;
  // --force (qemu 5.1 and later): allow what amend refuses without it.
  bool force = false;
};

// What a driver may need to open an image for guest writes that the guest
// does not have, as for create (CreateRequest): vhdx's GUIDs for the file
// and data write, taken when qemu first writes to an opened image. Random
// bytes a writer consumes in its own documented order.
struct WriterEntropy {
  uint64_t now_seconds = 0;
  uint8_t random[64] = {};
};

// An image open for writing guest data: qemu's bdrv_pwrite() through the
// format driver. Every write allocates and updates metadata exactly as
// qemu's driver does for the same sequence of writes (the same clusters in
// the same order, the same tables), so that the file qemu-img info, check
// and map see is the one qemu would have written.
class ImageWriter {
 public:
  // Writes guest bytes [offset, offset + length) of the virtual disk. A
  // range past the virtual size is an error.
  virtual Status Write(uint64_t offset, const uint8_t* data, size_t length) = 0;
  // Write(), the bytes lent where the driver writes them as they are
  // (WritableDevice::WriteLent): the caller leaves `data` unchanged until
  // its next device call other than a read has returned, and reads nothing
  // into it before (convert reads its next data into its other buffer). By
  // default it is Write().
  virtual Status WriteLent(uint64_t offset, const uint8_t* data, size_t length) {
    return Write(offset, data, length);
  }
  // qemu's compressed write (a write with BDRV_REQ_WRITE_COMPRESSED, what
  // `qemu-img convert -c` and a streamOptimized vmdk use): `length` guest
  // bytes at `offset`, both whole clusters of the image (the disk's last
  // cluster may be short), into clusters nothing has written yet. The
  // driver compresses them as qemu's does (qcow2: its compression_type;
  // vmdk: deflate in a grain marker) and stores them uncompressed where
  // qemu would (compressed no smaller). Only on a writer of a driver whose
  // `compressed_writes` is true (format_driver.h).
  virtual Status WriteCompressed(uint64_t offset, const uint8_t* data, size_t length) {
    (void)offset;
    (void)data;
    (void)length;
    return Status::NotSupported("this format has no compressed writes");
  }
  // qemu's write-zeroes (blk_co_pwrite_zeroes() with BDRV_REQ_MAY_UNMAP,
  // what `qemu-img convert` issues for a zero run of a target that does not
  // start zeroed, such as one with a backing file): guest bytes [offset,
  // offset + length) read as zeros afterwards, made as the driver makes
  // them (qcow2 v3: zero clusters where it can, else zeros written as
  // data), so that the image's layout is qemu's.
  virtual Status WriteZeroes(uint64_t offset, uint64_t length) {
    (void)offset;
    (void)length;
    return Status::NotSupported("instar cannot write zeroes to an image of this format yet");
  }
  // bdrv_get_info()'s needs_compressed_writes: every write of guest data
  // must be a WriteCompressed() (a streamOptimized vmdk), so convert
  // compresses without -c.
  virtual bool NeedsCompressedWrites() const { return false; }
  // Writes what qemu writes when the image is closed (a dirty flag
  // cleared, a footer or a log flushed), then flushes the device. Nothing
  // may be written after it.
  virtual Status Finish() = 0;

 protected:
  ~ImageWriter() = default;
};

}  // namespace instar

#endif  // INSTAR_ENGINE_MODIFY_H_
