// The vpc (VHD) reader. The on-disk layout is Microsoft's "Virtual Hard Disk
// Image Format Specification"; what is accepted and how sizes are derived
// follows qemu's block/vpc.c (vpc_open, get_image_offset,
// vpc_co_block_status) for each qemu version in the matrix.
#include "instar/engine/vpc.h"

#include "core/formats.h"
#include "core/reader_util.h"
#include "core/table_cache.h"
#include "instar/engine/bytes.h"

namespace instar {

namespace {

constexpr size_t kFooterSize = 512;
constexpr size_t kDynamicHeaderSize = 1024;
constexpr uint32_t kUnallocated = 0xffffffff;
// qemu's VHD_MAX_SECTORS (2040 GiB) and VHD_MAX_GEOMETRY.
constexpr uint64_t kMaxSectors = 0xff000000;
constexpr uint64_t kMaxGeometry = 65535ull * 16 * 255;

// Versions where vpc_open changed. The matrix only pins each change to an
// interval (5.2.0 .. 7.2.18 and 7.2.22 .. 10.0.2); the boundaries below are
// inside them.
//  * An end footer must say "fixed" (absent in 5.2, present in 7.2).
constexpr QemuVersion kEndFooterMustBeFixed{6, 0, 0};
//  * The creator applications whose images are sized by CHS: up to 7.2 all
//    but "win ", "qem2", "d2v ", "CTXS", "tap\0"; since then only "vpc " and
//    "qemu" (so Azure's "wa\0\0" uses current_size).
constexpr QemuVersion kChsOnlyForVpcAndQemu{8, 1, 0};

bool AtLeast(const QemuVersion& v, const QemuVersion& threshold) {
  return v.AtLeast(threshold.major, threshold.minor, threshold.micro);
}

uint32_t FooterChecksum(const uint8_t* footer) {
  uint32_t sum = 0;
  for (size_t i = 0; i < kFooterSize; ++i) {
    if (i >= 64 && i < 68) continue;  // the checksum field counts as zero
    sum += footer[i];
  }
  return ~sum;
}

void DecodeFooter(const uint8_t* b, VpcFooter* f) {
  f->features = LoadBE32(b + 8);
  f->version = LoadBE32(b + 12);
  f->data_offset = LoadBE64(b + 16);
  f->timestamp = LoadBE32(b + 24);
  CopyBytes(f->creator_app, b + 28, 4);
  f->creator_major = LoadBE16(b + 32);
  f->creator_minor = LoadBE16(b + 34);
  CopyBytes(f->creator_os, b + 36, 4);
  f->original_size = LoadBE64(b + 40);
  f->current_size = LoadBE64(b + 48);
  f->cylinders = LoadBE16(b + 56);
  f->heads = b[58];
  f->sectors_per_track = b[59];
  f->disk_type = LoadBE32(b + 60);
  f->checksum = LoadBE32(b + 64);
  CopyBytes(f->uuid, b + 68, 16);
  f->saved_state = b[84];
}

bool UsesChs(const VpcFooter& f, const QemuVersion& compat) {
  const char* app = f.creator_app;
  if (AtLeast(compat, kChsOnlyForVpcAndQemu)) {
    return BytesEqual(app, "vpc ", 4) || BytesEqual(app, "qemu", 4);
  }
  static constexpr char kTap[4] = {'t', 'a', 'p', '\0'};
  return !(BytesEqual(app, "win ", 4) || BytesEqual(app, "qem2", 4) || BytesEqual(app, "d2v ", 4) ||
           BytesEqual(app, "CTXS", 4) || BytesEqual(app, kTap, 4));
}

// The BAT is read through the engine's table cache; these many 4 KiB
// chunks of it are kept.
constexpr size_t kBatCacheSlots = 8;

class VpcReader final : public VpcImage {
 public:
  Status Open(BlockDevice& device, Arena& arena, const OpenOptions& options, VpcSizeCalc size_calc);
  Result<BlockStatus> DriverBlockStatus(bool want_zero, uint64_t offset, uint64_t bytes) override;

 private:
  ~VpcReader() = default;

  Status OpenDynamic(Arena& arena, uint64_t total_sectors);
  uint64_t read_limit_ = kBdrvMaxLength;
  // The file offset of virtual `offset`, or kNotAllocated.
  static constexpr uint64_t kNotAllocated = UINT64_MAX;
  Result<uint64_t> ImageOffset(uint64_t offset);

