// The vhdx reader. The on-disk format is Microsoft's "VHDX Format
// Specification" v1.00; what is accepted follows qemu's block/vhdx.c
// (vhdx_open and what it calls), which also fixes the order of the checks.
#include "instar/engine/vhdx.h"

#include "core/formats.h"
#include "core/reader_util.h"
#include "core/table_cache.h"
#include "instar/engine/bytes.h"
#include "instar/engine/text_builder.h"
#include "vhdx/crc32c.h"
#include "vhdx/vhdx_format.h"
#include "vhdx/vhdx_log.h"

namespace instar {

namespace {

using vhdx::kBatGuid;
using vhdx::kBatOffsetMask;
using vhdx::kFileParametersGuid;
using vhdx::kHeader1Offset;
using vhdx::kHeader2Offset;
using vhdx::kHeaderFieldsSize;
using vhdx::kHeaderSignature;
using vhdx::kHeaderSize;
using vhdx::kLogAlignment;
using vhdx::kLogicalSectorGuid;
using vhdx::kMaxBlockSize;
using vhdx::kMaxRegionEntries;
using vhdx::kMetadataGuid;
using vhdx::kMetadataRequired;
using vhdx::kMetadataSignature;
using vhdx::kMetadataTableSize;
using vhdx::kMinBlockSize;
using vhdx::kPage83Guid;
using vhdx::kParamHasParent;
using vhdx::kParamLeaveBlocksAllocated;
using vhdx::kParentLocatorGuid;
using vhdx::kPhysicalSectorGuid;
using vhdx::kRegionRequired;
using vhdx::kRegionSignature;
using vhdx::kRegionTableOffset;
using vhdx::kRegionTableSize;
using vhdx::kVirtualDiskSizeGuid;

bool GuidIs(const uint8_t* bytes, const VhdxGuid& guid) {
  return BytesEqual(bytes, guid.bytes, 16);
}

// Reads as qemu's bdrv_pread would allow it: nothing past BDRV_MAX_LENGTH.
Status ReadChecked(BlockDevice& device, uint64_t offset, void* buffer, size_t length,
                   const char* message) {
  // qemu's bdrv_pread() fails there with EIO, and vhdx_open() passes that
  // on without a message.
  if (offset > kBdrvMaxLength || length > kBdrvMaxLength - offset) {
    return Status::Corruption(message).QemuErrno(QemuErrno::kEIO);
  }
  return device.Read(offset, buffer, length);
}

struct Region {
  uint64_t start;
  uint64_t end;
};

// The BAT is read through the engine's table cache; these many 4 KiB
// chunks of it are kept.
constexpr size_t kBatCacheSlots = 8;

class VhdxReader final : public VhdxImage {
 public:
  Status Open(BlockDevice& device, Arena& arena, const QemuVersion& compat, bool check);
  Result<VhdxPayloadBlock> LookUp(uint64_t offset);
  Status CheckBat(Arena& arena, CheckLog* log = nullptr, uint64_t* errors = nullptr);

 private:
  ~VhdxReader() = default;

  Status ParseHeaders(Arena& arena);
  Status ParseLog(Arena& arena);
  Status OpenRegionTable(Arena& arena);
  Status ParseMetadata(Arena& arena);

  // vhdx_region_check: false when [start, start + length) overlaps a region.
  // The first registered region [start, start + length) overlaps, or null.
  const Region* OverlappedRegion(uint64_t start, uint64_t length) const;

  // Where qemu's reads must end (see vhdx::LogNeedsReplay).
  uint64_t read_limit_ = kBdrvMaxLength;
  // 5.2 said why no header is valid with an errno it never set.
  bool header_error_has_errno_ = false;

