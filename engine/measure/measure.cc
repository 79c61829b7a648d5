// Measure(): qemu-img measure's bdrv_measure step for each target, the
// source scan, and the qcow2 and raw size math.
#include "instar/engine/measure.h"

#include "instar/engine/bytes.h"
#include "instar/engine/format_driver.h"
#include "instar/engine/measure_dialect.h"
#include "instar/engine/qcow2.h"
#include "measure/measure_internal.h"

namespace instar {

namespace {

using measure_internal::AllocationScan;
using measure_internal::MeasureFailure;
using measure_internal::NotSupportedFailure;
using measure_internal::SourceFailure;
using K = MeasureOptionKey;

constexpr uint64_t kInt64Max = static_cast<uint64_t>(INT64_MAX);
constexpr uint64_t kQcowMaxL1Size = 32 << 20;  // QCOW_MAX_L1_SIZE

// qemu's ROUND_UP on uint64_t: wraps, as qcow2_measure's own does.
constexpr uint64_t WrappingRoundUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) & ~(alignment - 1);
}

// Every intermediate of qcow2's size math is an int64_t in qemu; a value
// that leaves that range would be undefined there, so it is an error here.
bool AddInt64(uint64_t a, uint64_t b, uint64_t* out) {
  return CheckedAdd(a, b, out) && *out <= kInt64Max;
}
bool MulInt64(uint64_t a, uint64_t b, uint64_t* out) {
  return CheckedMul(a, b, out) && *out <= kInt64Max;
}

}  // namespace

