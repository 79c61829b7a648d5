// RawImage: a file read as the disk itself, qemu's "raw" format driver.
//
// The virtual size is the file length rounded up to whole 512-byte sectors,
// as qemu keeps it (bs->total_sectors): `qemu-img info` of a 1000-byte file
// prints a virtual size of 1024. Block status is qemu's raw_co_block_status:
// every range is kRaw | kOffsetValid at the same offset of the file, so the
// generic layer asks the file (its holes) for the rest.
#ifndef INSTAR_ENGINE_RAW_H_
#define INSTAR_ENGINE_RAW_H_

#include <cstdint>

#include "instar/engine/image.h"

namespace instar {

class RawImage : public Image {
 public:
  ImageFormat format() const override { return ImageFormat::kRaw; }
  uint64_t VirtualSize() const override { return virtual_size_; }
  BlockDevice& file() override { return *file_; }
  bool HasDriverBlockStatus() const override { return true; }
  Result<BlockStatus> DriverBlockStatus(bool want_zero, uint64_t offset, uint64_t bytes) override;

  // The length of the file in bytes (before rounding to sectors).
  uint64_t file_length() const { return file_length_; }

 protected:
  RawImage(BlockDevice* file, uint64_t file_length, uint64_t virtual_size)
      : file_(file), file_length_(file_length), virtual_size_(virtual_size) {}
  ~RawImage() = default;

 private:
  BlockDevice* file_;
  uint64_t file_length_;
  uint64_t virtual_size_;
};

}  // namespace instar

#endif  // INSTAR_ENGINE_RAW_H_
