// The vmdk reader. The on-disk formats are VMware's "Virtual Disk Format
// 1.1" (hosted sparse extents, descriptors, stream-optimized files) and what
// qemu's block/vmdk.c understands of VMFS sparse and seSparse extents; what
// is accepted and reported follows vmdk.c function by function (the names in
// the comments below are qemu's).
#include "instar/engine/vmdk.h"

#include "core/formats.h"
#include "core/reader_util.h"
#include "core/table_cache.h"
#include "instar/engine/bytes.h"
#include "instar/engine/inflate.h"
#include "vmdk/vmdk_text.h"

namespace instar {

namespace {

using vmdk::ExtentLine;
using vmdk::ExtentLineScanner;
using vmdk::kNotFound;
using vmdk::TextSource;

constexpr uint32_t kMagicCowd = 0x434f5744;  // "COWD", VMFS sparse (qemu's VMDK3)
constexpr uint32_t kMagicKdmv = 0x4b444d56;  // "KDMV", hosted sparse (VMDK4)
constexpr uint32_t kFlagRedundantGd = 1u << 1;
// qemu's words when vmdk_init_tables() cannot read a grain directory; {s}
// is the extent's file.
constexpr char kL1ReadError[] = "Could not read l1 table from extent '{s}': Input/output error";
constexpr uint32_t kFlagZeroGrain = 1u << 2;
constexpr uint32_t kFlagMarkers = 1u << 17;
constexpr uint16_t kCompressionDeflate = 1;
constexpr uint64_t kGdAtEnd = UINT64_MAX;
constexpr uint32_t kMarkerEndOfStream = 0;
constexpr uint32_t kMarkerFooter = 3;
constexpr uint32_t kZeroedGrain = 1;

constexpr size_t kHeaderSize = 75;                       // VMDK4Header without the magic
constexpr uint64_t kDescriptorSize = 10240;              // DESC_SIZE: where CID is looked for
constexpr uint64_t kDescriptorFileMax = (1u << 20) - 1;  // vmdk_read_desc's cap
constexpr uint64_t kMaxGranularity = 0x200000;           // sectors (1 GiB)
constexpr uint32_t kMaxL1Entries = 32u * 1024 * 1024;
constexpr size_t kMaxParentHint = 4095;  // PATH_MAX - 1
constexpr size_t kMaxCreateType = 127;
// Limits qemu does not have, to bound memory and recursion. 2048 extents of
// 2 GiB cover the 2 TiB a sparse vmdk can address.
constexpr size_t kMaxExtents = 2048;
constexpr int kMaxNesting = 4;

// qemu reports compressed grains with BDRV_BLOCK_COMPRESSED since 8.2.
constexpr QemuVersion kCompressedFlag{8, 2, 0};

enum class Lookup : uint8_t { kOk, kUnallocated, kZeroed, kError };

// Grain directories and tables are read through the engine's table cache,
// which keys its 4 KiB chunks by file, so all extents share these slots.
constexpr size_t kTableCacheSlots = 32;

// The `size`-byte (4 or 8) little-endian table entry at `offset` of `device`.
Result<uint64_t> LoadEntry(TableCache& tables, BlockDevice& device, uint64_t offset,
                           uint32_t size) {
  if (size == 8) return tables.LoadLE64(device, offset);
  INSTAR_ASSIGN_OR_RETURN(const uint32_t entry, tables.LoadLE32(device, offset));
  return uint64_t{entry};
}

struct ExtentNode {
  VmdkExtent extent;
  ExtentNode* next = nullptr;
};

// A file a descriptor line named, opened once: qemu opens a file per extent
// line, but every line naming the same file reads the same bytes, and the
// sandbox holds only a few open files per run.
struct OpenedFile {
  const char* name;
  size_t name_length;
  BlockDevice* device;
  OpenedFile* next;
};

class VmdkReader final : public VmdkImage {
 public:
  Status Open(BlockDevice& device, DeviceOpener& opener, Arena& arena, const OpenOptions& options);
  Result<BlockStatus> DriverBlockStatus(bool want_zero, uint64_t offset, uint64_t bytes) override;
  Lookup LookUpInExtent(VmdkExtent& extent, uint64_t offset, uint64_t* cluster_offset,
                        Status* error) {
    return ClusterOffset(extent, offset, cluster_offset, error);
  }
  Result<uint64_t> ReadGrain(uint64_t offset, uint64_t bytes, uint8_t* out, Arena& scratch);

 private:
  ~VmdkReader() = default;

  // find_extent(): the first extent ending after `sector`; null when none.
  VmdkExtent* FindExtent(uint64_t sector) const;

  Status OpenSparse(BlockDevice& device, const uint8_t* magic, VmdkExtent* named, int depth);
  Status OpenHostedSparse(BlockDevice& device, VmdkExtent* named, int depth);
  Status OpenVmfsSparse(BlockDevice& device, VmdkExtent* named);
  Status OpenSeSparse(BlockDevice& device, VmdkExtent* named);
  Status OpenDescriptor(BlockDevice& device, uint64_t offset, int depth);
  Status ParseExtents(TextSource& text, uint64_t end, int depth);
  Status AddExtent(VmdkExtent* extent);
  Status RefreshTotalSectors();
  Status CheckTableRange(const VmdkExtent& extent, uint64_t offset, uint64_t bytes,
                         const char* message);
  Status ReadCids();
  Status ReadParentHint();
  Result<const char*> CopyText(TextSource& text, uint64_t start, size_t length);
  Status InvalidExtentLine(TextSource& text, uint64_t start, uint64_t end);
  Result<VmdkExtent*> NewExtent(BlockDevice& device, VmdkExtent* named, VmdkExtentKind kind,
                                uint64_t sectors);
  Result<BlockDevice*> OpenExtentFile(const char* name, size_t name_length);
  Lookup ClusterOffset(VmdkExtent& extent, uint64_t offset, uint64_t* cluster_offset,
                       Status* error);