namespace measure_internal {

Status MeasureQcow2(const MeasureRequest& request, MeasureSource* source, const QemuVersion& compat,
                    MeasureResult* result, MeasureError* error) {
  const ParsedMeasureOptions& options = *request.options;
  Qcow2TargetOptions qcow2;
  INSTAR_RETURN_IF_ERROR(ResolveQcow2Options(options, &qcow2, error));
  const uint64_t cluster_size = qcow2.cluster_size;
  const uint64_t l2_entry_size = qcow2.extended_l2 ? 16 : 8;

  // The LUKS header, in whole clusters, before the image size is looked at.
  uint64_t luks_payload = 0;
  if (qcow2.luks) {
    uint64_t header = 0;
    INSTAR_RETURN_IF_ERROR(
        LuksHeaderSize(options, /*encrypt_prefix=*/true, request.secrets, compat, &header, error));
    error->target = ImageFormat::kQcow2;
    luks_payload = AlignUp(header, cluster_size);
  }

  // The size option (--size replaces any -o size) decides the limit check,
  // even in source mode, where the source's length replaces it afterwards.
  uint64_t virtual_size = request.has_size ? request.size : options.Get(K::kSize).number;
  virtual_size = WrappingRoundUp(virtual_size, cluster_size);
  const uint64_t l2_tables = DivRoundUp(virtual_size / cluster_size, cluster_size / l2_entry_size);
  if (l2_tables * 8 > kQcowMaxL1Size) {
    return MeasureFailure(error, MeasureErrorKind::kImageTooLarge, "image too large for qcow2");
  }

  uint64_t required = 0;
  if (source != nullptr) {
    uint64_t source_size = 0;
    error->detail = "Unable to get image virtual_size";
    INSTAR_RETURN_IF_ERROR(measure_internal::SourceLength(*source, &source_size, error));
    if (source_size > kInt64Max - cluster_size) {
      return Status::OutOfRange("source too large for qcow2 size math");
    }
    virtual_size = AlignUp(source_size, cluster_size);
    if (qcow2.has_backing_file) {
      // The new image's backing file may share nothing with the source.
      required = virtual_size;
    } else {
      AllocationScan scan;
      INSTAR_RETURN_IF_ERROR(
          measure_internal::ScanAllocation(*source, cluster_size, compat, &scan, error));
      required = scan.allocated_bytes;
    }
  }
  if (qcow2.preallocation == Preallocation::kFull ||
      qcow2.preallocation == Preallocation::kFalloc) {
    required = virtual_size;
  }

  INSTAR_ASSIGN_OR_RETURN(
      const uint64_t fully_allocated,
      Qcow2FullyAllocatedSize(virtual_size, cluster_size, qcow2.refcount_bits, qcow2.extended_l2));
  result->fully_allocated = luks_payload + fully_allocated;
  // The metadata of the fully allocated file stays counted in `required`.
  result->required = result->fully_allocated - virtual_size + required;
  result->has_bitmaps =
      qcow2.version >= 3 && source != nullptr && source->supports_persistent_bitmaps;
  if (result->has_bitmaps) {
    INSTAR_ASSIGN_OR_RETURN(
        result->bitmaps,
        Qcow2BitmapsSize(source->bitmaps, source->image->VirtualSize(), cluster_size));
  }
  return Status::Ok();
}

Status MeasureRaw(const MeasureRequest& request, MeasureSource* source, const QemuVersion& compat,
                  MeasureResult* result, MeasureError* error) {
  (void)compat;
  uint64_t required;
  if (source != nullptr) {
    error->detail = "Unable to get image size";
    INSTAR_RETURN_IF_ERROR(measure_internal::SourceLength(*source, &required, error));
  } else {
    const uint64_t size = request.has_size ? request.size : request.options->Get(K::kSize).number;
    required = WrappingRoundUp(size, 512);
  }
  // Unallocated sectors take room in a raw file too.
  result->required = required;
  result->fully_allocated = required;
  return Status::Ok();
}

// block/crypto.c block_crypto_measure(): the size (--size, else -o size;
// the source's length in source mode) after the LUKS header. Unallocated
// blocks are encrypted too, so allocation changes nothing. preallocation
// is taken and ignored.
Status MeasureLuks(const MeasureRequest& request, MeasureSource* source, const QemuVersion& compat,
                   MeasureResult* result, MeasureError* error) {
  const ParsedMeasureOptions& options = *request.options;
  uint64_t size = request.has_size ? request.size : options.Get(K::kSize).number;
  if (source != nullptr) {
    error->detail = "Unable to get image virtual_size";
    INSTAR_RETURN_IF_ERROR(measure_internal::SourceLength(*source, &size, error));
  }
  uint64_t header = 0;
  INSTAR_RETURN_IF_ERROR(
      LuksHeaderSize(options, /*encrypt_prefix=*/false, request.secrets, compat, &header, error));
  // qemu adds in uint64_t: a -o size near 2^64 wraps.
  result->required = header + size;
  result->fully_allocated = header + size;
  return Status::Ok();
}

Status SourceLength(MeasureSource& source, uint64_t* length, MeasureError* error) {
  if (source.image == nullptr) {
    return SourceFailure(error, MeasureErrorKind::kSourceLength,
                         Status::InvalidArgument("measure source without an image"));
  }
  // bdrv_getlength(), which fails for a size qemu opens but cannot give.
  const QemuLength qemu_length = source.image->Length();
  if (!qemu_length.ok) {
    error->kind = MeasureErrorKind::kSourceLengthErrno;
    error->number = static_cast<uint32_t>(qemu_length.error_number);
    return Status::OutOfRange("the source's length is past what qemu can give");
  }
  const uint64_t size = qemu_length.bytes;
  if (size > kInt64Max) {
    return SourceFailure(error, MeasureErrorKind::kSourceLength,
                         Status::OutOfRange("source length exceeds INT64_MAX"));
  }
  *length = size;
  return Status::Ok();
}

Status ScanAllocation(MeasureSource& source, uint64_t unit, const QemuVersion& compat,
                      AllocationScan* scan, MeasureError* error) {
  *scan = AllocationScan();
  uint64_t size = 0;
  INSTAR_RETURN_IF_ERROR(SourceLength(source, &size, error));
  scan->source_size = size;
  if (source.block_status == nullptr) {
    return SourceFailure(error, MeasureErrorKind::kBlockStatus,
                         Status::InvalidArgument("measure source without block status"));
  }
  uint64_t offset = 0;
  while (offset < size) {
    Result<BlockStatus> status = source.block_status(*source.image, offset, size - offset, compat);
    if (!status.ok()) return SourceFailure(error, MeasureErrorKind::kBlockStatus, status.status());
    uint64_t bytes = status->bytes;
    if (bytes == 0 || bytes > size - offset) {
      return SourceFailure(error, MeasureErrorKind::kBlockStatus,
                           Status::Corruption("block status answered an impossible length"));
    }
    const uint32_t flags = status->flags;
    constexpr uint32_t kDataAllocated = block_status::kData | block_status::kAllocated;
    if ((flags & block_status::kZero) != 0) {
      // A zero run needs no data cluster (safe: there is no backing file).
    } else if ((flags & kDataAllocated) == kDataAllocated) {
      // Count whole units: from the unit's start to the end of the unit the
      // run ends in, and continue after it.
      bytes = AlignUp(offset + bytes, unit) - offset;
      scan->allocated_bytes += offset % unit + bytes;
      if (offset + bytes >= size) scan->last_unit_allocated = true;
    }
    offset += bytes;
  }
  return Status::Ok();
}

}  // namespace measure_internal

