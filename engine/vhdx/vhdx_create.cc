// The vhdx writer: what `qemu-img create -f vhdx` writes (block/vhdx.c
// vhdx_co_create_opts, vhdx_co_create, vhdx_create_new_headers,
// vhdx_create_new_region_table, vhdx_create_bat,
// vhdx_create_new_metadata). Every release of the matrix writes the same
// bytes but for the creator text ("QEMU v" and its version), its random
// numbers and the checksums over them.
//
//   0          "vhdxfile", then the creator as UTF-16LE (no NUL)
//   64 KiB     header 1: "head", CRC-32C over 4 KiB, sequence number s,
//              file and data write GUIDs, no log GUID, log version 0,
//              version 1, the log's length and offset (1 MiB)
//   128 KiB    header 2: the same with sequence number s + 1
//   192 KiB    region table (CRC-32C over 64 KiB): the BAT, then the
//   256 KiB    metadata region (1 MiB); the same table again
//   1 MiB      the log (log_size bytes, left zero: no log to replay)
//   bat        round_up(1 MiB + log_size, 1 MiB): the BAT, round_up(8 *
//              entries, 1 MiB) bytes (entries: vhdx_measure.cc)
//   metadata   right after the BAT: the table (5 entries) and at +64 KiB
//              the items: file parameters, virtual disk size, page 83
//              data, logical and physical sector size (both 512)
//   data       5 MiB past the BAT's end: where payload blocks go. A
//              dynamic file ends here; a fixed one size bytes later.
//
// BAT entries: with block_state_zero (the default) every payload entry is
// ZERO (2, no offset). Without it a dynamic image's BAT stays zero (NOT
// PRESENT) and a fixed image's entries are FULLY PRESENT (6) at data +
// i * block_size. Sector bitmap entries (one after every chunk_ratio
// payload entries) stay zero. The BAT region is written whole, zeros
// included, as qemu writes it, 64 KiB at a time, so a 64 TB image needs no
// more memory than a small one; the rest of the file is a hole (Truncate).
//
// From the host (CreateRequest::random), in qemu's order of generation:
// bytes 0-3 the sequence number of header 1 (little endian, qemu's
// g_random_int()); 4-19 the file write GUID; 20-35 the data write GUID;
// 36-51 the page 83 data. Each GUID is made a version 4 UUID as
// qemu_uuid_generate() makes one (byte 6: 0x4_, byte 8: 0b10______).
// now_seconds is not used: vhdx stores no time.
#include "vhdx/vhdx_create.h"

#include "instar/engine/bytes.h"
#include "instar/engine/text_builder.h"
#include "measure/measure_internal.h"
#include "vhdx/crc32c.h"
#include "vhdx/vhdx_format.h"

