// VmdkImage: a VMware disk, qemu's "vmdk" format driver.
//
// What is accepted, and every number reported, follows qemu's block/vmdk.c
// (vmdk_open and the functions it calls):
//  * The image file is either a sparse extent with its descriptor embedded
//    ("KDMV" hosted sparse, or "COWD" VMFS sparse), or a text descriptor that
//    names the extents (monolithicFlat, twoGbMaxExtentSparse/Flat, vmfs,
//    vmfsSparse, seSparse). Descriptor lines are read the way qemu's sscanf
//    reads them, including its quirks; extent files are opened through the
//    DeviceOpener, relative to the image's directory.
//  * A hosted sparse extent whose grain directory is at the end
//    (streamOptimized with gd_offset == GD_AT_END) takes its header from the
//    footer 1536 bytes before the end of the image file.
//  * CID, parentCID and parentFileNameHint come from the descriptor text at
//    offset 0x200 of a sparse image file, or the start of a descriptor file.
//
// Grain directories and grain tables are read on demand through a bounded
// cache, never whole. Block status is vmdk_co_block_status: allocated grains
// are data at their offset in the extent file (kRecurse for flat extents;
// compressed grains are data without an offset, flagged kCompressed since
// qemu 8.2), zeroed grains kZero, unallocated grains 0.
#ifndef INSTAR_ENGINE_VMDK_H_
#define INSTAR_ENGINE_VMDK_H_

#include <cstddef>
#include <cstdint>

#include "instar/engine/image.h"

namespace instar {

// The extent size of twoGbMaxExtentSparse and twoGbMaxExtentFlat
// (vmdk_co_do_create's split_size): the create hook's and measure's.
constexpr uint64_t kVmdkSplitExtentBytes = uint64_t{1} << 31;

enum class VmdkExtentKind : uint8_t {
  kFlat,          // FLAT or VMFS: the extent file holds the data as is
  kHostedSparse,  // "KDMV" sparse extent (monolithicSparse, streamOptimized ...)
  kVmfsSparse,    // "COWD" sparse extent (VMFSSPARSE)
  kSeSparse,      // ESXi seSparse extent (SESPARSE)
};

// One extent, in the order the image lists them.
struct VmdkExtent {
  VmdkExtentKind kind = VmdkExtentKind::kFlat;
  BlockDevice* file = nullptr;
  // True for the extent embedded in the image file itself (qemu's
  // extent->file == bs->file); file_name is then empty.
  bool in_image_file = false;
  // The file name as the descriptor gives it (not NUL-terminated).
  const char* file_name = "";
  size_t file_name_length = 0;
  // The descriptor's type word ("FLAT", "SPARSE", "VMFS", "VMFSSPARSE",
  // "SESPARSE"); empty for an extent no descriptor line names.
  const char* type = "";
  size_t type_length = 0;

  uint64_t sectors = 0;           // size in 512-byte sectors
  uint64_t end_sector = 0;        // first sector after this extent in the image
  uint64_t cluster_sectors = 0;   // grain size in sectors; `sectors` when flat
  uint64_t flat_offset = 0;       // flat: byte offset of the data in the file
  uint64_t gd_offset = 0;         // sparse: byte offset of the grain directory
  uint64_t rgd_offset = 0;        // hosted sparse: redundant directory, 0 if none
  uint32_t gd_entries = 0;        // grain directory entries (qemu's l1_size)
  uint32_t gt_entries = 0;        // entries per grain table (qemu's l2_size)
  uint32_t gd_entry_sectors = 0;  // sectors one directory entry covers
  uint32_t entry_size = 4;        // bytes per directory/table entry (8: seSparse)
  uint32_t version = 0;           // sparse header version
  uint64_t grain_offset = 0;      // hosted sparse: first grain, in sectors
  uint64_t se_tables_offset = 0;  // seSparse: grain tables, in sectors
  uint64_t se_grains_offset = 0;  // seSparse: grains, in sectors
  bool compressed = false;        // deflate-compressed grains (streamOptimized)
  bool has_marker = false;        // grains and tables carry stream markers
  bool has_zero_grain = false;    // table entry 1 means a zeroed grain

