// The vmdk writer: what `qemu-img create -f vmdk` writes for the
// single-file subformats, monolithicSparse (the default) and
// streamOptimized (block/vmdk.c vmdk_co_create_opts, vmdk_co_do_create,
// vmdk_init_extent). Every release of the matrix writes the same bytes but
// for the random CID, and for the ddb.toolsVersion line that 5.2 lacks.
//
// One sparse extent of the whole disk, in sectors of 512 bytes, with
// 64 KiB grains and 512 entries per grain table (qemu's uint32_t
// arithmetic, so past 2^32 grains the tables wrap, as qemu's do):
//   grains      = ceil(sectors / 128)
//   gt_count    = ceil(grains / 512)
//   gd_sectors  = ceil(4 * gt_count / 512)
//   0           "KDMV" and the header: version 1 (2 with zeroed_grain, 3
//               for streamOptimized), flags (newline detection and the
//               redundant GD; zeroed grains; compressed grains with
//               markers), capacity, granularity 128, the descriptor at
//               sector 1 (20 sectors), 512 entries per table, the GDs and
//               the first grain, "\n \r\n", compression (deflate for
//               streamOptimized)
//   sector 1    the descriptor text (not padded)
//   sector 21   the redundant grain directory, then its tables (4 sectors
//               each, zero)
//   gd_offset   the grain directory, then its tables
//   grain_offset the end of the file, rounded up to a grain
// Each directory entry names its table's sector. Only the directories and
// the header hold anything but zeros; the tables are a hole (Truncate),
// and the directories are written 64 KiB at a time, so a 255 TB disk
// (32 MiB per directory) needs no more memory than a small one.
// streamOptimized at create is the same layout: qemu writes its markers,
// footer and end-of-stream only when grains are written.
//
// The descriptor (vmdk_co_do_create's template): version=1, the CID, the
// parent CID ffffffff (no parent), createType, one extent line
// `RW <sectors> SPARSE "<base name>"` naming the file by the target's
// base name (what follows its last '/'), then the DDB: virtualHWVersion,
// the geometry (heads 16 for ide, else 255; 63 sectors; cylinders =
// size / (63 * heads * 512)), adapterType, and from 6.1 toolsVersion.
//
// From the host: the CID is random[0..4) as a little-endian uint32_t
// (qemu's g_random_int()), printed in lowercase hex without padding as
// qemu's %x does. No other random byte, and no time, is used.
//
// monolithicFlat (vmdk_co_do_create with flat, vmdk_co_create_opts_cb,
// vmdk_create_extent) is two files. The descriptor is the target itself,
// the same text with createType "monolithicFlat" and the extent line
// `RW <sectors> FLAT "<extent's base name>" 0`, written at offset 0 and
// the file cut to its length (no header, no padding). The extent is
// qemu's filename_decompose() of the target: the directory (up to the
// last '/', else '\', else ':'), the base name up to its last '.', then
// "-flat" and the rest ("disk.vmdk" -> "disk-flat.vmdk", "disk" ->
// "disk-flat"); the host created it beside the target before the run
// (VmdkSiblingOutputs, WritableDevice::OpenSibling). It is the disk's
// bytes: truncated to the size, its first block written with zeros as the
// file protocol's truncate does on an empty file (allocate_first_block():
// 4 KiB, or 512 bytes for a disk under 4 KiB). A disk of size 0 has no
// extent at all: no line, and no file (the host removes the one it made).
// Every release of the matrix writes the same, as for monolithicSparse.
//
// The twoGbMaxExtent subformats need a file per 2 GiB of a size the host
// does not always know (convert's comes from its sources): NotSupported.
// So is a backing file (qemu reads the parent's CID).
#include "vmdk/vmdk_create.h"

#include "instar/engine/bytes.h"
#include "instar/engine/text_builder.h"
#include "measure/measure_internal.h"
#include "vmdk/vmdk_text.h"

