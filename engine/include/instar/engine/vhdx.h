// VhdxImage: a Hyper-V VHDX image, qemu's "vhdx" format driver.
//
// Opened the way qemu's vhdx_open does it (read-only, as qemu-img info and
// map open it), in the same order of checks:
//  * the file identifier "vhdxfile";
//  * the two headers at 64 KiB and 128 KiB (CRC-32C over 4 KiB, signature
//    "head", version 1); the current one has the higher sequence number;
//  * the log: a header that names a log (non-zero log GUID and length) is
//    searched for a valid entry sequence as qemu's vhdx_log_search does. If
//    one exists qemu would have to replay it, which it refuses on a
//    read-only open; we report NotSupported;
//  * the region table at 192 KiB (CRC-32C over 64 KiB): the BAT and
//    metadata regions, no overlaps, no unknown required regions;
//  * the metadata table: file parameters (block size 1..256 MiB, a power of
//    two; leave-blocks-allocated; has-parent, which qemu does not support),
//    virtual disk size, logical sector size (512 only, as qemu) and physical
//    sector size, page 83 data;
//  * the BAT: large enough for every payload block and its interleaved
//    sector-bitmap entries, and every fully present block inside the file
//    and clear of the other regions (vhdx_check_bat_entries), scanned once.
//
// qemu's vhdx has no block status of its own: the generic layer reports the
// whole disk as allocated data. The BAT is still readable per block, through
// a small cache, for callers that want the payload block states.
#ifndef INSTAR_ENGINE_VHDX_H_
#define INSTAR_ENGINE_VHDX_H_

#include <cstddef>
#include <cstdint>

#include "instar/engine/check.h"
#include "instar/engine/image.h"

namespace instar {

struct VhdxGuid {
  uint8_t bytes[16] = {};
};

// BAT entry states (the low 3 bits of an entry).
namespace vhdx_block_state {
constexpr uint8_t kNotPresent = 0;
constexpr uint8_t kUndefined = 1;
constexpr uint8_t kZero = 2;
constexpr uint8_t kUnmapped = 3;
constexpr uint8_t kUnmappedV095 = 5;
constexpr uint8_t kFullyPresent = 6;
constexpr uint8_t kPartiallyPresent = 7;
}  // namespace vhdx_block_state

struct VhdxPayloadBlock {
  uint8_t state = 0;         // a vhdx_block_state
  uint64_t file_offset = 0;  // the entry's offset field (a multiple of 1 MiB)
};

class VhdxImage : public Image {
 public:
  ImageFormat format() const override { return ImageFormat::kVhdx; }
  uint64_t VirtualSize() const override { return virtual_size_; }
  BlockDevice& file() override { return *file_; }
  bool HasDriverBlockStatus() const override { return false; }
  Result<BlockStatus> DriverBlockStatus(bool want_zero, uint64_t offset, uint64_t bytes) override;

  // What `qemu-img info` prints as cluster_size (vhdx_co_get_info).
  uint64_t cluster_size() const { return block_size_; }

  // File identifier: the creator, UTF-16LE, 512 bytes as stored.
  const uint8_t* creator() const { return creator_; }

  // The current header.
  int current_header() const { return current_header_; }  // 0: at 64 KiB, 1: at 128 KiB
  uint64_t sequence_number() const { return sequence_number_; }
  const VhdxGuid& file_write_guid() const { return file_write_guid_; }
  const VhdxGuid& data_write_guid() const { return data_write_guid_; }
  const VhdxGuid& log_guid() const { return log_guid_; }
  uint16_t log_version() const { return log_version_; }
  uint16_t version() const { return version_; }
  uint32_t log_length() const { return log_length_; }
  uint64_t log_offset() const { return log_offset_; }

  // Regions.
  uint64_t bat_offset() const { return bat_offset_; }
  uint32_t bat_length() const { return bat_length_; }
  uint64_t metadata_offset() const { return metadata_offset_; }
  uint32_t metadata_length() const { return metadata_length_; }

  // Metadata items.
  uint32_t block_size() const { return block_size_; }
  bool leave_blocks_allocated() const { return leave_blocks_allocated_; }
  bool has_parent() const { return has_parent_; }
  uint64_t virtual_disk_size() const { return virtual_disk_size_; }
  uint32_t logical_sector_size() const { return logical_sector_size_; }
  uint32_t physical_sector_size() const { return physical_sector_size_; }
  const VhdxGuid& page83_data() const { return page83_data_; }

  // The BAT: payload blocks per sector-bitmap entry, and entries in use.
  uint64_t chunk_ratio() const { return chunk_ratio_; }
  uint32_t bat_entries() const { return bat_entries_; }
  // The payload block holding virtual byte `offset` (< VirtualSize()).
  Result<VhdxPayloadBlock> PayloadBlock(uint64_t offset);
  // vhdx_check_bat_entries() as `qemu-img check` runs it on an image
  // opened with OpenOptions::check: every fully present entry past the
  // file's end or overlapping the log or a region is a line on `log`
  // (qemu's words) and one more in *errors.
  Status CheckBatEntries(Arena& arena, CheckLog& log, uint64_t* errors);

 protected:
  VhdxImage() = default;
  ~VhdxImage() = default;

  BlockDevice* file_ = nullptr;
  uint64_t virtual_size_ = 0;
  uint8_t creator_[512] = {};
  int current_header_ = 0;
  uint64_t sequence_number_ = 0;
  VhdxGuid file_write_guid_;
  VhdxGuid data_write_guid_;
  VhdxGuid log_guid_;
  uint16_t log_version_ = 0;
  uint16_t version_ = 0;
  uint32_t log_length_ = 0;
  uint64_t log_offset_ = 0;
  uint64_t bat_offset_ = 0;
  uint32_t bat_length_ = 0;
  uint64_t metadata_offset_ = 0;
  uint32_t metadata_length_ = 0;
  uint32_t block_size_ = 0;
  bool leave_blocks_allocated_ = false;
  bool has_parent_ = false;
  uint64_t virtual_disk_size_ = 0;
  uint32_t logical_sector_size_ = 0;
  uint32_t physical_sector_size_ = 0;
  VhdxGuid page83_data_;
  uint64_t chunk_ratio_ = 0;
  uint32_t bat_entries_ = 0;
};

}  // namespace instar

#endif  // INSTAR_ENGINE_VHDX_H_
