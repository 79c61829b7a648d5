// VpcImage: a VHD (Virtual PC) image, qemu's "vpc" format driver.
//
// Opened the way qemu's vpc_open does it, per qemu version:
//  * The footer ("conectix", 512 bytes, big endian) is read at offset 0; if it
//    is not there, at the end of the file, and then the image is fixed (since
//    qemu 7.2 the end footer must also say so). Its checksum must match.
//  * The virtual size comes from the CHS geometry or from current_size,
//    chosen by the creator application (the list changed after qemu 7.2; see
//    VpcImage::uses_chs()), at most 2040 GiB.
//  * An image whose footer is at the start is dynamic: the "cxsparse" header
//    at data_offset gives the block size (a power of two >= 512) and the
//    block allocation table (BAT). The BAT is scanned once at open to find
//    where the data ends, as qemu does to detect truncated files, and is
//    otherwise read on demand through a small cache.
//
// Block status follows vpc_co_block_status: a fixed image is data at the
// same offset of the file (kRecurse), a dynamic one is data at the block's
// offset for allocated blocks and kZero for runs of unallocated blocks. The
// per-block sector bitmaps are ignored, as qemu ignores them.
#ifndef INSTAR_ENGINE_VPC_H_
#define INSTAR_ENGINE_VPC_H_

#include <cstddef>
#include <cstdint>

#include "instar/engine/image.h"

namespace instar {

// The footer's disk type field.
namespace vpc_disk_type {
constexpr uint32_t kFixed = 2;
constexpr uint32_t kDynamic = 3;
constexpr uint32_t kDifferencing = 4;
}  // namespace vpc_disk_type

// qemu's force_size_calc runtime option (only reachable with --image-opts).
enum class VpcSizeCalc : uint8_t {
  kAuto,         // by creator application
  kChs,          // force_size_calc=chs
  kCurrentSize,  // force_size_calc=current_size
};

// The footer fields, decoded.
struct VpcFooter {
  uint32_t features = 0;
  uint32_t version = 0;
  uint64_t data_offset = 0;
  uint32_t timestamp = 0;  // seconds since 2000-01-01 00:00:00 UTC
  char creator_app[4] = {};
  uint16_t creator_major = 0;
  uint16_t creator_minor = 0;
  char creator_os[4] = {};
  uint64_t original_size = 0;
  uint64_t current_size = 0;
  uint16_t cylinders = 0;
  uint8_t heads = 0;
  uint8_t sectors_per_track = 0;
  uint32_t disk_type = 0;
  uint32_t checksum = 0;
  uint8_t uuid[16] = {};
  uint8_t saved_state = 0;
};

class VpcImage : public Image {
 public:
  ImageFormat format() const override { return ImageFormat::kVpc; }
  uint64_t VirtualSize() const override { return virtual_size_; }
  BlockDevice& file() override { return *file_; }
  bool HasDriverBlockStatus() const override { return true; }

  const VpcFooter& footer() const { return footer_; }
  // True when the footer was found at the end of the file (a fixed image);
  // false when it was at offset 0 and the dynamic header was read.
  bool footer_at_end() const { return footer_at_end_; }
  // Whether the virtual size came from the CHS geometry (else current_size).
  bool uses_chs() const { return uses_chs_; }

  // What `qemu-img info` prints as cluster_size: the block size, for any
  // image whose footer does not say fixed (vpc_co_get_info); qemu prints
  // none when it is 0 (an end footer that is not fixed, accepted by 5.2).
  uint64_t cluster_size() const {
    return footer_.disk_type != vpc_disk_type::kFixed ? block_size_ : 0;
  }
  bool has_cluster_size() const { return cluster_size() != 0; }

  // Dynamic images (footer at the start) only; zero otherwise.
  uint32_t block_size() const { return block_size_; }
  uint32_t bitmap_size() const { return bitmap_size_; }
  uint32_t max_table_entries() const { return max_table_entries_; }
  uint64_t bat_offset() const { return bat_offset_; }
  uint32_t dynamic_header_version() const { return dynamic_header_version_; }
  // Where the next block would be allocated (qemu's free_data_block_offset).
  uint64_t data_end() const { return data_end_; }

 protected:
  VpcImage() = default;
  ~VpcImage() = default;

  BlockDevice* file_ = nullptr;
  uint64_t virtual_size_ = 0;
  VpcFooter footer_;
  bool footer_at_end_ = false;
  bool uses_chs_ = false;
  uint32_t block_size_ = 0;
  uint32_t bitmap_size_ = 0;
  uint32_t max_table_entries_ = 0;
  uint64_t bat_offset_ = 0;
  uint32_t dynamic_header_version_ = 0;
  uint64_t data_end_ = 0;
};

// OpenImage() for vpc with qemu's force_size_calc option.
Result<Image*> OpenVpcImage(BlockDevice& device, Arena& arena, const OpenOptions& options,
                            VpcSizeCalc size_calc);

}  // namespace instar

#endif  // INSTAR_ENGINE_VPC_H_