namespace instar::vmdk {

namespace {

constexpr uint32_t kSectorSize = 512;
constexpr uint64_t kGranularity = 128;  // sectors per grain
constexpr uint32_t kEntriesPerTable = 512;
constexpr uint32_t kTableSectors = 4;
constexpr uint64_t kDescriptorOffset = 1;  // sectors
constexpr uint64_t kDescriptorSectors = 20;
constexpr size_t kScratchSize = 64 << 10;
// VMDK4_FLAG_*.
constexpr uint32_t kFlagNewlineDetect = 0x1;
constexpr uint32_t kFlagRedundantDirectory = 0x2;
constexpr uint32_t kFlagZeroedGrain = 0x4;
constexpr uint32_t kFlagCompressed = 0x10000;
constexpr uint32_t kFlagMarkers = 0x20000;

// vmdk_init_extent()'s sizes, with its integer widths.
struct ExtentLayout {
  uint64_t sectors = 0;
  uint32_t gt_count = 0;
  uint32_t gd_sectors = 0;
  uint64_t rgd_offset = 0;  // sectors
  uint64_t gd_offset = 0;
  uint64_t grain_offset = 0;
};

ExtentLayout MakeExtentLayout(uint64_t size) {
  ExtentLayout l;
  l.sectors = size / kSectorSize;
  const auto grains = static_cast<uint32_t>(DivRoundUp(l.sectors, kGranularity));
  l.gt_count = (grains + kEntriesPerTable - 1u) / kEntriesPerTable;  // wraps as qemu's
  l.gd_sectors = static_cast<uint32_t>(DivRoundUp(uint64_t{l.gt_count} * 4, kSectorSize));
  const uint32_t tables = kTableSectors * l.gt_count;  // wraps as qemu's
  l.rgd_offset = kDescriptorOffset + kDescriptorSectors;
  l.gd_offset = l.rgd_offset + l.gd_sectors + tables;
  l.grain_offset = AlignUp(l.gd_offset + l.gd_sectors + tables, kGranularity);
  return l;
}

void StoreHeader(const ExtentLayout& l, const VmdkTargetOptions& options, uint8_t* out) {
  const bool compress = options.subformat == VmdkSubformat::kStreamOptimized;
  FillBytes(out, 0, kSectorSize);
  CopyBytes(out, "KDMV", 4);
  StoreLE32(out + 4, compress ? 3 : options.zeroed_grain ? 2 : 1);
  StoreLE32(out + 8, kFlagRedundantDirectory | kFlagNewlineDetect |
                         (compress ? kFlagCompressed | kFlagMarkers : 0) |
                         (options.zeroed_grain ? kFlagZeroedGrain : 0));
  StoreLE64(out + 12, l.sectors);
  StoreLE64(out + 20, kGranularity);
  StoreLE64(out + 28, kDescriptorOffset);
  StoreLE64(out + 36, kDescriptorSectors);
  StoreLE32(out + 44, kEntriesPerTable);
  StoreLE64(out + 48, l.rgd_offset);
  StoreLE64(out + 56, l.gd_offset);
  StoreLE64(out + 64, l.grain_offset);
  // out[72]: filler; then the check bytes qemu uses to detect newline
  // conversion.
  CopyBytes(out + 73, "\n \r\n", 4);
  StoreLE16(out + 77, compress ? 1 : 0);  // VMDK4_COMPRESSION_DEFLATE
}

// One grain directory at `offset` (sectors): entry i names the table at
// offset + gd_sectors + 4 i (uint32_t, wrapping as qemu's).
Status WriteDirectory(WritableDevice& device, const ExtentLayout& l, uint64_t offset,
                      uint8_t* scratch) {
  constexpr uint32_t kEntriesPerChunk = kScratchSize / 4;
  const auto first_table = static_cast<uint32_t>(offset + l.gd_sectors);
  for (uint32_t start = 0; start < l.gt_count; start += kEntriesPerChunk) {
    const uint32_t count =
        l.gt_count - start < kEntriesPerChunk ? l.gt_count - start : kEntriesPerChunk;
    for (uint32_t i = 0; i < count; ++i) {
      StoreLE32(scratch + 4 * i, first_table + (start + i) * kTableSectors);
    }
    INSTAR_RETURN_IF_ERROR(
        device.Write(offset * kSectorSize + uint64_t{start} * 4, scratch, size_t{count} * 4));
  }
  return Status::Ok();
}

constexpr const char* kSubformatNames[] = {"monolithicSparse", "monolithicFlat",
                                           "twoGbMaxExtentSparse", "twoGbMaxExtentFlat",
                                           "streamOptimized"};
constexpr const char* kAdapterNames[] = {"ide", "buslogic", "lsilogic", "legacyESX"};

// The text after the last '/' of `name`, as g_path_get_basename() gives
// it for the names qemu-img accepts.
MeasureText BaseName(MeasureText name) {
  size_t start = name.length;
  while (start > 0 && name.data[start - 1] != '/') --start;
  return MeasureText{name.data + start, name.length - start};
}

// vmdk_co_do_create()'s descriptor, into `text`: one extent line naming
// `extent` (none when it is null: a flat disk of size 0).
void BuildDescriptor(const CreateRequest& request, const VmdkTargetOptions& options, uint64_t size,
                     const MeasureText* extent, const QemuVersion& compat, TextBuilder& text) {
  const uint32_t cid = LoadLE32(request.random);
  const uint32_t heads = options.adapter_type == VmdkAdapterType::kIde ? 16 : 255;
  const bool flat = options.subformat == VmdkSubformat::kMonolithicFlat;
  text.Append("# Disk DescriptorFile\nversion=1\nCID=");
  char digits[8];
  const size_t n = PrintHex32(cid, digits);
  for (size_t i = 0; i < n; ++i) text.Append(digits[i]);
  text.Append("\nparentCID=ffffffff\ncreateType=\"")
      .Append(kSubformatNames[static_cast<size_t>(options.subformat)])
      .Append("\"\n\n# Extent description\n");
  if (extent != nullptr) {
    text.Append("RW ")
        .AppendDecimal(size / kSectorSize)
        .Append(flat ? " FLAT \"" : " SPARSE \"")
        .Append(extent->data, extent->length)
        .Append(flat ? "\" 0\n" : "\"\n");
  }
  text.Append("\n# The Disk Data Base\n#DDB\n\nddb.virtualHWVersion = \"")
      .Append(options.hw_version.data, options.hw_version.length)
      .Append("\"\nddb.geometry.cylinders = \"")
      .AppendDecimal(size / (uint64_t{63} * heads * kSectorSize))
      .Append("\"\nddb.geometry.heads = \"")
      .AppendDecimal(heads)
      .Append("\"\nddb.geometry.sectors = \"63\"\nddb.adapterType = \"")
      .Append(kAdapterNames[static_cast<size_t>(options.adapter_type)])
      .Append("\"\n");
  if (measure_internal::HasVmdkToolsVersion(compat)) {
    text.Append("ddb.toolsVersion = \"")
        .Append(options.tools_version.data, options.tools_version.length)
        .Append("\"\n");
  }
}

// filename_decompose() of `target`, then g_path_get_basename() of
// path + prefix + "-flat" + postfix: the flat extent's name, into `out`.
// False when it does not fit.
bool FlatExtentName(MeasureText target, SiblingName* out) {
  size_t start = 0;  // where the name after the directory starts
  for (const char separator : {'/', '\\', ':'}) {
    size_t at = target.length;
    while (at > 0 && target.data[at - 1] != separator) --at;
    if (at > 0) {
      start = at;
      break;
    }
  }
  // The base name keeps what follows the last '/' only: a path cut at a
  // '\\' or ':' stays in front of it.
  size_t base = 0;
  for (size_t i = 0; i < start; ++i) {
    if (target.data[i] == '/') base = i + 1;
  }
  size_t dot = target.length;
  for (size_t i = target.length; i > start; --i) {
    if (target.data[i - 1] == '.') {
      dot = i - 1;
      break;
    }
  }
  static constexpr char kFlat[] = "-flat";
  const size_t length = (dot - base) + (sizeof(kFlat) - 1) + (target.length - dot);
  if (length >= SiblingName::kCapacity) return false;
  size_t n = 0;
  for (size_t i = base; i < dot; ++i) out->text[n++] = target.data[i];
  for (size_t i = 0; i < sizeof(kFlat) - 1; ++i) out->text[n++] = kFlat[i];
  for (size_t i = dot; i < target.length; ++i) out->text[n++] = target.data[i];
  out->text[n] = '\0';
  out->length = n;
  return true;
}

// allocate_first_block(): the file protocol's truncate of an empty file.
constexpr uint64_t kMaxBlockBytes = 4096;

// monolithicFlat: the extent, then the descriptor, in qemu's order.
Status CreateFlatVmdk(const CreateRequest& request, const VmdkTargetOptions& options, uint64_t size,
                      WritableDevice& device, const QemuVersion& compat, Arena& arena,
                      MeasureError* error) {
  const size_t mark = arena.Mark();
  SiblingName name;
  if (!FlatExtentName(request.target_name, &name)) {
    return measure_internal::NotSupportedFailure(error, "the flat extent's name is too long");
  }
  const MeasureText extent{name.text, name.length};
  if (size > 0) {
    Result<WritableDevice*> file = device.OpenSibling(name.text, name.length, arena);
    if (!file.ok()) {
      arena.Reset(mark);
      return file.status();
    }
    Status status = (*file)->Truncate(size);
    if (status.ok()) {
      static constexpr uint8_t kZeros[kMaxBlockBytes] = {};
      // Errors are ignored there too.
      (void)(*file)->Write(0, kZeros, size < kMaxBlockBytes ? kSectorSize : kMaxBlockBytes);
    }
    if (!status.ok()) {
      arena.Reset(mark);
      return status;
    }
  }
  const size_t capacity =
      1024 + name.length + options.hw_version.length + options.tools_version.length;
  auto* descriptor = static_cast<char*>(arena.Allocate(capacity));
  if (descriptor == nullptr) {
    arena.Reset(mark);
    return Status::NoSpace("no memory for the vmdk descriptor");
  }
  TextBuilder text(descriptor, capacity);
  BuildDescriptor(request, options, size, size > 0 ? &extent : nullptr, compat, text);
  Status status = device.Write(0, descriptor, text.length());
  if (status.ok()) status = device.Truncate(text.length());
  arena.Reset(mark);
  return status;
}

}  // namespace

size_t VmdkSiblingOutputs(const ParsedMeasureOptions& parsed, MeasureText target_name,
                          SiblingName* out, size_t capacity) {
  VmdkTargetOptions options;
  MeasureError error;
  if (capacity == 0 || !ResolveVmdkOptions(parsed, &options, &error).ok() ||
      options.subformat != VmdkSubformat::kMonolithicFlat) {
    return 0;
  }
  return FlatExtentName(target_name, &out[0]) ? 1 : 0;
}

size_t VmdkSiblingsInPlace(MeasureText target_name, SiblingName* out, size_t capacity) {
  return capacity > 0 && FlatExtentName(target_name, &out[0]) ? 1 : 0;
}

bool QemuRefusesCreatedImage(const ParsedMeasureOptions& parsed, uint64_t requested_size) {
  VmdkTargetOptions options;
  MeasureError error;
  uint64_t size;
  if (!ResolveVmdkOptions(parsed, &options, &error).ok() ||
      (options.subformat != VmdkSubformat::kMonolithicSparse &&
       options.subformat != VmdkSubformat::kStreamOptimized) ||
      !CheckedAlignUp(requested_size, kSectorSize, &size)) {
    return false;
  }
  // vmdk_open_vmdk4(): the directory's entry count, in uint32_t, against
  // its limit of 32 Mi entries.
  const uint64_t sectors_per_table = kEntriesPerTable * kGranularity;
  const auto directory_entries =
      static_cast<uint32_t>((size / kSectorSize + sectors_per_table - 1) / sectors_per_table);
  return size == 0 || directory_entries > (32u << 20);
}

Status CreateVmdk(const CreateRequest& request, WritableDevice& device, const QemuVersion& compat,
                  Arena& arena, MeasureError* error) {
  VmdkTargetOptions options;
  const Status resolved = ResolveVmdkOptions(*request.options, &options, error);
  if (!resolved.ok()) {
    if (error->kind == MeasureErrorKind::kNotSupported) {
      error->detail = "instar cannot create a vmdk image with a backing file";
    }
    return resolved;
  }
  if (options.subformat == VmdkSubformat::kTwoGbMaxExtentSparse ||
      options.subformat == VmdkSubformat::kTwoGbMaxExtentFlat) {
    return measure_internal::NotSupportedFailure(
        error,
        "instar creates only the single-file vmdk subformats and monolithicFlat: "
        "twoGbMaxExtentSparse and twoGbMaxExtentFlat need a file per 2 GiB");
  }
  // vmdk_co_create_opts() rounds the size up to a sector.
  uint64_t size;
  if (!CheckedAlignUp(request.size, kSectorSize, &size) ||
      size > static_cast<uint64_t>(INT64_MAX)) {
    return measure_internal::NotSupportedFailure(error, "vmdk size out of range");
  }
  if (options.subformat == VmdkSubformat::kMonolithicFlat) {
    return CreateFlatVmdk(request, options, size, device, compat, arena, error);
  }
  const MeasureText base = BaseName(request.target_name);
  const ExtentLayout layout = MakeExtentLayout(size);

  const size_t mark = arena.Mark();
  auto* scratch = static_cast<uint8_t*>(arena.Allocate(kScratchSize));
  const size_t descriptor_capacity =
      1024 + request.target_name.length + options.hw_version.length + options.tools_version.length;
  auto* descriptor = static_cast<char*>(arena.Allocate(descriptor_capacity));
  if (scratch == nullptr || descriptor == nullptr) {
    arena.Reset(mark);
    return Status::NoSpace("no memory for the vmdk writer's buffers");
  }
  TextBuilder text(descriptor, descriptor_capacity);
  BuildDescriptor(request, options, size, &base, compat, text);

  // In qemu's order, so that a descriptor longer than its 20 sectors
  // overwrites the directory after it as qemu's does.
  Status status = device.Truncate(layout.grain_offset * kSectorSize);
  if (status.ok()) {
    StoreHeader(layout, options, scratch);
    status = device.Write(0, scratch, kSectorSize);
  }
  if (status.ok()) status = WriteDirectory(device, layout, layout.rgd_offset, scratch);
  if (status.ok()) status = WriteDirectory(device, layout, layout.gd_offset, scratch);
  if (status.ok()) {
    status = device.Write(kDescriptorOffset * kSectorSize, descriptor, text.length());
  }
  arena.Reset(mark);
  return status;
}

}  // namespace instar::vmdk