  Status NoValidHeader() const {
    return header_error_has_errno_
               ? Status::Corruption("No valid VHDX header found: Unknown error -4096")
               : Status::Corruption("No valid VHDX header found");
  }
  Region* regions_ = nullptr;
  size_t region_count_ = 0;
  size_t region_capacity_ = 0;
  uint32_t chunk_ratio_bits_ = 0;
  uint32_t block_size_bits_ = 0;
  TableCache* bat_cache_ = nullptr;
};

// vhdx_region_check()'s line, "qemu-img: VHDX region S-E overlaps with
// region S-E"; its "%." PRIu64 prints a zero end as nothing.
void AppendOverlap(TextBuilder& text, uint64_t start, uint64_t end, const Region& overlapped) {
  text.Append("qemu-img: VHDX region ")
      .AppendDecimal(start)
      .Append('-')
      .AppendDecimal(end)
      .Append(" overlaps with region ")
      .AppendDecimal(overlapped.start)
      .Append('-');
  if (overlapped.end != 0) text.AppendDecimal(overlapped.end);
}

// What vhdx_open() fails with after it printed `line`: a bare EINVAL.
Status OpenFailure(const char* message, const TextBuilder& line) {
  return Status::Corruption(message)
      .QemuErrno(QemuErrno::kEINVAL)
      .WithTextCopy(line.c_str(), line.length());
}

const Region* VhdxReader::OverlappedRegion(uint64_t start, uint64_t length) const {
  // qemu keeps its regions in a list it adds to at the head
  // (QLIST_INSERT_HEAD), so it finds the latest overlapping one first.
  const uint64_t end = start + length;
  for (size_t i = region_count_; i > 0; --i) {
    const Region& region = regions_[i - 1];
    if (!(start >= region.end || end <= region.start)) return &region;
  }
  return nullptr;
}

// vhdx_parse_header.
Status VhdxReader::ParseHeaders(Arena& arena) {
  ArenaRewind scratch(arena);
  uint8_t* buffers = arena.AllocateArray<uint8_t>(2 * kHeaderSize);
  if (buffers == nullptr) return Status::NoSpace("out of memory reading vhdx headers");
  bool valid[2] = {false, false};
  uint64_t sequence[2] = {0, 0};
  for (int i = 0; i < 2; ++i) {
    uint8_t* h = buffers + i * kHeaderSize;
    INSTAR_RETURN_IF_ERROR(file_->Read(i == 0 ? kHeader1Offset : kHeader2Offset, h, kHeaderSize));
    const uint32_t stored = LoadLE32(h + 4);
    uint32_t crc = vhdx::Crc32cUpdate(vhdx::kCrc32cInit, h, 4);
    static constexpr uint8_t kZero[4] = {};
    crc = vhdx::Crc32cUpdate(crc, kZero, 4);
    crc = vhdx::Crc32cFinish(vhdx::Crc32cUpdate(crc, h + 8, kHeaderSize - 8));
    if (crc == stored && LoadLE32(h) == kHeaderSignature && LoadLE16(h + 66) == 1) {
      valid[i] = true;
      sequence[i] = LoadLE64(h + 8);
    }
  }
  int current;
  if (valid[0] && !valid[1]) {
    current = 0;
  } else if (!valid[0] && valid[1]) {
    current = 1;
  } else if (!valid[0] && !valid[1]) {
    return NoValidHeader();
  } else if (sequence[0] != sequence[1]) {
    current = sequence[0] > sequence[1] ? 0 : 1;
  } else if (BytesEqual(buffers, buffers + kHeaderSize, kHeaderFieldsSize)) {
    // Disk2VHD writes two identical headers.
    current = 0;
  } else {
    return NoValidHeader();  // the headers differ but have the same sequence number
  }
  const uint8_t* h = buffers + current * kHeaderSize;
  current_header_ = current;
  sequence_number_ = LoadLE64(h + 8);
  CopyBytes(file_write_guid_.bytes, h + 16, 16);
  CopyBytes(data_write_guid_.bytes, h + 32, 16);
  CopyBytes(log_guid_.bytes, h + 48, 16);
  log_version_ = LoadLE16(h + 64);
  version_ = LoadLE16(h + 66);
  log_length_ = LoadLE32(h + 68);
  log_offset_ = LoadLE64(h + 72);
  return Status::Ok();
}

// vhdx_parse_log, read-only.
Status VhdxReader::ParseLog(Arena& arena) {
  if (log_offset_ < kLogAlignment || log_offset_ % kLogAlignment != 0) {
    return Status::Corruption("vhdx log offset is not a multiple of 1 MiB")
        .QemuErrno(QemuErrno::kEINVAL);
  }
  if (log_version_ != 0)
    return Status::Corruption("unsupported vhdx log version").QemuErrno(QemuErrno::kEINVAL);
  static constexpr VhdxGuid kZeroGuid{};
  if (BytesEqual(log_guid_.bytes, kZeroGuid.bytes, 16) || log_length_ == 0) return Status::Ok();
  if (log_length_ % kLogAlignment != 0) {
    return Status::Corruption("vhdx log length is not a multiple of 1 MiB")
        .QemuErrno(QemuErrno::kEINVAL);
  }
  ArenaRewind scratch(arena);
  uint8_t* sector = arena.AllocateArray<uint8_t>(vhdx::kLogSectorSize);
  if (sector == nullptr) return Status::NoSpace("out of memory reading the vhdx log");
  INSTAR_ASSIGN_OR_RETURN(
      const bool replay,
      vhdx::LogNeedsReplay(*file_, log_offset_, log_length_, log_guid_.bytes, read_limit_, sector));
  if (replay) {
    // {f}: the image's file name, filled in by whoever names the image.
    return Status::NotSupported(
        "VHDX image file '{f}' opened read-only, but contains a log that needs to be replayed\n"
        "To replay the log, run:\n"
        "qemu-img check -r all '{f}'");
  }
  return Status::Ok();
}

// vhdx_open_region_tables.
Status VhdxReader::OpenRegionTable(Arena& arena) {
  ArenaRewind scratch(arena);
  uint8_t* table = arena.AllocateArray<uint8_t>(kRegionTableSize);
  if (table == nullptr) return Status::NoSpace("out of memory reading the vhdx region table");
  INSTAR_RETURN_IF_ERROR(file_->Read(kRegionTableOffset, table, kRegionTableSize));
  const uint32_t stored = LoadLE32(table + 4);
  FillBytes(table + 4, 0, 4);
  if (vhdx::Crc32c(table, kRegionTableSize) != stored) {
    return Status::Corruption("vhdx region table checksum mismatch").QemuErrno(QemuErrno::kEINVAL);
  }
  if (LoadLE32(table) != kRegionSignature) {
    return Status::Corruption("vhdx region table has a bad signature")
        .QemuErrno(QemuErrno::kEINVAL);
  }
  const uint32_t entry_count = LoadLE32(table + 8);
  if (entry_count > kMaxRegionEntries) {
    return Status::Corruption("vhdx region table has too many entries")
        .QemuErrno(QemuErrno::kEINVAL);
  }
  bool bat_found = false;
  bool metadata_found = false;
  for (uint32_t i = 0; i < entry_count; ++i) {
    const uint8_t* e = table + 16 + 32 * i;
    const uint64_t start = LoadLE64(e + 16);
    const uint32_t length = LoadLE32(e + 24);
    const uint32_t data_bits = LoadLE32(e + 28);
    if (const Region* overlapped = OverlappedRegion(start, length); overlapped != nullptr) {
      char line[160];
      TextBuilder text(line, sizeof(line));
      AppendOverlap(text, start, start + length, *overlapped);
      return OpenFailure("vhdx regions overlap", text);
    }
    uint64_t end;
    if (!CheckedAdd(start, length, &end)) {
      return Status::Corruption("vhdx region ends beyond 2^64").QemuErrno(QemuErrno::kEIO);
    }
    if (region_count_ == region_capacity_) {
      return Status::Corruption("vhdx region list is full");
    }
    regions_[region_count_++] = Region{start, end};
    if (GuidIs(e, kBatGuid)) {
      if (bat_found)
        return Status::Corruption("vhdx region table names two BATs").QemuErrno(QemuErrno::kEINVAL);
      bat_found = true;
      bat_offset_ = start;
      bat_length_ = length;
      continue;
    }
    if (GuidIs(e, kMetadataGuid)) {
      if (metadata_found) {
        return Status::Corruption("vhdx region table names two metadata regions");
      }
      metadata_found = true;
      metadata_offset_ = start;
      metadata_length_ = length;
      continue;
    }
    if ((data_bits & kRegionRequired) != 0) {
      return Status::NotSupported("vhdx image has a required region we do not know")
          .QemuErrno(QemuErrno::kENOTSUP);
    }
  }
  if (!bat_found || !metadata_found) {
    return Status::Corruption("vhdx region table lacks the BAT or the metadata region")
        .QemuErrno(QemuErrno::kEINVAL);
  }
  return Status::Ok();
}

// vhdx_parse_metadata.
Status VhdxReader::ParseMetadata(Arena& arena) {
  // The table is scratch; the items are read into the reader afterwards.
  ArenaRewind scratch(arena);
  uint8_t* table = arena.AllocateArray<uint8_t>(kMetadataTableSize);
  if (table == nullptr) return Status::NoSpace("out of memory reading vhdx metadata");
  INSTAR_RETURN_IF_ERROR(ReadChecked(*file_, metadata_offset_, table, kMetadataTableSize,
                                     "vhdx metadata region lies beyond the largest file offset"));
  if (LoadLE64(table) != kMetadataSignature) {
    return Status::Corruption("vhdx metadata table has a bad signature")
        .QemuErrno(QemuErrno::kEINVAL);
  }
  const uint16_t entry_count = LoadLE16(table + 10);
  if (uint64_t{entry_count} * 32 > kMetadataTableSize - 32) {
    return Status::Corruption("vhdx metadata table has too many entries");
  }
  const VhdxGuid* const kKnown[] = {&kFileParametersGuid, &kVirtualDiskSizeGuid,
                                    &kPage83Guid,         &kLogicalSectorGuid,
                                    &kPhysicalSectorGuid, &kParentLocatorGuid};
  constexpr size_t kKnownCount = sizeof(kKnown) / sizeof(kKnown[0]);
  bool present[kKnownCount] = {};
  uint32_t item_offset[kKnownCount] = {};
  for (uint32_t i = 0; i < entry_count; ++i) {
    const uint8_t* e = table + 32 + 32 * i;
    size_t which = kKnownCount;
    for (size_t k = 0; k < kKnownCount; ++k) {
      if (GuidIs(e, *kKnown[k])) which = k;
    }
    if (which == kKnownCount) {
      if ((LoadLE32(e + 24) & kMetadataRequired) != 0) {
        return Status::NotSupported("vhdx image has a required metadata item we do not know")
            .QemuErrno(QemuErrno::kENOTSUP);
      }
      continue;
    }
    if (present[which])
      return Status::Corruption("vhdx metadata item appears twice").QemuErrno(QemuErrno::kEINVAL);
    present[which] = true;
    item_offset[which] = LoadLE32(e + 16);
  }
  // qemu wants exactly the five items it needs: with a parent locator as
  // well the set differs and it gives up the same way.
  for (size_t k = 0; k < 5; ++k) {
    if (!present[k])
      return Status::NotSupported("vhdx metadata lacks a required item")
          .QemuErrno(QemuErrno::kENOTSUP);
  }
  if (present[5])
    return Status::NotSupported("vhdx differencing images are not supported")
        .QemuErrno(QemuErrno::kENOTSUP);
  // Items are read at the metadata region offset plus theirs, unchecked
  // against their lengths, as qemu reads them.
  auto read_item = [&](size_t which, uint8_t* out, size_t length) {
    return ReadChecked(*file_, metadata_offset_ + item_offset[which], out, length,
                       "vhdx metadata item lies beyond the largest file offset");
  };
  uint8_t params[8];
  INSTAR_RETURN_IF_ERROR(read_item(0, params, sizeof(params)));
  block_size_ = LoadLE32(params);
  const uint32_t param_bits = LoadLE32(params + 4);
  leave_blocks_allocated_ = (param_bits & kParamLeaveBlocksAllocated) != 0;
  has_parent_ = (param_bits & kParamHasParent) != 0;
  if (has_parent_)
    return Status::Corruption("vhdx image has a parent but no parent locator")
        .QemuErrno(QemuErrno::kEINVAL);
  uint8_t size[8];
  uint8_t logical[4];
  uint8_t physical[4];
  INSTAR_RETURN_IF_ERROR(read_item(1, size, sizeof(size)));
  INSTAR_RETURN_IF_ERROR(read_item(3, logical, sizeof(logical)));
  INSTAR_RETURN_IF_ERROR(read_item(4, physical, sizeof(physical)));
  // qemu never reads the page 83 data; an unreadable one is left zero.
  if (metadata_offset_ + item_offset[2] <= kBdrvMaxLength - 16) {
    INSTAR_RETURN_IF_ERROR(read_item(2, page83_data_.bytes, 16));
  }
  virtual_disk_size_ = LoadLE64(size);
  logical_sector_size_ = LoadLE32(logical);
  physical_sector_size_ = LoadLE32(physical);
  if (block_size_ < kMinBlockSize || block_size_ > kMaxBlockSize) {
    return Status::Corruption("vhdx block size is not between 1 MiB and 256 MiB")
        .QemuErrno(QemuErrno::kEINVAL);
  }
  if (logical_sector_size_ != 512) {
    return Status::NotSupported("vhdx logical sector size is not 512")
        .QemuErrno(QemuErrno::kENOTSUP);
  }
  const uint32_t sectors_per_block = block_size_ / 512;
  chunk_ratio_ = (uint64_t{1} << 23) * 512 / block_size_;
  if (!IsPowerOfTwo(sectors_per_block) || !IsPowerOfTwo(chunk_ratio_) ||
      !IsPowerOfTwo(block_size_)) {
    return Status::Corruption("vhdx block size is not a power of two")
        .QemuErrno(QemuErrno::kEINVAL);
  }
  chunk_ratio_bits_ = static_cast<uint32_t>(CountTrailingZeros(chunk_ratio_));
  block_size_bits_ = static_cast<uint32_t>(CountTrailingZeros(block_size_));
  return Status::Ok();
}

// vhdx_check_bat_entries, reading the BAT once in pieces. Entries past the
// end of the file read as zero (not present) and need no look. Without a
// `log` the first bad entry fails (qemu's open); with one, as qemu's check
// does, every bad entry's line goes to `log` and *errors counts them.
Status VhdxReader::CheckBat(Arena& arena, CheckLog* log, uint64_t* errors) {
  // qemu's file length is always whole sectors (bdrv_getlength rounds up).
  const uint64_t file_size = SectorLength(*file_);
  const uint64_t disk_bytes = virtual_size_;
  uint64_t payload_left = chunk_ratio_;
  char line[256];
  const auto report = [&](TextBuilder& text) {
    log->Line(text.c_str(), text.length());
    ++*errors;
  };
  auto check = [&](uint64_t i, const uint8_t* bytes) {
    const uint64_t entry = LoadLE64(bytes);
    if ((entry & 7) != vhdx_block_state::kFullyPresent) return Status::Ok();
    const uint64_t offset = entry & kBatOffsetMask;
    // The last block may be partial. qemu counts i over all entries,
    // sector bitmaps included, and lets the difference wrap.
    const uint64_t remaining = disk_bytes - i * block_size_;
    const uint64_t block_length = remaining < block_size_ ? remaining : block_size_;
    if (offset > static_cast<uint64_t>(INT64_MAX) - block_size_) {
      TextBuilder text(line, sizeof(line));
      text.Append("qemu-img: VHDX BAT entry ").AppendDecimal(i).Append(" offset overflow.");
      if (log == nullptr) return OpenFailure("vhdx BAT entry offset overflows", text);
      report(text);
    }
    if (offset >= file_size || offset + block_length > file_size) {
      TextBuilder text(line, sizeof(line));
      text.Append("qemu-img: VHDX BAT entry ").AppendDecimal(i);
      if (offset >= file_size) {
        text.Append(" start offset ").AppendDecimal(offset);
      } else {
        text.Append(" end offset ").AppendDecimal(offset + block_length - 1);
      }
      text.Append(" points after end of file (")
          .AppendDecimal(file_size)
          .Append("). Image has probably been truncated.");
      if (log == nullptr) {
        return OpenFailure(
            "vhdx BAT entry points after the end of the file; the image has been truncated", text);
      }
      report(text);
    }
    // qemu counts fully present entries, not positions, to tell payload
    // blocks from sector bitmap blocks.
    if (payload_left != 0) {
      --payload_left;
      const Region* overlapped = OverlappedRegion(offset, block_size_);
      if (overlapped != nullptr) {
        TextBuilder text(line, sizeof(line));
        AppendOverlap(text, offset, offset + block_size_, *overlapped);
        if (log == nullptr) {
          return OpenFailure("vhdx payload block overlaps the log or a region", text);
        }
        report(text);
      }
    } else {
      payload_left = chunk_ratio_;
    }
    return Status::Ok();
  };
  return ScanTable(*file_, arena, bat_offset_,
                   EntriesInFile(bat_offset_, bat_entries_, 8, file_size), 8,
                   "out of memory checking the vhdx BAT", check);
}

Status VhdxReader::Open(BlockDevice& device, Arena& arena, const QemuVersion& compat, bool check) {
  file_ = &device;
  read_limit_ = compat.AtLeast(6, 0) ? kBdrvMaxLength : static_cast<uint64_t>(INT64_MAX);
  header_error_has_errno_ = !compat.AtLeast(6, 0);
  uint8_t identifier[8 + 512];
  INSTAR_RETURN_IF_ERROR(device.Read(0, identifier, sizeof(identifier)));
  if (!BytesEqual(identifier, "vhdxfile", 8)) {
    return Status::Corruption("not a vhdx image (bad signature)");
  }
  CopyBytes(creator_, identifier + 8, 512);
  INSTAR_RETURN_IF_ERROR(ParseHeaders(arena));

  region_capacity_ = 1 + kMaxRegionEntries;
  regions_ = arena.AllocateArray<Region>(region_capacity_);
  if (regions_ == nullptr) return Status::NoSpace("out of memory for the vhdx region list");
  // vhdx_region_register() keeps start + length as it wraps: a log that
  // ends past 2^64 then overlaps nothing (every start is >= its end).
  regions_[region_count_++] = Region{log_offset_, log_offset_ + log_length_};

  INSTAR_RETURN_IF_ERROR(ParseLog(arena));
  INSTAR_RETURN_IF_ERROR(OpenRegionTable(arena));
  INSTAR_RETURN_IF_ERROR(ParseMetadata(arena));

  // bs->total_sectors = virtual_disk_size >> 9 (logical sectors are 512).
  virtual_size_ = AlignDown(virtual_disk_size_, 512);
  if (virtual_size_ > kBdrvMaxLength)
    return Status::OutOfRange("vhdx image is too large").QemuErrno(QemuErrno::kEINVAL);

  // vhdx_calc_bat_entries, in qemu's 32-bit arithmetic. An empty disk
  // makes its "blocks - 1" wrap to 2^32 - 1, which we keep; counts that do
  // not fit 32 bits are refused where qemu would truncate them (and then
  // mostly fail the size check below).
  const uint64_t data_blocks = DivRoundUp(virtual_disk_size_, block_size_);
  const uint32_t blocks32 = static_cast<uint32_t>(data_blocks);
  const uint64_t entries = uint64_t{blocks32} + ((blocks32 - 1u) >> chunk_ratio_bits_);
  if (data_blocks > 0xffffffffu || entries > 0xffffffffu) {
    return Status::Corruption("vhdx disk has more blocks than its BAT can count")
        .QemuErrno(QemuErrno::kEINVAL);
  }
  bat_entries_ = static_cast<uint32_t>(entries);
  if (bat_entries_ > bat_length_ / 8) {
    return Status::Corruption("vhdx BAT region is too small for the disk size")
        .QemuErrno(QemuErrno::kEINVAL);
  }
  if (bat_offset_ > kBdrvMaxLength || bat_length_ > kBdrvMaxLength - bat_offset_) {
    return Status::Corruption("vhdx BAT lies beyond the largest file offset")
        .QemuErrno(QemuErrno::kEIO);
  }
  // Opened for `qemu-img check` (BDRV_O_CHECK), the BAT is left for the
  // check to look at (CheckBatEntries()).
  if (!check) INSTAR_RETURN_IF_ERROR(CheckBat(arena));
  bat_cache_ = TableCache::Create(arena, kBatCacheSlots);
  if (bat_cache_ == nullptr) return Status::NoSpace("out of memory for the vhdx BAT cache");
  return Status::Ok();
}

Result<VhdxPayloadBlock> VhdxReader::LookUp(uint64_t offset) {
  if (offset >= virtual_size_) {
    return Status::InvalidArgument("vhdx payload block lookup outside the image");
  }
  // vhdx_block_translate: one sector bitmap entry follows each chunk.
  uint64_t index = offset >> block_size_bits_;
  index += index >> chunk_ratio_bits_;
  // The index is below bat_entries_ (< 2^32) and the BAT ends below
  // kBdrvMaxLength (checked at open), so the sum cannot wrap.
  INSTAR_ASSIGN_OR_RETURN(const uint64_t entry,
                          bat_cache_->LoadLE64(*file_, bat_offset_ + index * 8));
  VhdxPayloadBlock block;
  block.state = static_cast<uint8_t>(entry & 7);
  block.file_offset = entry & kBatOffsetMask;
  return block;
}

}  // namespace

// Every VhdxImage is a VhdxReader (the constructor is protected and only
// OpenVhdxImage makes them).
Result<VhdxPayloadBlock> VhdxImage::PayloadBlock(uint64_t offset) {
  return static_cast<VhdxReader*>(this)->LookUp(offset);
}

Status VhdxImage::CheckBatEntries(Arena& arena, CheckLog& log, uint64_t* errors) {
  return static_cast<VhdxReader*>(this)->CheckBat(arena, &log, errors);
}

Result<BlockStatus> VhdxImage::DriverBlockStatus(bool, uint64_t, uint64_t) {
  return Status::NotSupported("vhdx has no driver block status (qemu reports all data)");
}

Result<Image*> OpenVhdxImage(BlockDevice& device, DeviceOpener&, Arena& arena,
                             const OpenOptions& options) {
  return OpenReader<VhdxReader>(arena, "out of memory opening a vhdx image",
                                [&](VhdxReader& reader) {
                                  return reader.Open(device, arena, options.compat, options.check);
                                });
}

}  // namespace instar