  bool dynamic_ = false;
  TableCache* bat_cache_ = nullptr;
};

Status VpcReader::Open(BlockDevice& device, Arena& arena, const OpenOptions& options,
                       VpcSizeCalc size_calc) {
  file_ = &device;
  uint8_t raw[kFooterSize];
  INSTAR_RETURN_IF_ERROR(device.Read(0, raw, sizeof(raw)));
  if (BytesEqual(raw, "conectix", 8)) {
    dynamic_ = true;
  } else {
    // qemu's file length is always whole sectors (bdrv_getlength rounds up).
    const uint64_t length = SectorLength(device);
    if (length < kFooterSize) return Status::Corruption("File too small for a VHD header");
    INSTAR_RETURN_IF_ERROR(device.Read(length - kFooterSize, raw, sizeof(raw)));
    if (!BytesEqual(raw, "conectix", 8)) {
      return Status::Corruption("invalid VPC image");
    }
    if (AtLeast(options.compat, kEndFooterMustBeFixed) &&
        LoadBE32(raw + 60) != vpc_disk_type::kFixed) {
      return Status::Corruption("invalid VPC image");
    }
    footer_at_end_ = true;
  }
  DecodeFooter(raw, &footer_);
  if (FooterChecksum(raw) != footer_.checksum) {
    return Status::Corruption("Incorrect header checksum");
  }

  uint64_t total_sectors = uint64_t{footer_.cylinders} * footer_.heads * footer_.sectors_per_track;
  uses_chs_ = UsesChs(footer_, options.compat) || size_calc == VpcSizeCalc::kChs;
  if (!uses_chs_ || total_sectors == kMaxGeometry || size_calc == VpcSizeCalc::kCurrentSize) {
    total_sectors = footer_.current_size / 512;
    uses_chs_ = false;
  }
  if (total_sectors > kMaxSectors) {
    return Status::OutOfRange("vpc image is larger than 2040 GiB").QemuErrno(QemuErrno::kEFBIG);
  }
  virtual_size_ = total_sectors * 512;

  // Since 6.0 a read past BDRV_MAX_LENGTH fails; 5.2 reads up to
  // INT64_MAX (and aborts past it, where instar refuses as later
  // releases do).
  read_limit_ = options.compat.AtLeast(6, 0) ? kBdrvMaxLength : static_cast<uint64_t>(INT64_MAX);
  if (dynamic_) INSTAR_RETURN_IF_ERROR(OpenDynamic(arena, total_sectors));
  return Status::Ok();
}

Status VpcReader::OpenDynamic(Arena& arena, uint64_t total_sectors) {
  const uint64_t header_offset = footer_.data_offset;
  if (header_offset > kBdrvMaxLength || kDynamicHeaderSize > kBdrvMaxLength - header_offset) {
    return Status::Corruption("Error reading dynamic VHD header");
  }
  uint8_t header[kDynamicHeaderSize];
  INSTAR_RETURN_IF_ERROR(file_->Read(header_offset, header, sizeof(header)));
  if (!BytesEqual(header, "cxsparse", 8)) {
    return Status::Corruption("Invalid header magic");
  }
  block_size_ = LoadBE32(header + 32);
  if (!IsPowerOfTwo(block_size_) || block_size_ < 512) {
    return Status::Corruption("Invalid block size {}").With(block_size_);
  }
  bitmap_size_ = static_cast<uint32_t>(AlignUp(block_size_ / (8 * 512), 512));
  dynamic_header_version_ = LoadBE32(header + 24);
  const uint32_t entries = LoadBE32(header + 28);
  max_table_entries_ = entries;
  if (total_sectors * 512 / block_size_ > 0xffffffffu) {
    return Status::Corruption("Too many blocks");
  }
  // qemu holds the entry count in an int: counts of 2^31 and more are
  // negative there, and widen to huge unsigned values in this product.
  const uint64_t widened =
      entries >= 0x80000000u ? (uint64_t{0xffffffff00000000u} | entries) : uint64_t{entries};
  if (widened * block_size_ < total_sectors * 512) {
    return Status::Corruption("Page table too small");
  }
  if (entries > 0x7fffffffu / 4) {
    return Status::Corruption("Max Table Entries too large ({})")
        .WithSigned(static_cast<int32_t>(entries));
  }
  bat_offset_ = LoadBE64(header + 16);
  const uint64_t bat_bytes = uint64_t{entries} * 4;
  if (bat_offset_ > read_limit_ || bat_bytes > read_limit_ - bat_offset_) {
    return Status::Corruption("Error reading pagetable");
  }
  bat_cache_ = TableCache::Create(arena, kBatCacheSlots);
  if (bat_cache_ == nullptr) return Status::NoSpace("out of memory for the vpc BAT cache");

  // Where the data ends: past the BAT and past every allocated block. The
  // file is scanned in chunks; BAT bytes past EOF read as zeros, which all
  // name block 0.
  uint64_t data_end = AlignUp(bat_offset_ + bat_bytes, 512);
  const uint64_t length = SectorLength(*file_);
  const uint64_t block_span = uint64_t{bitmap_size_} + block_size_;
  const uint64_t in_file = EntriesInFile(bat_offset_, entries, 4, length);
  INSTAR_RETURN_IF_ERROR(ScanTable(*file_, arena, bat_offset_, in_file, 4,
                                   "out of memory scanning the vpc BAT",
                                   [&](uint64_t, const uint8_t* bytes) {
                                     const uint32_t entry = LoadBE32(bytes);
                                     if (entry == kUnallocated) return Status::Ok();
                                     const uint64_t next = uint64_t{entry} * 512 + block_span;
                                     if (next > data_end) data_end = next;
                                     return Status::Ok();
                                   }));
  if (in_file < entries && block_span > data_end) data_end = block_span;
  data_end_ = data_end;
  if (data_end > length) {
    return Status::Corruption(
        "block-vpc: free_data_block_offset points after the end of file. The image has been "
        "truncated.");
  }
  return Status::Ok();
}

Result<uint64_t> VpcReader::ImageOffset(uint64_t offset) {
  const uint64_t index = offset / block_size_;
  if (index >= max_table_entries_) return kNotAllocated;
  // The BAT ends below the read limit (checked at open), so the sum cannot wrap.
  INSTAR_ASSIGN_OR_RETURN(const uint32_t entry,
                          bat_cache_->LoadBE32(*file_, bat_offset_ + index * 4));
  if (entry == kUnallocated) return kNotAllocated;
  return uint64_t{entry} * 512 + bitmap_size_ + offset % block_size_;
}

Result<BlockStatus> VpcReader::DriverBlockStatus(bool, uint64_t offset, uint64_t bytes) {
  if (bytes == 0 || offset >= virtual_size_) {
    return Status::InvalidArgument("block status range is outside the image");
  }
  if (bytes > virtual_size_ - offset) bytes = virtual_size_ - offset;
  BlockStatus status;
  if (footer_.disk_type == vpc_disk_type::kFixed) {
    status.flags = block_status::kData | block_status::kOffsetValid | block_status::kRecurse;
    status.bytes = bytes;
    status.map = offset;
    status.file = file_;
    return status;
  }
  if (block_size_ == 0) {
    // qemu 5.2 accepts an end footer of another type and then divides by
    // the block size it never read.
    return Status::Corruption("vpc image has no dynamic header to look blocks up in");
  }
  INSTAR_ASSIGN_OR_RETURN(uint64_t image_offset, ImageOffset(offset));
  const bool allocated = image_offset != kNotAllocated;
  status.flags = block_status::kZero;
  // A run of unallocated blocks is reported at once; an allocated block
  // ends the run (its bitmap separates it from the next one).
  while (true) {
    uint64_t n = AlignDown(offset, block_size_) + block_size_ - offset;
    if (n > bytes) n = bytes;
    status.bytes += n;
    offset += n;
    bytes -= n;
    if (allocated) {
      status.flags = block_status::kData | block_status::kOffsetValid;
      status.map = image_offset;
      status.file = file_;
      break;
    }
    if (bytes == 0) break;
    INSTAR_ASSIGN_OR_RETURN(image_offset, ImageOffset(offset));
    if (image_offset != kNotAllocated) break;
  }
  return status;
}

}  // namespace

Result<Image*> OpenVpcImage(BlockDevice& device, Arena& arena, const OpenOptions& options,
                            VpcSizeCalc size_calc) {
  return OpenReader<VpcReader>(arena, "out of memory opening a vpc image", [&](VpcReader& reader) {
    return reader.Open(device, arena, options, size_calc);
  });
}

Result<Image*> OpenVpcImage(BlockDevice& device, DeviceOpener&, Arena& arena,
                            const OpenOptions& options) {
  return OpenVpcImage(device, arena, options, VpcSizeCalc::kAuto);
}

}  // namespace instar