Result<uint64_t> Qcow2RefcountMetadataSize(uint64_t clusters, uint64_t cluster_size,
                                           uint32_t refcount_bits, bool generous_increase,
                                           uint64_t* refblock_count) {
  if (!IsPowerOfTwo(cluster_size) || cluster_size < 512 || refcount_bits == 0 ||
      refcount_bits > 64 || !IsPowerOfTwo(refcount_bits) || clusters > kInt64Max) {
    return Status::InvalidArgument("bad qcow2 refcount geometry");
  }
  const uint64_t blocks_per_table_cluster = cluster_size / 8;
  const uint64_t refcounts_per_block = cluster_size * 8 / refcount_bits;
  uint64_t table = 0;
  uint64_t blocks = 0;
  uint64_t n = 0;
  uint64_t last;
  // The fixed point where refcount blocks and table also count themselves.
  do {
    last = n;
    uint64_t counted;
    if (!AddInt64(clusters, table, &counted) || !AddInt64(counted, blocks, &counted)) {
      return Status::OutOfRange("qcow2 refcount metadata overflows");
    }
    blocks = DivRoundUp(counted, refcounts_per_block);
    table = DivRoundUp(blocks, blocks_per_table_cluster);
    if (!AddInt64(clusters, blocks, &n) || !AddInt64(n, table, &n)) {
      return Status::OutOfRange("qcow2 refcount metadata overflows");
    }
    if (n == last && generous_increase) {
      clusters += DivRoundUp(table, 2);
      n = 0;
      generous_increase = false;
    }
  } while (n != last);
  uint64_t bytes;
  if (!AddInt64(blocks, table, &bytes) || !MulInt64(bytes, cluster_size, &bytes)) {
    return Status::OutOfRange("qcow2 refcount metadata overflows");
  }
  if (refblock_count != nullptr) *refblock_count = blocks;
  return bytes;
}

Result<uint64_t> Qcow2FullyAllocatedSize(uint64_t virtual_size, uint64_t cluster_size,
                                         uint32_t refcount_bits, bool extended_l2) {
  if (!IsPowerOfTwo(cluster_size) || cluster_size < 512 || cluster_size > (2 << 20)) {
    return Status::InvalidArgument("bad qcow2 cluster size");
  }
  if (virtual_size > kInt64Max - cluster_size) {
    return Status::OutOfRange("qcow2 image size overflows");
  }
  const uint64_t l2_entry_size = extended_l2 ? 16 : 8;
  const uint64_t aligned = AlignUp(virtual_size, cluster_size);
  uint64_t meta = cluster_size;  // the header
  // L2 tables, whole tables for the whole image.
  const uint64_t l2_entries = AlignUp(aligned / cluster_size, cluster_size / l2_entry_size);
  uint64_t l2_bytes;
  if (!MulInt64(l2_entries, l2_entry_size, &l2_bytes) || !AddInt64(meta, l2_bytes, &meta)) {
    return Status::OutOfRange("qcow2 L2 tables overflow");
  }
  // The L1 table, in whole clusters.
  const uint64_t l1_entries = AlignUp(l2_bytes / cluster_size, cluster_size / 8);
  uint64_t l1_bytes;
  if (!MulInt64(l1_entries, 8, &l1_bytes) || !AddInt64(meta, l1_bytes, &meta)) {
    return Status::OutOfRange("qcow2 L1 table overflows");
  }
  uint64_t counted;
  if (!AddInt64(meta, aligned, &counted)) return Status::OutOfRange("qcow2 size overflows");
  INSTAR_ASSIGN_OR_RETURN(
      const uint64_t refcounts,
      Qcow2RefcountMetadataSize(counted / cluster_size, cluster_size, refcount_bits, false));
  uint64_t total;
  if (!AddInt64(meta, refcounts, &total) || !AddInt64(total, aligned, &total)) {
    return Status::OutOfRange("qcow2 size overflows");
  }
  return total;
}