namespace instar::vhdx {

namespace {

constexpr uint64_t kMiB = 1 << 20;
constexpr uint32_t kSectorSize = 512;
constexpr size_t kScratchSize = 64 << 10;
constexpr size_t kMetadataItemsSize = 8 + 8 + 16 + 4 + 4;

// A version 4 UUID from 16 random bytes, as qemu_uuid_generate() does it.
void StoreGuid(uint8_t* out, const uint8_t* random) {
  CopyBytes(out, random, 16);
  out[6] = static_cast<uint8_t>((out[6] & 0x0f) | 0x40);
  out[8] = static_cast<uint8_t>((out[8] & 0x3f) | 0x80);
}

// vhdx_update_checksum(): the CRC-32C of `length` bytes with the field at
// `crc_offset` zero, stored there little endian.
void StoreChecksum(uint8_t* bytes, size_t length, size_t crc_offset) {
  StoreLE32(bytes + crc_offset, 0);
  StoreLE32(bytes + crc_offset, Crc32c(bytes, length));
}

// The layout vhdx_create_new_region_table() and vhdx_create_bat() derive.
struct Layout {
  uint64_t size = 0;        // the disk, rounded up to 512
  uint32_t block_size = 0;  // payload block
  uint32_t log_size = 0;
  int chunk_ratio_bits = 0;  // payload entries per sector bitmap entry, log2
  uint32_t data_blocks = 0;
  uint32_t bat_entries = 0;
  uint64_t bat_offset = 0;
  uint32_t bat_length = 0;
  uint64_t metadata_offset = 0;
  uint64_t data_offset = 0;  // the first payload block
};

Layout MakeLayout(uint64_t size, const VhdxTargetOptions& options) {
  Layout l;
  l.size = size;
  l.block_size = static_cast<uint32_t>(options.block_size);
  l.log_size = static_cast<uint32_t>(options.log_size);
  // chunk_ratio = 2^23 sectors of 512 bytes per sector bitmap block.
  l.chunk_ratio_bits = CountTrailingZeros((uint64_t{1} << 32) / l.block_size);
  // qemu's uint32_t arithmetic: an empty disk wraps to a large BAT.
  l.data_blocks = static_cast<uint32_t>(DivRoundUp(size, l.block_size));
  l.bat_entries = l.data_blocks + ((l.data_blocks - 1u) >> l.chunk_ratio_bits);
  l.bat_offset = AlignUp(kHeaderSectionEnd + l.log_size, kMiB);
  l.bat_length = static_cast<uint32_t>(AlignUp(uint64_t{l.bat_entries} * 8, kMiB));
  l.metadata_offset = AlignUp(l.bat_offset + l.bat_length, kMiB);
  l.data_offset = l.bat_offset + l.bat_length + 5 * kMiB;
  return l;
}

// The file identifier: the signature and "QEMU v" QEMU_VERSION in UTF-16LE.
Status WriteFileIdentifier(WritableDevice& device, const QemuVersion& compat) {
  char text[40];
  TextBuilder creator(text, sizeof(text));
  creator.Append("QEMU v")
      .AppendDecimal(compat.major)
      .Append('.')
      .AppendDecimal(compat.minor)
      .Append('.')
      .AppendDecimal(compat.micro);
  uint8_t identifier[8 + 2 * sizeof(text)] = {};
  CopyBytes(identifier, "vhdxfile", 8);
  for (size_t i = 0; i < creator.length(); ++i) {
    identifier[8 + 2 * i] = static_cast<uint8_t>(text[i]);
  }
  return device.Write(0, identifier, 8 + 2 * creator.length());
}

// vhdx_create_new_headers(): two headers, the second one sequence number
// ahead.
Status WriteHeaders(WritableDevice& device, const Layout& layout, const uint8_t* random,
                    uint8_t* scratch) {
  uint8_t* header = scratch;
  FillBytes(header, 0, kHeaderSize);
  StoreLE32(header, kHeaderSignature);
  const uint64_t sequence = LoadLE32(random);
  StoreGuid(header + 16, random + 4);   // file write GUID
  StoreGuid(header + 32, random + 20);  // data write GUID
  // header + 48: the log GUID, zero: there is no log to replay.
  StoreLE16(header + 64, 0);  // log version
  StoreLE16(header + 66, 1);  // version
  StoreLE32(header + 68, layout.log_size);
  StoreLE64(header + 72, kHeaderSectionEnd);
  StoreLE64(header + 8, sequence);
  StoreChecksum(header, kHeaderSize, 4);
  INSTAR_RETURN_IF_ERROR(device.Write(kHeader1Offset, header, kHeaderSize));
  StoreLE64(header + 8, sequence + 1);
  StoreChecksum(header, kHeaderSize, 4);
  return device.Write(kHeader2Offset, header, kHeaderSize);
}

// vhdx_create_new_region_table(): the BAT and metadata regions, twice.
Status WriteRegionTables(WritableDevice& device, const Layout& layout, uint8_t* scratch) {
  uint8_t* table = scratch;
  FillBytes(table, 0, kRegionTableSize);
  StoreLE32(table, kRegionSignature);
  StoreLE32(table + 8, 2);  // entry count
  uint8_t* bat = table + 16;
  CopyBytes(bat, kBatGuid.bytes, 16);
  StoreLE64(bat + 16, layout.bat_offset);
  StoreLE32(bat + 24, layout.bat_length);
  uint8_t* metadata = table + 48;
  CopyBytes(metadata, kMetadataGuid.bytes, 16);
  StoreLE64(metadata + 16, layout.metadata_offset);
  StoreLE32(metadata + 24, static_cast<uint32_t>(kMiB));
  // Neither entry is marked required: qemu leaves data_bits zero.
  StoreChecksum(table, kRegionTableSize, 4);
  INSTAR_RETURN_IF_ERROR(device.Write(kRegionTableOffset, table, kRegionTableSize));
  return device.Write(kRegionTable2Offset, table, kRegionTableSize);
}

// vhdx_create_bat(): qemu writes the BAT region whole (its length rounded
// up to 1 MiB), zeros included, whenever its entries are not all zero
// (block_state_zero, or a fixed image), so the file holds those bytes as
// data, not as a hole (info's actual-size counts them); 64 KiB at a time.
// An empty disk is no exception: its BAT, which qemu's uint32_t arithmetic
// makes 64 MiB long, is written all zeros. Every (2^chunk_ratio_bits + 1)th
// entry is a sector bitmap entry, which stays zero.
Status WriteBat(WritableDevice& device, const Layout& layout, const VhdxTargetOptions& options,
                uint8_t* scratch) {
  uint8_t state;
  if (options.block_state_zero) {
    state = vhdx_block_state::kZero;
  } else if (options.fixed) {
    state = vhdx_block_state::kFullyPresent;
  } else {
    return Status::Ok();  // NOT PRESENT everywhere: zeros, a hole already
  }
  constexpr uint64_t kEntriesPerChunk = kScratchSize / 8;
  const uint64_t group = (uint64_t{1} << layout.chunk_ratio_bits) + 1;  // entries per chunk
  const uint64_t region = layout.metadata_offset - layout.bat_offset;
  for (uint64_t offset = 0; offset < region; offset += kScratchSize) {
    FillBytes(scratch, 0, kScratchSize);
    const uint64_t first = offset / 8;
    for (uint64_t entry = first; entry < first + kEntriesPerChunk; ++entry) {
      if (entry % group == group - 1) continue;  // a sector bitmap entry
      const uint64_t block = entry / group * (group - 1) + entry % group;
      if (block >= layout.data_blocks) break;
      uint64_t value = state;
      if (state == vhdx_block_state::kFullyPresent) {
        value |= AlignUp(layout.data_offset + block * layout.block_size, kMiB);
      }
      StoreLE64(scratch + (entry - first) * 8, value);
    }
    const uint64_t length = region - offset < kScratchSize ? region - offset : kScratchSize;
    INSTAR_RETURN_IF_ERROR(
        device.Write(layout.bat_offset + offset, scratch, static_cast<size_t>(length)));
  }
  return Status::Ok();
}

// vhdx_create_new_metadata(): the table and its five items.
Status WriteMetadata(WritableDevice& device, const Layout& layout, const VhdxTargetOptions& options,
                     const uint8_t* random, uint8_t* scratch) {
  uint8_t* table = scratch;
  FillBytes(table, 0, kMetadataTableSize);
  StoreLE64(table, kMetadataSignature);
  StoreLE16(table + 10, 5);  // entry count
  struct Item {
    const VhdxGuid& guid;
    uint32_t length;
    uint32_t flags;
  };
  const Item kItems[] = {
      {kFileParametersGuid, 8, kMetadataRequired},
      {kVirtualDiskSizeGuid, 8, kMetadataRequired | kMetadataVirtualDisk},
      {kPage83Guid, 16, kMetadataRequired | kMetadataVirtualDisk},
      {kLogicalSectorGuid, 4, kMetadataRequired | kMetadataVirtualDisk},
      {kPhysicalSectorGuid, 4, kMetadataRequired | kMetadataVirtualDisk},
  };
  uint32_t item_offset = 64 << 10;  // the items follow the 64 KiB table
  uint8_t* entry = table + 32;
  for (const Item& item : kItems) {
    CopyBytes(entry, item.guid.bytes, 16);
    StoreLE32(entry + 16, item_offset);
    StoreLE32(entry + 20, item.length);
    StoreLE32(entry + 24, item.flags);
    item_offset += item.length;
    entry += 32;
  }
  INSTAR_RETURN_IF_ERROR(device.Write(layout.metadata_offset, table, kMetadataTableSize));

  uint8_t items[kMetadataItemsSize] = {};
  StoreLE32(items, layout.block_size);
  StoreLE32(items + 4, options.fixed ? kParamLeaveBlocksAllocated : 0);
  StoreLE64(items + 8, layout.size);
  StoreGuid(items + 16, random + 36);
  StoreLE32(items + 32, kSectorSize);
  StoreLE32(items + 36, kSectorSize);
  return device.Write(layout.metadata_offset + (64 << 10), items, sizeof(items));
}

// vhdx_co_create_opts() hands the options to QAPI, whose words for an
// unknown subformat depend on the release (5.2: "Invalid parameter
// 'VALUE'"); measure's resolver has the later wording.
Status ResolveOptions(const ParsedMeasureOptions& parsed, uint64_t size, const QemuVersion& compat,
                      VhdxTargetOptions* options, MeasureError* error) {
  const Status status = measure_internal::ResolveVhdxOptionsForSize(parsed, size, options, error);
  if (!status.ok() && error->kind == MeasureErrorKind::kEnumNotAccepted) {
    error->kind = MeasureErrorKind::kObjectEnumValue;
    error->version = compat;
  }
  return status;
}

}  // namespace

bool QemuRefusesCreatedImage(const ParsedMeasureOptions& parsed, uint64_t requested_size) {
  uint64_t size;
  VhdxTargetOptions options;
  MeasureError error;
  if (!CheckedAlignUp(requested_size, kSectorSize, &size) ||
      !measure_internal::ResolveVhdxOptionsForSize(parsed, size, &options, &error).ok() ||
      !options.fixed || options.block_state_zero) {
    return false;
  }
  const Layout layout = MakeLayout(size, options);
  if (size % layout.block_size == 0 || layout.data_blocks == 0) return false;
  return ((layout.data_blocks - 1u) >> layout.chunk_ratio_bits) != 0;
}

Status CreateVhdx(const CreateRequest& request, WritableDevice& device, const QemuVersion& compat,
                  Arena& arena, MeasureError* error) {
  uint64_t size;
  // A size that does not round up fails the 64 TB check.
  if (!CheckedAlignUp(request.size, kSectorSize, &size)) size = UINT64_MAX;
  VhdxTargetOptions options;
  INSTAR_RETURN_IF_ERROR(ResolveOptions(*request.options, size, compat, &options, error));
  const Layout layout = MakeLayout(size, options);

  const size_t mark = arena.Mark();
  auto* scratch = static_cast<uint8_t*>(arena.Allocate(kScratchSize));
  if (scratch == nullptr) return Status::NoSpace("no memory for the vhdx writer's buffer");
  Status status = device.Truncate(options.fixed ? layout.data_offset + size : layout.data_offset);
  if (status.ok()) status = WriteFileIdentifier(device, compat);
  if (status.ok()) status = WriteHeaders(device, layout, request.random, scratch);
  if (status.ok()) status = WriteBat(device, layout, options, scratch);
  if (status.ok()) status = WriteRegionTables(device, layout, scratch);
  if (status.ok()) status = WriteMetadata(device, layout, options, request.random, scratch);
  arena.Reset(mark);
  return status;
}

}  // namespace instar::vhdx