  Arena* arena_ = nullptr;
  DeviceOpener* opener_ = nullptr;
  QemuVersion compat_;
  ExtentNode* first_ = nullptr;
  ExtentNode* last_ = nullptr;
  OpenedFile* opened_ = nullptr;
  // One text window per descriptor nesting level; level 0's also serves
  // the CID and parent hint readers.
  uint8_t* windows_ = nullptr;
  TableCache* tables_ = nullptr;
  // An extent, or the sum of them, reaches past BDRV_MAX_LENGTH.
  bool past_max_length_ = false;
};

Result<const char*> VmdkReader::CopyText(TextSource& text, uint64_t start, size_t length) {
  char* copy = arena_->AllocateArray<char>(length + 1);
  if (copy == nullptr) return Status::NoSpace("out of memory reading a vmdk descriptor");
  for (size_t i = 0; i < length; ++i) copy[i] = static_cast<char>(text.At(start + i));
  copy[length] = '\0';
  INSTAR_RETURN_IF_ERROR(text.status());
  return static_cast<const char*>(copy);
}

// The extent a sparse header describes: `named`, which a descriptor line
// made, or else a new one for the image file itself.
Result<VmdkExtent*> VmdkReader::NewExtent(BlockDevice& device, VmdkExtent* named,
                                          VmdkExtentKind kind, uint64_t sectors) {
  VmdkExtent* extent = named;
  if (extent == nullptr) {
    ExtentNode* node = arena_->New<ExtentNode>();
    if (node == nullptr) return Status::NoSpace("out of memory opening a vmdk extent");
    extent = &node->extent;
    extent->in_image_file = true;
  }
  extent->file = &device;
  extent->kind = kind;
  extent->sectors = sectors;
  return extent;
}

// The file an extent line names, opened at its first mention.
Result<BlockDevice*> VmdkReader::OpenExtentFile(const char* name, size_t name_length) {
  for (OpenedFile* f = opened_; f != nullptr; f = f->next) {
    if (f->name_length == name_length && BytesEqual(f->name, name, name_length)) return f->device;
  }
  INSTAR_ASSIGN_OR_RETURN(BlockDevice * device, opener_->Open(name, name_length));
  OpenedFile* f = arena_->New<OpenedFile>(OpenedFile{name, name_length, device, opened_});
  if (f == nullptr) return Status::NoSpace("out of memory opening a vmdk extent");
  opened_ = f;
  return device;
}

// bdrv_open_driver() after vmdk_open(): the size qemu summed, as an int64,
// refreshed. An image whose extents reach past BDRV_MAX_LENGTH opens only
// where qemu opens it and then has no length (Length()); one whose sum
// wraps back to a length qemu would read through, extents past INT64_MAX
// included, instar refuses in its own words.
Status VmdkReader::RefreshTotalSectors() {
  if (!past_max_length_) {
    qemu_total_sectors_ = static_cast<int64_t>(total_sectors_);
    return Status::Ok();
  }
  const auto sectors = static_cast<int64_t>(total_sectors_);
  if (QemuRefusesTotalSectors(sectors, compat_)) {
    return Status::OutOfRange("Could not refresh total sector count: File too large");
  }
  if (QemuLengthOf(sectors).ok) return Status::OutOfRange("vmdk image is too large");
  qemu_total_sectors_ = sectors;
  total_sectors_ = 0;
  return Status::Ok();
}

// vmdk_add_extent: the checks, then the extent joins the list.
Status VmdkReader::AddExtent(VmdkExtent* extent) {
  if (extent->kind != VmdkExtentKind::kFlat && extent->cluster_sectors > kMaxGranularity) {
    return Status::Corruption("Invalid granularity, image may be corrupt");
  }
  if (extent->gd_entries > kMaxL1Entries) {
    return Status::Corruption("L1 size too big");
  }
  if (extent_count_ >= kMaxExtents) {
    return Status::NotSupported("vmdk image has more than 2048 extents");
  }
  if (extent->kind == VmdkExtentKind::kFlat) extent->cluster_sectors = extent->sectors;
  // qemu sums the sizes as int64s, with no check: a sum past
  // BDRV_MAX_LENGTH is left for RefreshTotalSectors() to judge.
  const uint64_t start = last_ != nullptr ? last_->extent.end_sector : 0;
  if (!CheckedAdd(start, extent->sectors, &extent->end_sector) ||
      extent->end_sector > kBdrvMaxLength / 512) {
    past_max_length_ = true;
    extent->end_sector = start + extent->sectors;
  }
  total_sectors_ = extent->end_sector;
  // Every extent lives in an ExtentNode as its first member.
  ExtentNode* node = reinterpret_cast<ExtentNode*>(extent);
  if (last_ != nullptr) {
    last_->next = node;
  } else {
    first_ = node;
  }
  last_ = node;
  ++extent_count_;
  return Status::Ok();
}

// qemu reads a table with bdrv_pread at open, which fails for ranges past
// BDRV_MAX_LENGTH (offsets are int64_t there: larger values are negative).
// The message names the extent's file: "{f}" (the image's own name, filled
// in by whoever names the image) for the image file itself, else the name
// as the descriptor gives it.
Status VmdkReader::CheckTableRange(const VmdkExtent& extent, uint64_t offset, uint64_t bytes,
                                   const char* message) {
  if (offset > kBdrvMaxLength || bytes > kBdrvMaxLength - offset) {
    const Status status = Status::Corruption(message);
    return extent.in_image_file ? status.WithText("{f}", 3)
                                : status.WithTextCopy(extent.file_name, extent.file_name_length);
  }
  return Status::Ok();
}

// vmdk_open_sparse: dispatch on the magic of a sparse extent file.
Status VmdkReader::OpenSparse(BlockDevice& device, const uint8_t* magic, VmdkExtent* named,
                              int depth) {
  switch (LoadBE32(magic)) {
    case kMagicCowd:
      return OpenVmfsSparse(device, named);
    case kMagicKdmv:
      return OpenHostedSparse(device, named, depth);
    default:
      return Status::Corruption("Image not in VMDK format");
  }
}

// vmdk_open_vmdk4.
Status VmdkReader::OpenHostedSparse(BlockDevice& device, VmdkExtent* named, int depth) {
  uint8_t h[kHeaderSize];
  INSTAR_RETURN_IF_ERROR(device.Read(4, h, sizeof(h)));
  if (LoadLE64(h + 8) == 0) {
    // No capacity but a descriptor: the extent is described there instead.
    const uint64_t desc_sector = LoadLE64(h + 24);
    if (desc_sector != 0) {
      if (depth >= kMaxNesting) return Status::NotSupported("vmdk descriptors nest too deeply");
      const uint64_t desc_offset = desc_sector << 9;  // wraps as in qemu
      if (desc_offset > kBdrvMaxLength) {
        return Status::Corruption("could not read the vmdk descriptor (offset out of range)");
      }
      return OpenDescriptor(device, desc_offset, depth + 1);
    }
  }
  if (create_type_length_ == 0) {
    create_type_ = "monolithicSparse";
    create_type_length_ = 16;
  }

  if (LoadLE64(h + 52) == kGdAtEnd) {
    // streamOptimized written front to back: the footer before the
    // end-of-stream marker holds the real header. qemu locates it from the
    // size of the image file even when this is another extent's file.
    uint8_t footer[1536];
    const uint64_t image_end = SectorLength(*file_);
    if (image_end < sizeof(footer) || image_end - sizeof(footer) > kBdrvMaxLength) {
      return Status::Corruption("Failed to read footer: Input/output error");
    }
    INSTAR_RETURN_IF_ERROR(device.Read(image_end - sizeof(footer), footer, sizeof(footer)));
    if (LoadBE32(footer + 512) != kMagicKdmv || LoadLE32(footer + 8) != 0 ||
        LoadLE32(footer + 12) != kMarkerFooter || LoadLE64(footer + 1024) != 0 ||
        LoadLE32(footer + 1032) != 0 || LoadLE32(footer + 1036) != kMarkerEndOfStream) {
      return Status::Corruption("Invalid footer");
    }
    CopyBytes(h, footer + 516, sizeof(h));
  }

  const uint32_t version = LoadLE32(h + 0);
  const uint32_t flags = LoadLE32(h + 4);
  const uint64_t capacity = LoadLE64(h + 8);
  const uint64_t granularity = LoadLE64(h + 16);
  const uint32_t gtes_per_gt = LoadLE32(h + 40);
  const uint64_t rgd_sector = LoadLE64(h + 44);
  const uint64_t gd_sector = LoadLE64(h + 52);
  const uint64_t grain_sector = LoadLE64(h + 60);
  const bool compressed = LoadLE16(h + 73) == kCompressionDeflate;
  if (version > 3) return Status::NotSupported("Unsupported VMDK version {}").With(version);
  if (gtes_per_gt > 512) return Status::Corruption("L2 table size too big");
  // qemu keeps these in 32-bit variables: the product and the quotient are
  // truncated before they are checked.
  const uint32_t l1_entry_sectors = static_cast<uint32_t>(gtes_per_gt * granularity);
  if (l1_entry_sectors == 0) return Status::Corruption("L1 entry size is invalid");
  const uint32_t l1_size =
      static_cast<uint32_t>((capacity + l1_entry_sectors - 1) / l1_entry_sectors);
  const uint64_t rgd_offset = (flags & kFlagRedundantGd) != 0 ? rgd_sector << 9 : 0;
  if (SectorLength(device) / 512 < grain_sector) {
    return Status::Corruption("File truncated, expecting at least {} bytes")
        .With(grain_sector * 512);
  }

  INSTAR_ASSIGN_OR_RETURN(VmdkExtent * extent,
                          NewExtent(device, named, VmdkExtentKind::kHostedSparse, capacity));
  extent->gd_offset = gd_sector << 9;
  extent->rgd_offset = rgd_offset;
  extent->gd_entries = l1_size;
  extent->gt_entries = gtes_per_gt;
  extent->cluster_sectors = granularity;
  extent->entry_size = 4;
  extent->grain_offset = grain_sector;
  INSTAR_RETURN_IF_ERROR(AddExtent(extent));
  extent->gd_entry_sectors = static_cast<uint32_t>(gtes_per_gt * granularity);
  extent->compressed = compressed;
  if (compressed) {
    create_type_ = "streamOptimized";
    create_type_length_ = 15;
  }
  extent->has_marker = (flags & kFlagMarkers) != 0;
  extent->version = version;
  extent->has_zero_grain = (flags & kFlagZeroGrain) != 0;
  // vmdk_init_tables reads both directories whole.
  const uint64_t gd_bytes = uint64_t{l1_size} * 4;
  INSTAR_RETURN_IF_ERROR(CheckTableRange(*extent, extent->gd_offset, gd_bytes, kL1ReadError));
  if (rgd_offset != 0) {
    INSTAR_RETURN_IF_ERROR(
        CheckTableRange(*extent, rgd_offset, gd_bytes,
                        "Could not read l1 backup table from extent '{s}': Input/output error"));
  }
  return Status::Ok();
}

// vmdk_open_vmfs_sparse.
Status VmdkReader::OpenVmfsSparse(BlockDevice& device, VmdkExtent* named) {
  uint8_t h[40];
  INSTAR_RETURN_IF_ERROR(device.Read(4, h, sizeof(h)));
  INSTAR_ASSIGN_OR_RETURN(VmdkExtent * extent,
                          NewExtent(device, named, VmdkExtentKind::kVmfsSparse, LoadLE32(h + 8)));
  extent->version = LoadLE32(h + 0);
  extent->cluster_sectors = LoadLE32(h + 12);
  extent->gd_offset = uint64_t{LoadLE32(h + 16)} << 9;
  extent->gd_entries = LoadLE32(h + 20);
  extent->gt_entries = 4096;
  extent->entry_size = 4;
  INSTAR_RETURN_IF_ERROR(AddExtent(extent));
  extent->gd_entry_sectors = static_cast<uint32_t>(4096 * extent->cluster_sectors);
  return CheckTableRange(*extent, extent->gd_offset, uint64_t{extent->gd_entries} * 4,
                         kL1ReadError);
}

// vmdk_open_se_sparse and its header checks.
Status VmdkReader::OpenSeSparse(BlockDevice& device, VmdkExtent* named) {
  uint8_t h[512];
  INSTAR_RETURN_IF_ERROR(device.Read(0, h, sizeof(h)));
  if (LoadLE64(h + 0) != 0xcafebabe) {
    return Status::Corruption("Bad const header magic: 0x{x}").With(LoadLE64(h + 0));
  }
  if (LoadLE64(h + 8) != 0x0000000200000001) {
    return Status::NotSupported("unsupported seSparse version");
  }
  if (LoadLE64(h + 24) != 8) return Status::NotSupported("unsupported seSparse grain size");
  if (LoadLE64(h + 32) != 64) {
    return Status::NotSupported("unsupported seSparse grain table size");
  }
  if (LoadLE64(h + 40) != 0) return Status::NotSupported("unsupported seSparse flags");
  if (!IsAllZero(h + 48, 32)) return Status::NotSupported("unsupported seSparse reserved bits");
  if (!IsAllZero(h + 208, 304)) {
    return Status::NotSupported("unsupported non-zero seSparse const header padding");
  }
  const uint64_t volatile_offset = LoadLE64(h + 80) * 512;  // wraps as in qemu
  if (volatile_offset > kBdrvMaxLength - 512) {
    return Status::Corruption("could not read the seSparse volatile header");
  }
  uint8_t v[512];
  INSTAR_RETURN_IF_ERROR(device.Read(volatile_offset, v, sizeof(v)));
  if (LoadLE64(v + 0) != 0xcafecafe) {
    return Status::Corruption("bad seSparse volatile header magic");
  }
  if (LoadLE64(v + 24) != 0) {
    return Status::NotSupported("seSparse image is dirty; replaying its journal is not supported");
  }
  if (!IsAllZero(v + 32, 480)) {
    return Status::NotSupported("unsupported non-zero seSparse volatile header padding");
  }
  INSTAR_ASSIGN_OR_RETURN(VmdkExtent * extent,
                          NewExtent(device, named, VmdkExtentKind::kSeSparse, LoadLE64(h + 16)));
  extent->gd_offset = LoadLE64(h + 128) * 512;
  extent->gd_entries = static_cast<uint32_t>(LoadLE64(h + 136) * 512 / 8);
  extent->gt_entries = 64 * 512 / 8;
  extent->cluster_sectors = 8;
  extent->entry_size = 8;
  extent->se_tables_offset = LoadLE64(h + 144);
  extent->se_grains_offset = LoadLE64(h + 192);
  INSTAR_RETURN_IF_ERROR(AddExtent(extent));
  extent->gd_entry_sectors = extent->gt_entries * 8;
  return CheckTableRange(*extent, extent->gd_offset, uint64_t{extent->gd_entries} * 8,
                         "could not read the seSparse grain directory");
}

// vmdk_read_desc + vmdk_open_desc_file: a descriptor at `offset` of
// `device`, at most 1 MiB - 1 bytes (qemu's cap counts from the file size,
// not from the offset).
Status VmdkReader::OpenDescriptor(BlockDevice& device, uint64_t offset, int depth) {
  uint64_t length = SectorLength(device);  // bdrv_getlength: whole sectors
  if (length < 4) return Status::Corruption("file is too small, not a valid vmdk image");
  if (length > kDescriptorFileMax) length = kDescriptorFileMax;
  if (length > kBdrvMaxLength - offset) {
    return Status::Corruption("could not read the vmdk descriptor (offset out of range)");
  }
  // Each nesting level reads through its own window, since the outer
  // descriptors are still being read.
  TextSource text(&device, offset, length, windows_ + depth * TextSource::kWindowBytes);
  const uint64_t end = text.StrLen();

  // vmdk_parse_description(desc, "createType", ct, 128).
  static constexpr char kCreateType[] = "createType";
  const uint64_t found = vmdk::FindText(text, 0, end, kCreateType, sizeof(kCreateType) - 1);
  INSTAR_RETURN_IF_ERROR(text.status());
  if (found == kNotFound || end - found <= sizeof(kCreateType) - 1 + 2) {
    return Status::Corruption("invalid VMDK image descriptor");
  }
  const uint64_t value = found + sizeof(kCreateType) - 1 + 2;  // skips `="` unchecked
  uint64_t value_end = value;
  while (value_end < end && text.At(value_end) != '"') ++value_end;
  INSTAR_RETURN_IF_ERROR(text.status());
  if (value_end == end || value_end - value > kMaxCreateType) {
    return Status::Corruption("invalid VMDK image descriptor");
  }
  static constexpr const char* kDescriptorTypes[] = {
      "monolithicFlat",     "vmfs", "vmfsSparse", "seSparse", "twoGbMaxExtentSparse",
      "twoGbMaxExtentFlat",
  };
  const size_t type_length = static_cast<size_t>(value_end - value);
  INSTAR_ASSIGN_OR_RETURN(const char* type, CopyText(text, value, type_length));
  bool known = false;
  for (const char* candidate : kDescriptorTypes) {
    size_t n = 0;
    while (candidate[n] != '\0') ++n;
    if (n == type_length && BytesEqual(candidate, type, n)) known = true;
  }
  if (!known) {
    return Status::NotSupported("Unsupported image type '{s}'").WithTextCopy(type, type_length);
  }
  create_type_ = type;
  create_type_length_ = type_length;
  descriptor_offset_ = 0;
  return ParseExtents(text, end, depth);
}

bool WordIs(const char* word, const char* expected) {
  size_t i = 0;
  for (; expected[i] != '\0'; ++i) {
    if (word[i] != expected[i]) return false;
  }
  return word[i] == '\0';
}

// qemu's "Invalid extent line: <the line>", the line as it stands in the
// descriptor, without its newline.
Status VmdkReader::InvalidExtentLine(TextSource& text, uint64_t start, uint64_t end) {
  uint64_t line_end = start;
  while (line_end < end && text.At(line_end) != '\n') ++line_end;
  INSTAR_RETURN_IF_ERROR(text.status());
  const size_t length = static_cast<size_t>(line_end - start);
  INSTAR_ASSIGN_OR_RETURN(const char* line, CopyText(text, start, length));
  return Status::Corruption("Invalid extent line: {s}").WithTextCopy(line, length);
}

// vmdk_parse_extents.
Status VmdkReader::ParseExtents(TextSource& text, uint64_t end, int depth) {
  ExtentLineScanner scanner;
  for (uint64_t p = 0; p < end; p = vmdk::NextLine(text, p, end)) {
    const ExtentLine line = scanner.Scan(text, p, end);
    INSTAR_RETURN_IF_ERROR(text.status());
    if (line.matches < 4 || !WordIs(line.access, "RW")) continue;
    const bool flat = WordIs(line.type, "FLAT");
    const bool vmfs = WordIs(line.type, "VMFS");
    int64_t flat_offset = line.flat_offset;
    if (flat ? (line.matches != 5 || flat_offset < 0) : line.matches != 4) {
      // FLAT needs an offset of at least 0; VMFS and every other type
      // have none.
      return InvalidExtentLine(text, p, end);
    }
    if (vmfs) flat_offset = 0;
    const bool sparse = WordIs(line.type, "SPARSE") || WordIs(line.type, "VMFSSPARSE");
    const bool se_sparse = WordIs(line.type, "SESPARSE");
    if (line.sectors <= 0 || !(flat || vmfs || sparse || se_sparse)) continue;

    INSTAR_ASSIGN_OR_RETURN(const char* name, CopyText(text, line.name_start, line.name_length));
    size_t type_length = 0;
    while (line.type[type_length] != '\0') ++type_length;
    char* type_copy = arena_->AllocateArray<char>(type_length + 1);
    if (type_copy == nullptr) return Status::NoSpace("out of memory reading a vmdk descriptor");
    CopyBytes(type_copy, line.type, type_length + 1);

    INSTAR_ASSIGN_OR_RETURN(BlockDevice * file, OpenExtentFile(name, line.name_length));
    ExtentNode* node = arena_->New<ExtentNode>();
    if (node == nullptr) return Status::NoSpace("out of memory opening a vmdk extent");
    VmdkExtent* extent = &node->extent;
    extent->file = file;
    extent->file_name = name;
    extent->file_name_length = line.name_length;
    extent->type = type_copy;
    extent->type_length = type_length;
    if (flat || vmfs) {
      // qemu keeps `flat_offset << 9` in an int64_t, unchecked: an offset
      // past the file (or one the shift wraps) fails only when read.
      extent->kind = VmdkExtentKind::kFlat;
      extent->sectors = static_cast<uint64_t>(line.sectors);
      extent->flat_offset = static_cast<uint64_t>(flat_offset) << 9;
      INSTAR_RETURN_IF_ERROR(AddExtent(extent));
    } else if (sparse) {
      if (file->Size() == 0) return Status::Corruption("file is too small, not a valid vmdk image");
      uint8_t magic[4];
      INSTAR_RETURN_IF_ERROR(file->Read(0, magic, sizeof(magic)));
      INSTAR_RETURN_IF_ERROR(OpenSparse(*file, magic, extent, depth));
      if (last_ != node) {
        // The extent file was itself a descriptor and added its own extents
        // (maybe none). qemu then labels the last extent it has with this
        // line's type, whichever extent that is; with none at all it would
        // index before its array.
        if (last_ == nullptr) return Status::Corruption("vmdk sparse extent names no extents");
        last_->extent.type = type_copy;
        last_->extent.type_length = type_length;
      }
    } else {
      INSTAR_RETURN_IF_ERROR(OpenSeSparse(*file, extent));
    }
  }
  return text.status();
}

// vmdk_parent_open: parentFileNameHint="..." in the descriptor text.
Status VmdkReader::ReadParentHint() {
  // qemu reads DESC_SIZE bytes into a buffer one byte larger, zeroed.
  TextSource text(file_, descriptor_offset_, kDescriptorSize, windows_);
  static constexpr char kHint[] = "parentFileNameHint";
  const uint64_t end = text.StrLen();
  const uint64_t found = vmdk::FindText(text, 0, end, kHint, sizeof(kHint) - 1);
  INSTAR_RETURN_IF_ERROR(text.status());
  if (found == kNotFound) return Status::Ok();
  // Skips `="` unchecked; the closing quote is searched up to the next NUL,
  // which may lie past the end of the string.
  const uint64_t name = found + sizeof(kHint) + 1;
  uint64_t name_end = name;
  while (name_end < kDescriptorSize && text.At(name_end) != 0 && text.At(name_end) != '"') {
    ++name_end;
  }
  INSTAR_RETURN_IF_ERROR(text.status());
  if (name_end >= kDescriptorSize || text.At(name_end) != '"') {
    return Status::Corruption("invalid parentFileNameHint in the vmdk descriptor")
        .QemuErrno(QemuErrno::kEINVAL);
  }
  if (name_end - name > kMaxParentHint) {
    return Status::Corruption("vmdk parentFileNameHint is too long");
  }
  INSTAR_ASSIGN_OR_RETURN(parent_hint_, CopyText(text, name, static_cast<size_t>(name_end - name)));
  parent_hint_length_ = static_cast<size_t>(name_end - name);
  has_parent_hint_ = true;
  return Status::Ok();
}

// vmdk_read_cid for CID and parentCID: the first "CID" and "parentCID" in
// the text; qemu's plain strstr finds the "CID" inside "parentCID" when
// that line comes first, and so do we.
Status VmdkReader::ReadCids() {
  TextSource text(file_, descriptor_offset_, kDescriptorSize - 1, windows_);
  const uint64_t end = text.StrLen();
  const uint64_t cid = vmdk::FindText(text, 0, end, "CID", 3);
  if (cid == kNotFound || !vmdk::ScanHex32(text, cid + 4, end, &cid_)) {
    INSTAR_RETURN_IF_ERROR(text.status());
    return Status::Corruption("no CID in the vmdk descriptor").QemuErrno(QemuErrno::kEINVAL);
  }
  const uint64_t parent = vmdk::FindText(text, 0, end, "parentCID", 9);
  if (parent == kNotFound || !vmdk::ScanHex32(text, parent + 10, end, &parent_cid_)) {
    INSTAR_RETURN_IF_ERROR(text.status());
    return Status::Corruption("no parentCID in the vmdk descriptor").QemuErrno(QemuErrno::kEINVAL);
  }
  return text.status();
}

Status VmdkReader::Open(BlockDevice& device, DeviceOpener& opener, Arena& arena,
                        const OpenOptions& options) {
  file_ = &device;
  arena_ = &arena;
  opener_ = &opener;
  compat_ = options.compat;
  windows_ = arena.AllocateArray<uint8_t>((kMaxNesting + 1) * TextSource::kWindowBytes);
  if (windows_ == nullptr) return Status::NoSpace("out of memory opening a vmdk image");

  // vmdk_read_desc's "less than 4 bytes" sees the length in whole sectors.
  if (device.Size() == 0) return Status::Corruption("file is too small, not a valid vmdk image");
  uint8_t magic[4];
  INSTAR_RETURN_IF_ERROR(device.Read(0, magic, sizeof(magic)));
  const uint32_t value = LoadBE32(magic);
  if (value == kMagicCowd || value == kMagicKdmv) {
    INSTAR_RETURN_IF_ERROR(OpenSparse(device, magic, nullptr, 0));
    descriptor_offset_ = 0x200;
  } else {
    INSTAR_RETURN_IF_ERROR(OpenDescriptor(device, 0, 0));
  }
  INSTAR_RETURN_IF_ERROR(ReadParentHint());
  INSTAR_RETURN_IF_ERROR(ReadCids());
  // qemu opens a descriptor that names no extent, but `qemu-img info`, the
  // one caller that opens with BDRV_O_NO_IO, then aborts: vmdk_get_info()
  // asserts s->num_extents. info's describe hook cannot fail, so the open
  // does in its place.
  if (extent_count_ == 0 && options.no_io) {
    return Status::Corruption("vmdk image has no extents (qemu-img info aborts on it)");
  }

  extents_ = arena.AllocateArray<VmdkExtent*>(extent_count_ == 0 ? 1 : extent_count_);
  if (extents_ == nullptr) return Status::NoSpace("out of memory opening a vmdk image");
  size_t i = 0;
  bool has_sparse = false;
  for (ExtentNode* node = first_; node != nullptr; node = node->next) {
    extents_[i++] = &node->extent;
    if (node->extent.kind != VmdkExtentKind::kFlat) has_sparse = true;
  }
  if (has_sparse) {
    tables_ = TableCache::Create(arena, kTableCacheSlots);
    if (tables_ == nullptr) return Status::NoSpace("out of memory for the vmdk table cache");
  }

  // vmdk_co_get_info: a cluster size only when all extents are alike.
  if (extent_count_ > 0) {
    const VmdkExtent& first = *extents_[0];
    bool alike = true;
    for (size_t k = 1; k < extent_count_; ++k) {
      const VmdkExtent& other = *extents_[k];
      const bool first_flat = first.kind == VmdkExtentKind::kFlat;
      const bool other_flat = other.kind == VmdkExtentKind::kFlat;
      if (first_flat != other_flat || first.compressed != other.compressed ||
          (!first_flat && first.cluster_sectors != other.cluster_sectors)) {
        alike = false;
      }
    }
    if (alike && first.kind != VmdkExtentKind::kFlat) cluster_size_ = first.cluster_sectors * 512;
  }
  return RefreshTotalSectors();
}

// get_cluster_offset without allocation.
Lookup VmdkReader::ClusterOffset(VmdkExtent& extent, uint64_t offset, uint64_t* cluster_offset,
                                 Status* error) {
  if (extent.kind == VmdkExtentKind::kFlat) {
    *cluster_offset = extent.flat_offset;
    return Lookup::kOk;
  }
  if (extent.gd_entry_sectors == 0) {
    *error = Status::Corruption("vmdk grain size is zero");
    return Lookup::kError;
  }
  const uint64_t relative = offset - extent.start_sector() * 512;
  const uint32_t l1_index = static_cast<uint32_t>((relative >> 9) / extent.gd_entry_sectors);
  if (l1_index >= extent.gd_entries) return Lookup::kError;
  const uint64_t table_bytes = uint64_t{extent.gt_entries} * extent.entry_size;
  Result<uint64_t> l1_entry =
      LoadEntry(*tables_, *extent.file, extent.gd_offset + uint64_t{l1_index} * extent.entry_size,
                extent.entry_size);
  if (!l1_entry.ok()) {
    *error = l1_entry.status();
    return Lookup::kError;
  }
  uint64_t l2_sector;
  if (extent.kind == VmdkExtentKind::kSeSparse) {
    const uint64_t raw = *l1_entry;
    if (raw == 0) {
      l2_sector = 0;
    } else if ((raw & 0xffffffff00000000) != 0x1000000000000000) {
      return Lookup::kError;
    } else {
      // Grain table number -> sector, which qemu requires to fit 32 bits.
      const uint64_t number = raw & 0xffffffff;
      uint64_t sector;
      if (!CheckedMul(number, table_bytes / 512, &sector) ||
          !CheckedAdd(sector, extent.se_tables_offset, &sector) || sector > 0xffffffff) {
        return Lookup::kError;
      }
      l2_sector = sector;
    }
  } else {
    l2_sector = *l1_entry;
  }
  if (l2_sector == 0) return Lookup::kUnallocated;

  const uint64_t l2_index = ((relative >> 9) / extent.cluster_sectors) % extent.gt_entries;
  Result<uint64_t> l2_entry = LoadEntry(
      *tables_, *extent.file, l2_sector * 512 + l2_index * extent.entry_size, extent.entry_size);
  if (!l2_entry.ok()) {
    *error = l2_entry.status();
    return Lookup::kError;
  }
  uint64_t cluster_sector = *l2_entry;
  bool zeroed = false;
  if (extent.kind == VmdkExtentKind::kSeSparse) {
    switch (cluster_sector & 0xf000000000000000) {
      case 0x0000000000000000:
        if (cluster_sector != 0) return Lookup::kError;
        break;
      case 0x1000000000000000:  // unmapped
      case 0x2000000000000000:  // zero
        zeroed = true;
        break;
      case 0x3000000000000000: {
        const uint64_t grain = ((cluster_sector & 0x0fff000000000000) >> 48) |
                               ((cluster_sector & 0x0000ffffffffffff) << 12);
        uint64_t sector;
        if (!CheckedMul(grain, extent.cluster_sectors, &sector) ||
            !CheckedAdd(sector, extent.se_grains_offset, &sector) ||
            sector > kBdrvMaxLength / 512) {
          return Lookup::kError;
        }
        cluster_sector = sector;
        break;
      }
      default:
        return Lookup::kError;
    }
  } else if (extent.has_zero_grain && cluster_sector == kZeroedGrain) {
    zeroed = true;
  }
  if (cluster_sector == 0 || zeroed) return zeroed ? Lookup::kZeroed : Lookup::kUnallocated;
  *cluster_offset = cluster_sector << 9;
  return Lookup::kOk;
}

VmdkExtent* VmdkReader::FindExtent(uint64_t sector) const {
  size_t low = 0;
  size_t high = extent_count_;
  while (low < high) {
    const size_t mid = low + (high - low) / 2;
    if (extents_[mid]->end_sector > sector) {
      high = mid;
    } else {
      low = mid + 1;
    }
  }
  return low == extent_count_ ? nullptr : extents_[low];
}

Result<uint64_t> VmdkReader::ReadGrain(uint64_t offset, uint64_t bytes, uint8_t* out,
                                       Arena& scratch) {
  if (bytes == 0 || offset >= VirtualSize()) {
    return Status::InvalidArgument("grain read is outside the image");
  }
  VmdkExtent* found = FindExtent(offset >> 9);
  if (found == nullptr) return Status::Corruption("vmdk offset is in no extent");
  VmdkExtent& extent = *found;
  uint64_t cluster_offset = 0;
  Status error = Status::Corruption("vmdk grain lookup failed (bad grain directory entry)");
  const Lookup lookup = ClusterOffset(extent, offset, &cluster_offset, &error);
  if (lookup == Lookup::kError) return error;
  if (lookup != Lookup::kOk || !extent.compressed) {
    return Status::InvalidArgument("vmdk grain is not a compressed one");
  }
  const uint64_t cluster_bytes = extent.cluster_sectors * 512;
  const uint64_t index_in_cluster = (offset - extent.start_sector() * 512) % cluster_bytes;
  // Two grains: a marker and data that did not compress may be longer
  // than one.
  const uint64_t buf_bytes = cluster_bytes * 2;
  ArenaRewind rewind(scratch);
  uint8_t* buffer = scratch.AllocateArray<uint8_t>(buf_bytes);
  uint8_t* grain = scratch.AllocateArray<uint8_t>(cluster_bytes);
  if (buffer == nullptr || grain == nullptr) {
    return Status::NoSpace("out of memory reading a compressed grain");
  }
  INSTAR_RETURN_IF_ERROR(extent.file->Read(cluster_offset, buffer, buf_bytes));
  const uint8_t* data = buffer;
  uint64_t data_len = cluster_bytes;
  if (extent.has_marker) {
    // VmdkGrainMarker: lba (u64), size (u32), then the data.
    data = buffer + 12;
    data_len = LoadLE32(buffer + 8);
    if (data_len > buf_bytes - 12) return Status::InvalidArgument("Invalid argument");
  }
  if (data_len == 0) return Status::InvalidArgument("Invalid argument");
  const Result<size_t> inflated = Uncompress(data, data_len, grain, cluster_bytes);
  if (!inflated.ok() || index_in_cluster >= *inflated) {
    return Status::InvalidArgument("Invalid argument");
  }
  const uint64_t available = *inflated - index_in_cluster;
  const uint64_t count = bytes < available ? bytes : available;
  for (uint64_t i = 0; i < count; ++i) out[i] = grain[index_in_cluster + i];
  return count;
}

Result<BlockStatus> VmdkReader::DriverBlockStatus(bool, uint64_t offset, uint64_t bytes) {
  if (bytes == 0 || offset >= VirtualSize()) {
    return Status::InvalidArgument("block status range is outside the image");
  }
  if (bytes > VirtualSize() - offset) bytes = VirtualSize() - offset;
  VmdkExtent* found = FindExtent(offset >> 9);
  if (found == nullptr) return Status::Corruption("vmdk offset is in no extent");
  VmdkExtent& extent = *found;

  uint64_t cluster_offset = 0;
  Status error = Status::Corruption("vmdk grain lookup failed (bad grain directory entry)");
  const Lookup lookup = ClusterOffset(extent, offset, &cluster_offset, &error);
  if (lookup == Lookup::kError) return error;
  // Not zero: ClusterOffset fails for sparse extents with empty grains, and
  // flat extents have at least one sector.
  const uint64_t cluster_bytes = extent.cluster_sectors * 512;
  const uint64_t index_in_cluster = (offset - extent.start_sector() * 512) % cluster_bytes;
  BlockStatus status;
  switch (lookup) {
    case Lookup::kError:
    case Lookup::kUnallocated:
      break;
    case Lookup::kZeroed:
      status.flags = block_status::kZero;
      break;
    case Lookup::kOk:
      status.flags = block_status::kData;
      if (!extent.compressed) {
        status.flags |= block_status::kOffsetValid;
        status.map = cluster_offset + index_in_cluster;
        if (extent.kind == VmdkExtentKind::kFlat) status.flags |= block_status::kRecurse;
      } else if (compat_.AtLeast(kCompressedFlag.major, kCompressedFlag.minor,
                                 kCompressedFlag.micro)) {
        status.flags |= block_status::kCompressed;
      }
      status.file = extent.file;
      break;
  }
  const uint64_t n = cluster_bytes - index_in_cluster;
  status.bytes = n < bytes ? n : bytes;
  return status;
}

}  // namespace

// Every VmdkImage is a VmdkReader (only OpenVmdkImage makes them).
VmdkImage::GrainLookup VmdkImage::LookUpGrain(size_t index, uint64_t offset,
                                              uint64_t* cluster_offset) {
  Status error;
  switch (static_cast<VmdkReader*>(this)->LookUpInExtent(*extents_[index], offset, cluster_offset,
                                                         &error)) {
    case Lookup::kOk:
      return GrainLookup::kOk;
    case Lookup::kUnallocated:
      return GrainLookup::kUnallocated;
    case Lookup::kZeroed:
      return GrainLookup::kZeroed;
    case Lookup::kError:
      break;
  }
  return GrainLookup::kError;
}

Result<uint64_t> VmdkImage::ReadCompressed(uint64_t offset, uint64_t bytes, uint8_t* out,
                                           Arena& scratch) {
  return static_cast<VmdkReader*>(this)->ReadGrain(offset, bytes, out, scratch);
}

Result<Image*> OpenVmdkImage(BlockDevice& device, DeviceOpener& opener, Arena& arena,
                             const OpenOptions& options) {
  return OpenReader<VmdkReader>(
      arena, "out of memory opening a vmdk image",
      [&](VmdkReader& reader) { return reader.Open(device, opener, arena, options); });
}

}  // namespace instar
