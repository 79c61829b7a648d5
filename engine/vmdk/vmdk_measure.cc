// instar's measure for vmdk targets, which qemu-img refuses to measure.
//
// The prediction is the total size of the files `qemu-img create -f vmdk`
// makes (--size mode: `required`), and of what `qemu-img convert -O vmdk`
// writes when every allocated unit of the source holds non-zero data
// (source mode: `required`); `fully_allocated` is the size after every byte
// of the disk was written. "Size" is st_size summed over the descriptor and
// all extent files.
//
// A sparse extent of E bytes (block/vmdk.c vmdk_init_extent; 64 KiB grains,
// 512 entries per grain table, computed in qemu's 32-bit arithmetic):
//   grains      = ceil(E / 512 / 128)            (uint32_t, wraps)
//   gt_count    = ceil(grains / 512)
//   gd_sectors  = ceil(gt_count * 4 / 512)
//   metadata    = round_up(21 + 2 * (gd_sectors + 4 * gt_count), 128) * 512
// that is: header, 20 descriptor sectors, redundant and primary grain
// directories each followed by all grain tables, padded to a grain.
//   e.g. 1 GiB: grains 16384, gt_count 32, gd_sectors 1,
//        metadata = round_up(21 + 2 * (1 + 128), 128) * 512 = 384 * 512
//                 = 196608, as `qemu-img create -f vmdk x.vmdk 1G` makes.
// Each written grain adds 65536 bytes; the last grain of the disk is written
// whole even when the disk ends inside it.
//
// monolithicSparse: one sparse extent of the whole disk, descriptor
//   embedded. fully_allocated(1G) = 196608 + 16384 * 65536.
// streamOptimized: the same layout with deflated grains, each stored as a
//   12-byte marker plus the zlib stream, sector aligned. Compression is not
//   predicted: each grain counts at its worst (zlib's compressBound), plus
//   one uncompressed grain qemu may leave at the end, so source-mode and
//   fully-allocated figures are upper bounds.
// monolithicFlat / twoGbMaxExtentFlat: a descriptor file plus flat extents
//   as large as the disk (sparse files: st_size is the disk size).
// twoGbMaxExtentSparse: a descriptor file plus one sparse extent per 2 GiB.
// The descriptor file holds the text DescriptorLength() counts; create
// leaves it at its exact length, and the first data write of convert
// rewrites it padded to a sector (qemu reads and writes it back with its
// CID updated). Its length depends on the target file name, and on the
// random CID, printed with %x: eight hex digits are assumed (15 times in 16
// the real one has them).
#include "instar/engine/bytes.h"
#include "instar/engine/measure.h"
#include "instar/engine/vmdk.h"
#include "measure/measure_internal.h"
#include "vmdk/vmdk_create.h"

