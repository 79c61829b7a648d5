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
// extent at all: no line, and no file.
// Every release of the matrix writes the same, as for monolithicSparse.
//
// twoGbMaxExtentSparse and twoGbMaxExtentFlat (split) cut the disk into
// extents of 2 GiB (0x80000000 bytes; the last one holds the rest), each a
// file of its own beside the target, named as the flat extent is named but
// with "-s" (sparse) or "-f" (flat) and the extent's number from 1, in at
// least three digits ("disk.vmdk" -> "disk-s001.vmdk", "disk-s002.vmdk").
// A sparse extent is monolithicSparse's file for its size (the header,
// with the descriptor area at sector 1, left empty, the directories, the
// tables), a flat one is monolithicFlat's extent. The descriptor file is
// the target, as monolithicFlat's: one extent line per file, in order,
// `RW <sectors> SPARSE "<name>"` or `RW <sectors> FLAT "<name>" 0`. The
// host created every file before the run (VmdkSiblingOutputs, which needs
// the size); a disk of size 0 has none.
//
// A backing file (qemu's vmdk_co_do_create() opens it itself, as
// CreateRequest::backing_opener does): it must be a vmdk, whose CID the
// descriptor takes as parentCID, and a line parentFileNameHint="<the
// option's text>" follows createType (in place of the empty line). A flat
// subformat with one is refused in qemu's words (the options' check).
#include "vmdk/vmdk_create.h"

#include "instar/engine/bytes.h"
#include "instar/engine/image.h"
#include "instar/engine/text_builder.h"
#include "instar/engine/vmdk.h"
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

// The parent a backing file gives the descriptor: its CID, and the name
// as the option gave it (parentFileNameHint). Without one, ffffffff and
// no line.
struct Parent {
  uint32_t cid = 0xffffffff;
  MeasureText hint;
};

void AppendHex(uint32_t value, TextBuilder& text) {
  char digits[8];
  const size_t n = PrintHex32(value, digits);
  for (size_t i = 0; i < n; ++i) text.Append(digits[i]);
}

// vmdk_co_do_create()'s descriptor, into `text`, in three parts: the head,
// an extent line per extent, the disk data base.
void AppendDescriptorHead(const CreateRequest& request, const VmdkTargetOptions& options,
                          const Parent& parent, TextBuilder& text) {
  text.Append("# Disk DescriptorFile\nversion=1\nCID=");
  AppendHex(LoadLE32(request.random), text);
  text.Append("\nparentCID=");
  AppendHex(parent.cid, text);
  text.Append("\ncreateType=\"")
      .Append(kSubformatNames[static_cast<size_t>(options.subformat)])
      .Append("\"\n");
  if (parent.hint.length > 0) {
    text.Append("parentFileNameHint=\"").Append(parent.hint.data, parent.hint.length).Append("\"");
  }
  text.Append("\n# Extent description\n");
}

void AppendExtentLine(uint64_t size, bool flat, MeasureText name, TextBuilder& text) {
  text.Append("RW ")
      .AppendDecimal(size / kSectorSize)
      .Append(flat ? " FLAT \"" : " SPARSE \"")
      .Append(name.data, name.length)
      .Append(flat ? "\" 0\n" : "\"\n");
}