Result<uint64_t> Qcow2BitmapsSize(const SourceBitmaps& bitmaps, uint64_t source_size,
                                  uint64_t cluster_size) {
  if (!IsPowerOfTwo(cluster_size) || source_size > kInt64Max || bitmaps.invalid) {
    return Status::InvalidArgument("bad bitmap geometry");
  }
  uint64_t total = 0;
  for (uint32_t bits = 0; bits < 64; ++bits) {
    const uint64_t count = bitmaps.by_granularity_bits[bits];
    if (count == 0) continue;
    const uint64_t bitmap_bytes = DivRoundUp(DivRoundUp(source_size, uint64_t{1} << bits), 8);
    const uint64_t bitmap_clusters = DivRoundUp(bitmap_bytes, cluster_size);
    // Every cluster of the bitmap allocated, plus its bitmap table.
    uint64_t data, table, each;
    if (!CheckedMul(bitmap_clusters, cluster_size, &data) ||
        !CheckedMul(bitmap_clusters, 8, &table) || !CheckedAlignUp(table, cluster_size, &table) ||
        !CheckedAdd(data, table, &each) || !CheckedMul(each, count, &each) ||
        !CheckedAdd(total, each, &total)) {
      return Status::OutOfRange("bitmap size overflows");
    }
  }
  uint64_t directory;
  if (!CheckedAlignUp(bitmaps.directory_bytes, cluster_size, &directory) ||
      !CheckedAdd(total, directory, &total)) {
    return Status::OutOfRange("bitmap size overflows");
  }
  return total;
}

Status DescribeMeasureSource(Image& image, MeasureSource* source) {
  source->image = &image;
  source->supports_persistent_bitmaps = false;
  source->bitmaps = SourceBitmaps();
  const FormatDriver* driver = FindFormatDriver(image.format());
  if (driver == nullptr || driver->describe_measure_source == nullptr) return Status::Ok();
  return driver->describe_measure_source(image, source);
}

namespace measure_internal {

Status DescribeQcow2MeasureSource(Image& image, MeasureSource* source) {
  Qcow2Image& qcow2 = static_cast<Qcow2Image&>(image);
  // qcow2_supports_persistent_dirty_bitmap(): version 3.
  source->supports_persistent_bitmaps = qcow2.version() >= 3;
  if (qcow2.bitmap_count() == 0 || qcow2.bitmaps_extension_ignored()) return Status::Ok();
  Qcow2BitmapCursor cursor(qcow2);
  Qcow2Bitmap bitmap;
  while (true) {
    INSTAR_ASSIGN_OR_RETURN(const bool more, cursor.Next(&bitmap));
    if (!more) break;
    // qemu sums strlen() of the loaded name, which stops at a NUL.
    if (bitmap.loaded) {
      source->bitmaps.Add(static_cast<uint32_t>(bitmap.name.size), bitmap.granularity_bits);
    }
  }
  return Status::Ok();
}

}  // namespace measure_internal

Result<MeasureResult> Measure(const MeasureRequest& request, MeasureSource* source,
                              const QemuVersion& compat, MeasureError* error) {
  if (request.options == nullptr) return Status::InvalidArgument("measure without options");
  const ParsedMeasureOptions& options = *request.options;
  error->target = options.target;
  error->version = compat;
  // The target's lookup refused formats without a driver or create
  // options; a driver without bdrv_measure is refused as qemu-img refuses
  // it, unless the caller asked for instar's own prediction.
  const FormatDriver* driver = FindFormatDriver(options.target);
  MeasureResult result;
  if (driver != nullptr && driver->measure != nullptr) {
    INSTAR_RETURN_IF_ERROR(driver->measure(request, source, compat, &result, error));
    return result;
  }
  if (driver == nullptr || driver->predict_size == nullptr || request.refuse_like_qemu) {
    return MeasureFailure(error, MeasureErrorKind::kMeasureUnsupported,
                          "target format cannot be measured");
  }
  uint64_t virtual_size = request.size;
  if (!request.has_size) {
    if (source == nullptr) return Status::InvalidArgument("measure needs a size or a source");
    error->detail = "Unable to get image size";
    INSTAR_RETURN_IF_ERROR(measure_internal::SourceLength(*source, &virtual_size, error));
  }
  INSTAR_RETURN_IF_ERROR(
      driver->predict_size(request, virtual_size, source, compat, &result, error));
  return result;
}

}  // namespace instar