namespace instar::measure_internal {

namespace {

constexpr uint64_t kGrainSize = 65536;

size_t DecimalLength(uint64_t value) {
  size_t n = 1;
  while (value >= 10) {
    value /= 10;
    ++n;
  }
  return n;
}

size_t CStringLen(const char* s) {
  size_t n = 0;
  while (s[n] != '\0') ++n;
  return n;
}

// vmdk_init_extent() for a sparse extent: the file size create leaves.
uint64_t SparseExtentMetadata(uint64_t extent_bytes) {
  const uint32_t grains = static_cast<uint32_t>(DivRoundUp(extent_bytes / 512, 128));
  const uint32_t gt_size = 4;
  const uint32_t gt_count = static_cast<uint32_t>((grains + 512u - 1u) / 512u);
  const uint32_t gd_sectors = static_cast<uint32_t>(DivRoundUp(uint64_t{gt_count} * 4, 512));
  const uint32_t tables = gt_size * gt_count;  // wraps as qemu's does
  const uint64_t rgd_offset = 21;
  const uint64_t gd_offset = rgd_offset + gd_sectors + tables;
  const uint64_t grain_offset = AlignUp(gd_offset + gd_sectors + tables, 128);
  return grain_offset * 512;
}

// zlib's compressBound().
uint64_t CompressBound(uint64_t n) { return n + (n >> 12) + (n >> 14) + (n >> 25) + 13; }

// The worst case of one deflated grain of `n` bytes on disk.
uint64_t StreamGrainBound(uint64_t n) { return AlignUp(12 + CompressBound(n), 512); }

// The names of VmdkSubformat and VmdkAdapterType values, indexed by their
// numbers: the option values qemu-img takes, as engine/measure/resolve.cc
// reads them.
constexpr const char* kSubformatNames[] = {"monolithicSparse", "monolithicFlat",
                                           "twoGbMaxExtentSparse", "twoGbMaxExtentFlat",
                                           "streamOptimized"};
static_assert(sizeof(kSubformatNames) / sizeof(kSubformatNames[0]) ==
              static_cast<size_t>(VmdkSubformat::kStreamOptimized) + 1);
constexpr const char* kAdapterNames[] = {"ide", "buslogic", "lsilogic", "legacyESX"};
static_assert(sizeof(kAdapterNames) / sizeof(kAdapterNames[0]) ==
              static_cast<size_t>(VmdkAdapterType::kLegacyEsx) + 1);

template <typename Enum, size_t kCount>
const char* NameOf(Enum value, const char* const (&names)[kCount]) {
  const auto index = static_cast<size_t>(value);
  return index < kCount ? names[index] : "";
}

// strlen() of the descriptor vmdk_co_do_create() writes for a flat or split
// layout of `size` bytes.
uint64_t DescriptorLength(const VmdkTargetOptions& vmdk, uint64_t size, MeasureText target_name,
                          const QemuVersion& compat) {
  const bool flat = vmdk.subformat == VmdkSubformat::kMonolithicFlat ||
                    vmdk.subformat == VmdkSubformat::kTwoGbMaxExtentFlat;
  const bool split = vmdk.subformat == VmdkSubformat::kTwoGbMaxExtentFlat ||
                     vmdk.subformat == VmdkSubformat::kTwoGbMaxExtentSparse;
  const uint32_t heads = vmdk.adapter_type == VmdkAdapterType::kIde ? 16 : 255;
  uint64_t n = 0;
  n += CStringLen("# Disk DescriptorFile\n");
  n += CStringLen("version=1\n");
  n += CStringLen("CID=\n") + 8;  // assumed eight hex digits
  n += CStringLen("parentCID=ffffffff\n");
  n += CStringLen("createType=\"\"\n") + CStringLen(NameOf(vmdk.subformat, kSubformatNames));
  n += CStringLen("\n# Extent description\n");
  // One line per extent: RW <sectors> FLAT "<name>" 0 / RW <sectors> SPARSE "<name>"
  const uint64_t line_fixed =
      CStringLen("RW  ") + (flat ? CStringLen("FLAT \"\" 0\n") : CStringLen("SPARSE \"\"\n"));
  if (!split) {
    if (size > 0) {
      n += line_fixed + DecimalLength(DivRoundUp(size, 512)) +
           vmdk::ExtentFileNameLength(target_name, CStringLen("-flat"));
    }
  } else {
    // Extents 1..full of 2 GiB, then one of the rest; named "%s-%c%03d%s",
    // summed by bands of equally long indexes (there may be billions).
    const uint64_t full = size / kVmdkSplitExtentBytes;
    const uint64_t rest = size % kVmdkSplitExtentBytes;
    const uint64_t count = full + (rest != 0 ? 1 : 0);
    uint64_t band_start = 1;
    for (size_t digits = 3; band_start <= count; ++digits) {
      const uint64_t band_end = digits >= 19 ? count : [&] {
        uint64_t limit = 1;
        for (size_t i = 0; i < digits; ++i) limit *= 10;
        return limit - 1 < count ? limit - 1 : count;
      }();
      const uint64_t in_band = band_end - band_start + 1;
      n += in_band * (line_fixed + vmdk::ExtentFileNameLength(target_name, 2 + digits));
      band_start = band_end + 1;
    }
    n += full * DecimalLength(kVmdkSplitExtentBytes / 512);
    if (rest != 0) n += DecimalLength(DivRoundUp(rest, 512));
  }
  n += CStringLen("\n# The Disk Data Base\n#DDB\n\n");
  n += CStringLen("ddb.virtualHWVersion = \"\"\n") + vmdk.hw_version.length;
  n += CStringLen("ddb.geometry.cylinders = \"\"\n") +
       DecimalLength(size / (uint64_t{63} * heads * 512));
  n += CStringLen("ddb.geometry.heads = \"\"\n") + DecimalLength(heads);
  n += CStringLen("ddb.geometry.sectors = \"63\"\n");
  n +=
      CStringLen("ddb.adapterType = \"\"\n") + CStringLen(NameOf(vmdk.adapter_type, kAdapterNames));
  if (HasVmdkToolsVersion(compat)) {
    n += CStringLen("ddb.toolsVersion = \"\"\n") + vmdk.tools_version.length;
  }
  return n;
}

}  // namespace

Status PredictVmdkSize(const MeasureRequest& request, uint64_t virtual_size, MeasureSource* source,
                       const QemuVersion& compat, MeasureResult* result, MeasureError* error) {
  const ParsedMeasureOptions& options = *request.options;
  VmdkTargetOptions vmdk;
  INSTAR_RETURN_IF_ERROR(ResolveVmdkOptions(options, &vmdk, error));
  if (vmdk.has_backing) {
    return NotSupportedFailure(error,
                               "vmdk targets with a backing file are not supported by measure");
  }
  // vmdk_co_create_opts() rounds the size up to a sector.
  uint64_t size;
  if (!CheckedAlignUp(virtual_size, 512, &size) || size > static_cast<uint64_t>(INT64_MAX)) {
    return NotSupportedFailure(error, "vmdk size out of range");
  }
  const bool flat = vmdk.subformat == VmdkSubformat::kMonolithicFlat ||
                    vmdk.subformat == VmdkSubformat::kTwoGbMaxExtentFlat;
  const bool split = vmdk.subformat == VmdkSubformat::kTwoGbMaxExtentFlat ||
                     vmdk.subformat == VmdkSubformat::kTwoGbMaxExtentSparse;
  const bool stream = vmdk.subformat == VmdkSubformat::kStreamOptimized;
  // Beyond 2^32 - 512 grains in one extent qemu's 32-bit grain arithmetic
  // wraps and the extent it creates cannot hold the disk.
  if (!split && !flat && DivRoundUp(size, kGrainSize) > UINT32_MAX - 511) {
    return NotSupportedFailure(error, "vmdk sparse extents beyond 256 TiB are not supported");
  }

  AllocationScan scan;
  if (source != nullptr) {
    INSTAR_RETURN_IF_ERROR(ScanAllocation(*source, kGrainSize, compat, &scan, error));
  }
  const uint64_t allocated_grains = scan.allocated_bytes / kGrainSize;
  const uint64_t total_grains = DivRoundUp(size, kGrainSize);
  const uint64_t last_grain_bytes =
      size - (total_grains == 0 ? 0 : (total_grains - 1) * kGrainSize);

  MeasureText name = request.target_name;
  if (name.length == 0) name = MeasureText{"image.vmdk", 10};
  const uint64_t descriptor = (flat || split) ? DescriptorLength(vmdk, size, name, compat) : 0;

  if (flat) {
    // Flat extents are full size from the start; only the descriptor grows
    // (to a whole sector) once convert writes data.
    result->required = (allocated_grains > 0 ? AlignUp(descriptor, 512) : descriptor) + size;
    result->fully_allocated = (size > 0 ? AlignUp(descriptor, 512) : descriptor) + size;
    return Status::Ok();
  }
  if (split) {
    const uint64_t full = size / kVmdkSplitExtentBytes;
    const uint64_t rest = size % kVmdkSplitExtentBytes;
    const uint64_t metadata = full * SparseExtentMetadata(kVmdkSplitExtentBytes) +
                              (rest != 0 ? SparseExtentMetadata(rest) : 0);
    result->required = (allocated_grains > 0 ? AlignUp(descriptor, 512) : descriptor) + metadata +
                       allocated_grains * kGrainSize;
    result->fully_allocated =
        (size > 0 ? AlignUp(descriptor, 512) : descriptor) + metadata + total_grains * kGrainSize;
    return Status::Ok();
  }
  const uint64_t metadata = SparseExtentMetadata(size);
  if (stream) {
    // Upper bounds: every grain incompressible, plus one trailing grain.
    uint64_t required = metadata;
    if (allocated_grains > 0) {
      const uint64_t whole = scan.last_unit_allocated ? allocated_grains - 1 : allocated_grains;
      required += whole * StreamGrainBound(kGrainSize) + kGrainSize;
      if (scan.last_unit_allocated) required += StreamGrainBound(last_grain_bytes);
    }
    uint64_t full = metadata;
    if (total_grains > 0) {
      full += (total_grains - 1) * StreamGrainBound(kGrainSize) +
              StreamGrainBound(last_grain_bytes) + kGrainSize;
    }
    result->required = required;
    result->fully_allocated = full;
    return Status::Ok();
  }
  result->required = metadata + allocated_grains * kGrainSize;
  result->fully_allocated = metadata + total_grains * kGrainSize;
  return Status::Ok();
}

}  // namespace instar::measure_internal