void AppendDescriptorTail(const VmdkTargetOptions& options, uint64_t size,
                          const QemuVersion& compat, TextBuilder& text) {
  const uint32_t heads = options.adapter_type == VmdkAdapterType::kIde ? 16 : 255;
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

// Where an extent's file name comes from in `target`: filename_decompose()
// cuts it at its last '/' (else '\\', else ':') into path and base name,
// and the base name at its last '.' into prefix and postfix (`dot`);
// g_path_get_basename() of path + prefix + suffix + postfix then keeps
// what follows the last '/' only (`base`): a path cut at a '\\' or ':'
// stays in front of the name.
struct ExtentNameSplit {
  size_t base = 0;
  size_t dot = 0;
};

ExtentNameSplit SplitTarget(MeasureText target) {
  size_t start = 0;  // where the name after the path starts
  for (const char separator : {'/', '\\', ':'}) {
    size_t at = target.length;
    while (at > 0 && target.data[at - 1] != separator) --at;
    if (at > 0) {
      start = at;
      break;
    }
  }
  ExtentNameSplit split;
  for (size_t i = 0; i < start; ++i) {
    if (target.data[i] == '/') split.base = i + 1;
  }
  split.dot = target.length;
  for (size_t i = target.length; i > start; --i) {
    if (target.data[i - 1] == '.') {
      split.dot = i - 1;
      break;
    }
  }
  return split;
}

// The name of the extent file with `suffix` of an image named `target`
// (SplitTarget()), into `out`. False when it does not fit.
bool ExtentFileName(MeasureText target, MeasureText suffix, SiblingName* out) {
  const ExtentNameSplit split = SplitTarget(target);
  if (ExtentFileNameLength(target, suffix.length) >= SiblingName::kCapacity) return false;
  size_t n = 0;
  for (size_t i = split.base; i < split.dot; ++i) out->text[n++] = target.data[i];
  for (size_t i = 0; i < suffix.length; ++i) out->text[n++] = suffix.data[i];
  for (size_t i = split.dot; i < target.length; ++i) out->text[n++] = target.data[i];
  out->text[n] = '\0';
  out->length = n;
  return true;
}

bool Split(VmdkSubformat subformat) {
  return subformat == VmdkSubformat::kTwoGbMaxExtentSparse ||
         subformat == VmdkSubformat::kTwoGbMaxExtentFlat;
}

bool Flat(VmdkSubformat subformat) {
  return subformat == VmdkSubformat::kMonolithicFlat ||
         subformat == VmdkSubformat::kTwoGbMaxExtentFlat;
}

// The name of extent `index` (from 1) of a `subformat` image named
// `target`, as vmdk_co_create_opts_cb() makes it: "-flat" for
// monolithicFlat's one extent, "-s%03d" / "-f%03d" for the split ones.
bool ExtentName(MeasureText target, VmdkSubformat subformat, uint64_t index, SiblingName* out) {
  if (!Split(subformat)) return ExtentFileName(target, MeasureText{"-flat", 5}, out);
  char suffix[24];
  TextBuilder text(suffix, sizeof(suffix));
  text.Append(subformat == VmdkSubformat::kTwoGbMaxExtentFlat ? "-f" : "-s");
  if (index < 100) text.Append('0');
  if (index < 10) text.Append('0');
  text.AppendDecimal(index);
  return ExtentFileName(target, MeasureText{suffix, text.length()}, out);
}

// How many extent files beside the descriptor a `subformat` disk of `size`
// bytes (a multiple of the sector) has; 0 for the single-file subformats.
uint64_t ExtentFileCount(VmdkSubformat subformat, uint64_t size) {
  if (Split(subformat)) return DivRoundUp(size, kVmdkSplitExtentBytes);
  return subformat == VmdkSubformat::kMonolithicFlat && size > 0 ? 1 : 0;
}

// allocate_first_block(): the file protocol's truncate of an empty file.
constexpr uint64_t kMaxBlockBytes = 4096;

// vmdk_init_extent() on the empty extent file `file`, `size` bytes of the
// disk: a flat extent is the file truncated to its size, its first block
// written with zeros; a sparse one monolithicSparse's layout, its
// descriptor area empty.
Status CreateExtentFile(WritableDevice& file, uint64_t size, const VmdkTargetOptions& options,
                        uint8_t* scratch) {
  if (Flat(options.subformat)) {
    INSTAR_RETURN_IF_ERROR(file.Truncate(size));
    static constexpr uint8_t kZeros[kMaxBlockBytes] = {};
    // Errors are ignored there too.
    (void)file.Write(0, kZeros, size < kMaxBlockBytes ? kSectorSize : kMaxBlockBytes);
    return Status::Ok();
  }
  const ExtentLayout layout = MakeExtentLayout(size);
  INSTAR_RETURN_IF_ERROR(file.Truncate(layout.grain_offset * kSectorSize));
  StoreHeader(layout, options, scratch);
  INSTAR_RETURN_IF_ERROR(file.Write(0, scratch, kSectorSize));
  INSTAR_RETURN_IF_ERROR(WriteDirectory(file, layout, layout.rgd_offset, scratch));
  return WriteDirectory(file, layout, layout.gd_offset, scratch);
}

// monolithicFlat and the split subformats: the extent files in order,
// then the descriptor file (the target), in qemu's order.
Status CreateDescribedVmdk(const CreateRequest& request, const VmdkTargetOptions& options,
                           const Parent& parent, uint64_t size, WritableDevice& device,
                           const QemuVersion& compat, Arena& arena, MeasureError* error) {
  const uint64_t count = ExtentFileCount(options.subformat, size);
  if (count > kMaxSiblingOutputs) {
    return measure_internal::NotSupportedFailure(
        error,
        "instar writes at most 256 extent files beside a vmdk descriptor (a split image "
        "of up to 512 GiB)");
  }
  const uint64_t extent_size = Split(options.subformat) ? kVmdkSplitExtentBytes : size;
  const size_t mark = arena.Mark();
  auto* scratch = static_cast<uint8_t*>(arena.Allocate(kScratchSize));
  const size_t capacity = 1024 + options.hw_version.length + options.tools_version.length +
                          parent.hint.length +
                          static_cast<size_t>(count) * (SiblingName::kCapacity + 32);
  auto* descriptor = static_cast<char*>(arena.Allocate(capacity));
  auto* name = arena.New<SiblingName>();
  if (scratch == nullptr || descriptor == nullptr || name == nullptr) {
    arena.Reset(mark);
    return Status::NoSpace("no memory for the vmdk descriptor");
  }
  TextBuilder text(descriptor, capacity);
  AppendDescriptorHead(request, options, parent, text);
  Status status = Status::Ok();
  uint64_t created = 0;
  for (uint64_t index = 1; index <= count && status.ok(); ++index) {
    const uint64_t extent = size - created < extent_size ? size - created : extent_size;
    if (!ExtentName(request.target_name, options.subformat, index, name)) {
      arena.Reset(mark);
      return measure_internal::NotSupportedFailure(error, "the extent's file name is too long");
    }
    const size_t file_mark = arena.Mark();
    Result<WritableDevice*> file = device.OpenSibling(name->text, name->length, arena);
    status = file.ok() ? CreateExtentFile(**file, extent, options, scratch) : file.status();
    arena.Reset(file_mark);
    AppendExtentLine(extent, Flat(options.subformat), MeasureText{name->text, name->length}, text);
    created += extent;
  }
  AppendDescriptorTail(options, size, compat, text);
  if (status.ok()) status = device.Write(0, descriptor, text.length());
  if (status.ok()) status = device.Truncate(text.length());
  arena.Reset(mark);
  return status;
}

// vmdk_co_do_create() with a backing file: the file opened (its name
// joined to the target's directory, as bdrv_get_full_backing_filename_
// from_filename() joins them, in the error), refused unless it is a vmdk,
// and its CID read.
Status ReadParent(const CreateRequest& request, MeasureText name, Arena& arena, Parent* out,
                  MeasureError* error) {
  if (request.backing_opener == nullptr) {
    return measure_internal::NotSupportedFailure(error,
                                                 "instar cannot read a vmdk backing file here");
  }
  const char* why = "";
  Result<Image*> opened = request.backing_opener->Open(name, &why);
  if (!opened.ok()) {
    size_t directory = 0;
    if (name.length == 0 || name.data[0] != '/') {
      directory = request.target_name.length;
      while (directory > 0 && request.target_name.data[directory - 1] != '/') --directory;
    }
    char* full = arena.AllocateArray<char>(directory + name.length);
    if (full == nullptr) return Status::NoSpace("no memory for the backing file's name");
    CopyBytes(full, request.target_name.data, directory);
    CopyBytes(full + directory, name.data, name.length);
    *error = MeasureError();
    error->kind = MeasureErrorKind::kVmdkBackingOpen;
    error->target = ImageFormat::kVmdk;
    error->subject = MeasureText{full, directory + name.length};
    error->detail = why;
    return opened.status();
  }
  Image& image = **opened;
  if (image.format() != ImageFormat::kVmdk) {
    const char* format = ImageFormatName(image.format());
    *error = MeasureError();
    error->kind = MeasureErrorKind::kVmdkBackingNotVmdk;
    error->target = ImageFormat::kVmdk;
    size_t length = 0;
    while (format[length] != '\0') ++length;
    error->subject = MeasureText{format, length};
    return Status::InvalidArgument("the vmdk backing file is not a vmdk");
  }
  out->cid = static_cast<const VmdkImage&>(image).cid();
  out->hint = name;
  return Status::Ok();
}

}  // namespace