  uint64_t start_sector() const { return end_sector - sectors; }
  // What `qemu-img info` prints per extent (vmdk_get_extent_info).
  uint64_t virtual_size() const { return sectors * 512; }
  bool has_cluster_size() const { return kind != VmdkExtentKind::kFlat; }
  uint64_t cluster_size() const { return cluster_sectors * 512; }
};

class VmdkImage : public Image {
 public:
  ImageFormat format() const override { return ImageFormat::kVmdk; }
  // 0 when Length() fails.
  uint64_t VirtualSize() const override { return total_sectors_ * 512; }
  QemuLength Length() const override { return QemuLengthOf(qemu_total_sectors_); }
  // qemu's bs->total_sectors: the extents' sizes summed as an int64, as
  // vmdk_add_extent() sums them (negative once the sum wraps); the check
  // walks up to it.
  int64_t qemu_total_sectors() const { return qemu_total_sectors_; }
  BlockDevice& file() override { return *file_; }
  bool HasDriverBlockStatus() const override { return true; }
  // A non-empty parentFileNameHint is the backing file, of format vmdk, as
  // vmdk_parent_open() sets it up for qemu's block layer.
  bool HasBacking() const override { return parent_hint_length_ > 0; }
  bool GetBackingReference(BackingReference* reference) const override {
    if (!HasBacking()) return false;
    reference->name = parent_hint_;
    reference->name_length = parent_hint_length_;
    reference->format = ImageFormat::kVmdk;
    reference->format_name = "vmdk";
    reference->format_name_length = 4;
    return true;
  }

  // createType; empty when qemu has none (a bare "COWD" image file).
  const char* create_type() const { return create_type_; }
  size_t create_type_length() const { return create_type_length_; }
  uint32_t cid() const { return cid_; }
  uint32_t parent_cid() const { return parent_cid_; }
  size_t extent_count() const { return extent_count_; }
  const VmdkExtent& extent(size_t i) const { return *extents_[i]; }
  // The image's cluster_size in `qemu-img info` (vmdk_co_get_info): the
  // first extent's grain size when every extent is of the same kind; qemu
  // prints none when this is 0 (flat or mixed extents).
  uint64_t cluster_size() const { return cluster_size_; }
  bool has_cluster_size() const { return cluster_size_ != 0; }
  // parentFileNameHint, which qemu reports as the backing file (format vmdk).
  bool has_parent_file_name_hint() const { return has_parent_hint_; }
  const char* parent_file_name_hint() const { return parent_hint_; }
  size_t parent_file_name_hint_length() const { return parent_hint_length_; }
  // Where the descriptor text was read for CID and parent hints.
  uint64_t descriptor_offset() const { return descriptor_offset_; }

  // get_cluster_offset() without allocation, for `qemu-img check`: where
  // the grain of extent `index` holding image byte `offset` starts in the
  // extent's file (*cluster_offset, with kOk), or why there is none.
  enum class GrainLookup : uint8_t { kOk, kUnallocated, kZeroed, kError };
  GrainLookup LookUpGrain(size_t index, uint64_t offset, uint64_t* cluster_offset);
  // vmdk_read_cluster() of a compressed grain (streamOptimized): the grain
  // read from its extent (two grains' worth, its marker first when the
  // extent has markers), decompressed as zlib's uncompress() does, and up
  // to `bytes` from `offset` (< VirtualSize()) copied to `out`; returns how
  // many. Buffers come from `scratch` and are given back. qemu's -EINVAL
  // (a bad marker, data that does not decompress) is InvalidArgument.
  Result<uint64_t> ReadCompressed(uint64_t offset, uint64_t bytes, uint8_t* out, Arena& scratch);

 protected:
  VmdkImage() = default;
  ~VmdkImage() = default;

  BlockDevice* file_ = nullptr;
  uint64_t total_sectors_ = 0;
  int64_t qemu_total_sectors_ = 0;
  const char* create_type_ = "";
  size_t create_type_length_ = 0;
  uint32_t cid_ = 0;
  uint32_t parent_cid_ = 0;
  VmdkExtent** extents_ = nullptr;
  size_t extent_count_ = 0;
  uint64_t cluster_size_ = 0;
  bool has_parent_hint_ = false;
  const char* parent_hint_ = "";
  size_t parent_hint_length_ = 0;
  uint64_t descriptor_offset_ = 0;
};

}  // namespace instar

#endif  // INSTAR_ENGINE_VMDK_H_
