// The vpc (VHD) guest-data writer: block/vpc.c vpc_co_pwritev,
// get_image_offset (write = true), alloc_block and rewrite_footer, the
// same in every release of the matrix (5.2 to 11.1).
//
//  * fixed: the guest bytes are the file's, at the same offset.
//  * dynamic: a write is cut at block boundaries. A block whose BAT entry
//    is unallocated (0xffffffff) is allocated at the end of the data
//    (free_data_block_offset, where the footer copy lies): its sector
//    bitmap, all ones, is written there over the old footer; the end moves
//    by the bitmap and the block; the footer (the copy qemu read at offset
//    0 when it opened the image, unchanged: no new timestamp, no new
//    checksum) is written at the new end; then the BAT entry (the bitmap's
//    sector number, big endian). Then the guest bytes go into the block.
//    The unwritten rest of a new block stays a hole and reads as zeros.
//    qemu writes the bitmap of an allocated block (all ones again) on the
//    first write to a block that is not the last one it wrote a bitmap
//    for; the bytes are those already there, so so does this writer.
//
// Nothing is written at close (vpc_close writes nothing); Finish() only
// flushes.
#include "vpc/vpc_write.h"

#include <new>

#include "instar/engine/bytes.h"
#include "instar/engine/vpc.h"

namespace instar::vpc {

namespace {

constexpr size_t kFooterSize = 512;
constexpr uint32_t kUnallocated = 0xffffffff;

class VpcWriter final : public ImageWriter {
 public:
  VpcWriter(WritableDevice& device, const VpcImage& image, uint8_t* bitmap)
      : device_(device),
        fixed_(image.footer().disk_type == vpc_disk_type::kFixed),
        virtual_size_(image.VirtualSize()),
        block_size_(image.block_size()),
        bitmap_size_(image.bitmap_size()),
        entries_(image.max_table_entries()),
        bat_offset_(image.bat_offset()),
        free_offset_(image.data_end()),
        bitmap_(bitmap) {}

  Status ReadFooter() { return device_.Read(0, footer_, kFooterSize); }

  Status Write(uint64_t offset, const uint8_t* data, size_t length) override {
    if (finished_) return Status::InvalidArgument("vpc: write after the image was closed");
    uint64_t end;
    if (__builtin_add_overflow(offset, length, &end) || end > virtual_size_) {
      return Status::InvalidArgument("vpc: write past the end of the virtual disk");
    }
    if (fixed_) return device_.Write(offset, data, length);
    while (length > 0) {
      const uint64_t index = offset / block_size_;
      const uint64_t in_block = offset % block_size_;
      const size_t n =
          length < block_size_ - in_block ? length : static_cast<size_t>(block_size_ - in_block);
      uint64_t bitmap_offset;
      INSTAR_RETURN_IF_ERROR(BlockBitmap(index, &bitmap_offset));
      INSTAR_RETURN_IF_ERROR(device_.Write(bitmap_offset + bitmap_size_ + in_block, data, n));
      offset += n;
      data += n;
      length -= n;
    }
    return Status::Ok();
  }

  Status Finish() override {
    finished_ = true;
    return device_.Flush();
  }

 private:
  // Where block `index`'s bitmap is, allocating the block if it has none
  // (get_image_offset, then alloc_block).
  Status BlockBitmap(uint64_t index, uint64_t* bitmap_offset) {
    if (index >= entries_) return Status::Corruption("vpc: block past the block allocation table");
    const uint64_t entry_offset = bat_offset_ + 4 * index;
    uint8_t entry[4];
    INSTAR_RETURN_IF_ERROR(device_.Read(entry_offset, entry, sizeof(entry)));
    const uint32_t sector = LoadBE32(entry);
    if (sector != kUnallocated) {
      *bitmap_offset = uint64_t{sector} * 512;
      if (*bitmap_offset != last_bitmap_offset_) {
        last_bitmap_offset_ = *bitmap_offset;
        INSTAR_RETURN_IF_ERROR(device_.Write(*bitmap_offset, bitmap_, bitmap_size_));
      }
      return Status::Ok();
    }
    // alloc_block(): the entry is the sector where the data ends.
    if (free_offset_ % 512 != 0 || free_offset_ / 512 >= kUnallocated) {
      return Status::NoSpace("vpc: the image is full");
    }
    *bitmap_offset = free_offset_;
    INSTAR_RETURN_IF_ERROR(device_.Write(free_offset_, bitmap_, bitmap_size_));
    free_offset_ += uint64_t{block_size_} + bitmap_size_;
    INSTAR_RETURN_IF_ERROR(device_.Write(free_offset_, footer_, kFooterSize));
    StoreBE32(entry, static_cast<uint32_t>(*bitmap_offset / 512));
    // alloc_block() returns through get_image_offset(write = false): the
    // next write to the block writes its bitmap again.
    return device_.Write(entry_offset, entry, sizeof(entry));
  }

  WritableDevice& device_;
  const bool fixed_;
  const uint64_t virtual_size_;
  const uint32_t block_size_;
  const uint32_t bitmap_size_;
  const uint64_t entries_;
  const uint64_t bat_offset_;
  uint64_t free_offset_;
  uint8_t* const bitmap_;  // bitmap_size_ bytes of 0xff
  uint64_t last_bitmap_offset_ = ~uint64_t{0};
  uint8_t footer_[kFooterSize] = {};
  bool finished_ = false;
};

}  // namespace

Result<ImageWriter*> OpenVpcWriter(Image& image, WritableDevice& device, const WriterEntropy&,
                                   const QemuVersion&, Arena& arena) {
  const auto& vpc = static_cast<const VpcImage&>(image);
  const bool fixed = vpc.footer().disk_type == vpc_disk_type::kFixed;
  if (!fixed && vpc.footer_at_end()) {
    return Status::NotSupported("vpc: a dynamic image whose footer is only at its end");
  }
  uint8_t* bitmap = nullptr;
  if (!fixed) {
    if (vpc.block_size() == 0 || vpc.bitmap_size() == 0) {
      return Status::Corruption("vpc: no block size");
    }
    bitmap = static_cast<uint8_t*>(arena.Allocate(vpc.bitmap_size()));
    if (bitmap == nullptr) return Status::NoSpace("no memory for the vpc block bitmap");
    FillBytes(bitmap, 0xff, vpc.bitmap_size());
  }
  auto* writer = arena.New<VpcWriter>(device, vpc, bitmap);
  if (writer == nullptr) return Status::NoSpace("no memory for the vpc writer");
  if (!fixed) INSTAR_RETURN_IF_ERROR(writer->ReadFooter());
  return static_cast<ImageWriter*>(writer);
}

}  // namespace instar::vpc