size_t ExtentFileNameLength(MeasureText target, size_t suffix_length) {
  return target.length - SplitTarget(target).base + suffix_length;
}

size_t VmdkSiblingOutputs(const ParsedMeasureOptions& parsed, MeasureText target_name,
                          uint64_t size, SiblingName* out, size_t capacity) {
  VmdkTargetOptions options;
  MeasureError error;
  uint64_t rounded;
  if (!ResolveVmdkOptions(parsed, &options, &error).ok() ||
      !CheckedAlignUp(size, kSectorSize, &rounded)) {
    return 0;
  }
  const uint64_t count = ExtentFileCount(options.subformat, rounded);
  if (count > capacity) return static_cast<size_t>(count > SIZE_MAX ? SIZE_MAX : count);
  for (uint64_t index = 1; index <= count; ++index) {
    if (!ExtentName(target_name, options.subformat, index, &out[index - 1])) return 0;
  }
  return static_cast<size_t>(count);
}

size_t VmdkSiblingsInPlace(MeasureText target_name, SiblingName* out, size_t capacity) {
  // monolithicFlat's extent, then the split subformats' extents, as many
  // of each as there is room for: the host opens those that exist, each
  // series up to its first missing file (an image whose -s002 is missing
  // cannot be opened, whatever follows it).
  size_t n = 0;
  if (n < capacity && ExtentName(target_name, VmdkSubformat::kMonolithicFlat, 1, &out[n])) ++n;
  const size_t per_kind = (capacity - n) / 2;
  for (const VmdkSubformat subformat :
       {VmdkSubformat::kTwoGbMaxExtentSparse, VmdkSubformat::kTwoGbMaxExtentFlat}) {
    for (uint64_t index = 1; index <= per_kind; ++index) {
      if (!ExtentName(target_name, subformat, index, &out[n])) break;
      out[n].follows = index > 1;
      ++n;
    }
  }
  return n;
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
  INSTAR_RETURN_IF_ERROR(ResolveVmdkOptions(*request.options, &options, error));
  Parent parent;
  if (options.has_backing) {
    INSTAR_RETURN_IF_ERROR(ReadParent(request, options.backing_file, arena, &parent, error));
  }
  // vmdk_co_create_opts() rounds the size up to a sector.
  uint64_t size;
  if (!CheckedAlignUp(request.size, kSectorSize, &size) ||
      size > static_cast<uint64_t>(INT64_MAX)) {
    return measure_internal::NotSupportedFailure(error, "vmdk size out of range");
  }
  if (Flat(options.subformat) || Split(options.subformat)) {
    return CreateDescribedVmdk(request, options, parent, size, device, compat, arena, error);
  }
  const MeasureText base = BaseName(request.target_name);
  const ExtentLayout layout = MakeExtentLayout(size);

  const size_t mark = arena.Mark();
  auto* scratch = static_cast<uint8_t*>(arena.Allocate(kScratchSize));
  const size_t descriptor_capacity = 1024 + request.target_name.length + options.hw_version.length +
                                     options.tools_version.length + parent.hint.length;
  auto* descriptor = static_cast<char*>(arena.Allocate(descriptor_capacity));
  if (scratch == nullptr || descriptor == nullptr) {
    arena.Reset(mark);
    return Status::NoSpace("no memory for the vmdk writer's buffers");
  }
  TextBuilder text(descriptor, descriptor_capacity);
  AppendDescriptorHead(request, options, parent, text);
  AppendExtentLine(size, /*flat=*/false, base, text);
  AppendDescriptorTail(options, size, compat, text);

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
