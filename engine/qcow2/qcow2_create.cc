// The qcow2 create hook: qemu's qcow2_co_create_opts() and qcow2_co_create()
// (block/qcow2.c), writing what qemu-img create writes, byte for byte.
//
// qemu does not lay a new image out by formula: it writes a minimal image
// (header, a one-cluster refcount table, one empty refcount block), opens
// it, and lets its own allocator grow it (qcow2_co_truncate(): the L1
// table, then preallocate_co() or the falloc/full data area). Where each
// table lands, when the refcount table moves and which freed cluster is
// reused is that allocator's doing, so this file replays it:
// Qcow2Allocator (qcow2_allocator.h, shared with resize, amend and the
// guest-data writer) is qemu's free-cluster search (alloc_clusters_noref),
// update_refcount(), alloc_refcount_block() and qcow2_refcount_area(), with
// the same writes in the same places. Only the final bytes matter, so the
// tables qemu keeps in its caches are written when they are done rather
// than when qemu's cache flushes them, and the header is written once at
// the end with the fields qemu patches into it on the way (l1_size and
// l1_table_offset, refcount_table_offset and _clusters, size).
//
// Memory is bounded by the image's metadata, never by its virtual size:
// two refcount blocks and one L2 table (one cluster each), a header
// cluster, a 64 KiB zero buffer, and the refcount table itself (qemu keeps
// it in memory too), sized up front to the most entries this image can need
// and refused past kMaxReftableEntries (8 MiB). The L1 table is never held:
// its entries are written one by one where qemu's l2_allocate() sets them.
#include "core/formats.h"
#include "core/reader_util.h"
#include "instar/engine/bytes.h"
#include "instar/engine/create.h"
#include "instar/engine/format_driver.h"
#include "instar/engine/measure_dialect.h"
#include "instar/engine/qcow2.h"
#include "measure/measure_internal.h"
#include "qcow2/qcow2_allocator.h"
#include "qcow2/qcow2_internal.h"

namespace instar {

namespace {

using K = MeasureOptionKey;
using measure_internal::MeasureFailure;
using measure_internal::NotSupportedFailure;
using qcow2_internal::kInvalidOffset;
using qcow2_internal::Qcow2Allocator;

constexpr uint64_t kCopied = uint64_t{1} << 63;  // QCOW_OFLAG_COPIED
constexpr uint64_t kIntMax = 0x7fffffff;
// BDRV_REQUEST_MAX_BYTES: INT_MAX rounded down to whole sectors.
constexpr uint64_t kRequestMaxBytes = kIntMax & ~uint64_t{511};
constexpr uint64_t kMaxL1Bytes = 32 << 20;  // QCOW_MAX_L1_SIZE
// instar's own bound on the refcount table it holds: 8 MiB of entries,
// enough for about 2^35 clusters with 16-bit refcounts.
constexpr uint64_t kMaxReftableEntries = 1 << 20;
constexpr size_t kZeroBufferBytes = 64 * 1024;

bool TextIs(MeasureText text, const char* literal) {
  size_t i = 0;
  for (; i < text.length; ++i) {
    if (literal[i] == '\0' || literal[i] != text.data[i]) return false;
  }
  return literal[i] == '\0';
}

MeasureText Literal(const char* text) {
  size_t n = 0;
  while (text[n] != '\0') ++n;
  return MeasureText{text, n};
}

// An enum member the QAPI visitor of BlockdevCreateOptionsQcow2 does not
// know: worded per release (MeasureDialect::enum_error_names_parameter).
Status EnumFailure(MeasureError* error, const QemuVersion& compat, const char* parameter,
                   MeasureText value) {
  error->subject = Literal(parameter);
  error->value = value;
  error->version = compat;
  return MeasureFailure(error, MeasureErrorKind::kObjectEnumValue, "bad qcow2 create option value");
}

// What qcow2_co_create() is asked to make, once its options are checked.
struct Qcow2CreateParams {
  Qcow2TargetOptions options;  // cluster size, refcount width, version, extended L2, preallocation
  uint64_t size = 0;           // rounded up to 512
  bool lazy_refcounts = false;
  bool zstd = false;
  MeasureText backing_file;  // data null: none
  MeasureText backing_format;
};

// The options as qemu-img create reads them: QemuOpts (already parsed),
// then the QAPI visit of BlockdevCreateOptionsQcow2 (enum members, in the
// schema's order: version, backing-fmt, encrypt, preallocation,
// compression-type), then qcow2_co_create()'s checks in its order.
Status ResolveCreateParams(const CreateRequest& request, const QemuVersion& compat,
                           Qcow2CreateParams* out, MeasureError* error) {
  const ParsedMeasureOptions& options = *request.options;
  error->target = ImageFormat::kQcow2;
  *out = Qcow2CreateParams();

  // The visit.
  const MeasureOptionValue& compat_level = options.Get(K::kCompat);
  uint8_t version = 3;
  if (compat_level.present) {
    if (TextIs(compat_level.text, "0.10") || TextIs(compat_level.text, "v2")) {
      version = 2;
    } else if (!TextIs(compat_level.text, "1.1") && !TextIs(compat_level.text, "v3")) {
      return EnumFailure(error, compat, "version", compat_level.text);
    }
  }
  const MeasureOptionValue& backing_file = options.Get(K::kBackingFile);
  const MeasureOptionValue& backing_fmt = options.Get(K::kBackingFmt);
  if (backing_fmt.present) {
    // BlockdevDriver: the image formats qemu has a driver for, and the
    // file protocol; instar does not list the other protocols.
    const bool known =
        FindFormatDriverByName(backing_fmt.text.data, backing_fmt.text.length) != nullptr ||
        TextIs(backing_fmt.text, "file");
    if (!known) return EnumFailure(error, compat, "backing-fmt", backing_fmt.text);
  }
  const MeasureOptionValue& encryption = options.Get(K::kEncryption);
  const MeasureOptionValue& encrypt_format = options.Get(K::kEncryptFormat);
  const bool encrypted = (encryption.present && encryption.boolean) || encrypt_format.present;
  if (encrypt_format.present && !TextIs(encrypt_format.text, "aes") &&
      !TextIs(encrypt_format.text, "luks") && !TextIs(encrypt_format.text, "qcow")) {
    return EnumFailure(error, compat, "encrypt.format", encrypt_format.text);
  }
  const MeasureOptionValue& preallocation = options.Get(K::kPreallocation);
  Preallocation prealloc = Preallocation::kOff;
  if (preallocation.present) {
    static constexpr const char* kModes[] = {"off", "metadata", "falloc", "full"};
    bool found = false;
    for (size_t i = 0; i < 4; ++i) {
      if (TextIs(preallocation.text, kModes[i])) {
        prealloc = static_cast<Preallocation>(i);
        found = true;
      }
    }
    if (!found) return EnumFailure(error, compat, "preallocation", preallocation.text);
  }
  const MeasureOptionValue& compression = options.Get(K::kCompressionType);
  bool zstd = false;
  if (compression.present) {
    if (TextIs(compression.text, "zstd") && Qcow2SupportsZstd(compat)) {
      zstd = true;
    } else if (!TextIs(compression.text, "zlib")) {
      return EnumFailure(error, compat, "compression-type", compression.text);
    }
  }

  // qcow2_co_create().
  const bool extended_l2 =
      options.Get(K::kExtendedL2).present && options.Get(K::kExtendedL2).boolean;
  if (extended_l2 && version < 3) {
    return MeasureFailure(error, MeasureErrorKind::kQcow2ExtendedL2NeedsV3,
                          "extended L2 needs compat 1.1");
  }
  const MeasureOptionValue& cluster = options.Get(K::kClusterSize);
  const uint64_t cluster_size = cluster.present ? cluster.number : 65536;
  const int bits = CountTrailingZeros(static_cast<uint32_t>(cluster_size));
  if (bits < 9 || bits > 21 || (uint64_t{1} << bits) != cluster_size) {
    return MeasureFailure(error, MeasureErrorKind::kClusterSize, "bad qcow2 cluster size");
  }
  if (extended_l2 && cluster_size < 16384) {
    return MeasureFailure(error, MeasureErrorKind::kExtendedL2ClusterSize,
                          "extended L2 needs 16k clusters or larger");
  }
  if (backing_file.present && prealloc != Preallocation::kOff && !extended_l2) {
    return MeasureFailure(error, MeasureErrorKind::kQcow2BackingPreallocation,
                          "backing file with preallocation needs extended L2");
  }
  if (backing_fmt.present && !backing_file.present) {
    return MeasureFailure(error, MeasureErrorKind::kQcow2BackingFormatNoFile,
                          "backing format without backing file");
  }
  const bool lazy =
      options.Get(K::kLazyRefcounts).present && options.Get(K::kLazyRefcounts).boolean;
  if (lazy && version < 3) {
    return MeasureFailure(error, MeasureErrorKind::kQcow2LazyRefcountsNeedV3,
                          "lazy refcounts need compat 1.1");
  }
  const MeasureOptionValue& refcount = options.Get(K::kRefcountBits);
  const uint64_t refcount_bits = refcount.present ? refcount.number : 16;
  if (refcount_bits > 64 || !IsPowerOfTwo(refcount_bits)) {
    return MeasureFailure(error, MeasureErrorKind::kRefcountWidth, "bad refcount width");
  }
  if (version < 3 && refcount_bits != 16) {
    return MeasureFailure(error, MeasureErrorKind::kQcow2RefcountNeedsV3,
                          "refcount width needs compat 1.1");
  }
  const MeasureOptionValue& data_file = options.Get(K::kDataFile);
  const bool data_file_raw =
      options.Get(K::kDataFileRaw).present && options.Get(K::kDataFileRaw).boolean;
  if (data_file_raw && !data_file.present) {
    return MeasureFailure(error, MeasureErrorKind::kQcow2DataFileRawNoFile,
                          "data-file-raw without data-file");
  }
  if (data_file_raw && backing_file.present) {
    return MeasureFailure(error, MeasureErrorKind::kQcow2DataFileRawBacking,
                          "data-file-raw with a backing file");
  }
  if (data_file.present) {
    if (version < 3) {
      return MeasureFailure(error, MeasureErrorKind::kQcow2DataFileNeedsV3,
                            "external data file needs compat 1.1");
    }
    return NotSupportedFailure(error,
                               "instar cannot create qcow2 images with an external data file");
  }
  if (zstd && version < 3) {
    return MeasureFailure(error, MeasureErrorKind::kQcow2CompressionNeedsV3,
                          "zstd needs compat 1.1");
  }
  if (encrypted) {
    // qcrypto_block_create() wants its secret first; instar cannot be
    // given one (the secret's data stays on the host).
    if (!options.Get(K::kEncryptKeySecret).present) {
      error->subject = Literal("encrypt.");
      return MeasureFailure(error, MeasureErrorKind::kKeySecretRequired,
                            "encryption needs a key secret");
    }
    return NotSupportedFailure(error, "instar cannot create encrypted qcow2 images");
  }

  // What qcow2_measure() also reads (Qcow2TargetOptions), set here rather
  // than by ResolveQcow2Options(): create's QAPI also takes compat=v2/v3,
  // which measure's qcow2_opt_get_version_del() refuses.
  out->options.cluster_size = cluster_size;
  out->options.refcount_bits = static_cast<uint32_t>(refcount_bits);
  out->options.version = version;
  out->options.extended_l2 = extended_l2;
  out->options.has_backing_file = backing_file.present;
  out->options.preallocation = prealloc;
  out->size = AlignUp(request.size, 512);  // qcow2_co_create_opts() rounds silently
  out->lazy_refcounts = lazy;
  out->zstd = zstd;
  if (backing_file.present) out->backing_file = backing_file.text;
  if (backing_fmt.present) out->backing_format = backing_fmt.text;
  return Status::Ok();
}

// The image being written: the allocator plus the L1 and L2 tables.
class Qcow2Writer {
 public:
  Qcow2Writer(const Qcow2CreateParams& params, WritableDevice& device, Qcow2Allocator& allocator,
              uint8_t* l2_buffer, uint8_t* zeros)
      : params_(params),
        device_(device),
        allocator_(allocator),
        cluster_bits_(static_cast<uint32_t>(CountTrailingZeros(params.options.cluster_size))),
        cluster_size_(params.options.cluster_size),
        l2_entry_size_(params.options.extended_l2 ? 16 : 8),
        l2_entries_(params.options.cluster_size / l2_entry_size_),
        l2_buffer_(l2_buffer),
        zeros_(zeros) {}

  uint64_t l1_size() const { return l1_size_; }
  uint64_t l1_offset() const { return l1_offset_; }

  // qcow2_grow_l1_table(exact_size) from an empty table.
  Status GrowL1(uint64_t entries) {
    if (entries == 0) return Status::Ok();
    // (qemu also checks INT_MAX / 8, which the L1 limit is well below.)
    if (entries > kMaxL1Bytes / 8) {
      return Status::OutOfRange("qcow2 L1 table too large");
    }
    INSTAR_ASSIGN_OR_RETURN(const uint64_t offset, allocator_.AllocClusters(entries * 8));
    INSTAR_RETURN_IF_ERROR(allocator_.FlushBlocks());
    INSTAR_RETURN_IF_ERROR(WriteZeros(offset, entries * 8));
    l1_offset_ = offset;
    l1_size_ = entries;
    return Status::Ok();
  }

  // preallocate_co() over [0, size): per L2 table, the table, then the
  // data clusters it maps, as qcow2_alloc_host_offset() finds them.
  Status PreallocateMetadata(uint64_t size, uint64_t* data_end) {
    uint64_t offset = 0;
    uint64_t remaining_total = size;
    uint64_t host_offset = 0;
    uint64_t covered = 0;
    const uint64_t max_step = kIntMax & ~(cluster_size_ - 1);
    while (remaining_total > 0) {
      covered = remaining_total < max_step ? remaining_total : max_step;
      INSTAR_RETURN_IF_ERROR(AllocHostOffset(offset, &covered, &host_offset));
      remaining_total -= covered;
      offset += covered;
    }
    // The last cluster's tail past the disk is copied on write (perform_cow()
    // of the allocation's cow_end): zeros up to the end of its subcluster.
    const uint64_t subcluster = params_.options.extended_l2 ? cluster_size_ / 32 : cluster_size_;
    const uint64_t tail = AlignUp(covered, subcluster) - covered;
    if (tail > 0) INSTAR_RETURN_IF_ERROR(WriteZeros(host_offset + covered, tail));
    *data_end = host_offset + covered;
    return Status::Ok();
  }

  // The falloc/full branch of qcow2_co_truncate() from size 0.
  Status PreallocateData(uint64_t size, bool full) {
    INSTAR_RETURN_IF_ERROR(allocator_.FlushBlocks());
    uint64_t old_file_size = device_.Size();
    INSTAR_ASSIGN_OR_RETURN(const uint64_t last_cluster, allocator_.LastCluster(old_file_size));
    old_file_size = (last_cluster + 1) * cluster_size_;
    const uint64_t data_clusters = AlignUp(size, cluster_size_) >> cluster_bits_;
    const uint64_t l2_tables = DivRoundUp(data_clusters, l2_entries_) + 1;
    INSTAR_ASSIGN_OR_RETURN(
        const uint64_t allocation_start,
        allocator_.RefcountArea(old_file_size, data_clusters + l2_tables, true, 0, 0));
    INSTAR_ASSIGN_OR_RETURN(const uint64_t allocated,
                            allocator_.AllocClustersAt(allocation_start, data_clusters));
    if (allocated != data_clusters) return Status::Corruption("qcow2: data area in use");
    INSTAR_RETURN_IF_ERROR(allocator_.FlushBlocks());
    const uint64_t new_file_size = allocation_start + data_clusters * cluster_size_;
    const uint64_t current = device_.Size();
    if (new_file_size > current) {
      // file-posix's truncate with preallocation: from the current end.
      if (full) {
        INSTAR_RETURN_IF_ERROR(WriteZeros(current, new_file_size - current));
      } else {
        INSTAR_RETURN_IF_ERROR(device_.Allocate(current, new_file_size - current));
      }
    }
    uint64_t host = allocation_start;
    uint64_t guest = 0;
    uint64_t left = data_clusters;
    while (left > 0) {
      const uint64_t index = (guest >> cluster_bits_) & (l2_entries_ - 1);
      const uint64_t n = left < l2_entries_ - index ? left : l2_entries_ - index;
      INSTAR_RETURN_IF_ERROR(EnsureL2(guest));
      Link(guest, host, n);
      guest += n * cluster_size_;
      host += n * cluster_size_;
      left -= n;
    }
    return Status::Ok();
  }

  // Writes the L2 table being filled and the refcount blocks.
  Status Finish() {
    INSTAR_RETURN_IF_ERROR(FlushL2());
    return allocator_.FlushBlocks();
  }

 private:
  // qcow2_alloc_host_offset() for [offset, offset + *bytes) of an image
  // with nothing allocated there: handle_copied() (which allocates the L2
  // table) then handle_alloc() per L2 table, contiguous as long as
  // qcow2_alloc_clusters_at() can extend the previous run. `*bytes` becomes
  // what was covered; `*host_offset` the host offset of `offset`.
  Status AllocHostOffset(uint64_t offset, uint64_t* bytes, uint64_t* host_offset) {
    uint64_t start = offset;
    uint64_t remaining = *bytes;
    uint64_t cluster_offset = kInvalidOffset;
    uint64_t step = 0;
    *host_offset = kInvalidOffset;
    for (;;) {
      if (*host_offset == kInvalidOffset && cluster_offset != kInvalidOffset) {
        *host_offset = cluster_offset;
      }
      start += step;
      remaining -= step;
      if (cluster_offset != kInvalidOffset) cluster_offset += step;
      if (remaining == 0) break;
      step = remaining;
      INSTAR_RETURN_IF_ERROR(EnsureL2(start));  // handle_copied()
      // handle_alloc()
      const uint64_t within = start & (cluster_size_ - 1);
      uint64_t count = DivRoundUp(within + step, cluster_size_);
      const uint64_t index = (start >> cluster_bits_) & (l2_entries_ - 1);
      if (count > l2_entries_ - index) count = l2_entries_ - index;
      if (count > (kRequestMaxBytes >> cluster_bits_)) count = kRequestMaxBytes >> cluster_bits_;
      uint64_t alloc_offset;
      if (cluster_offset == kInvalidOffset) {
        INSTAR_ASSIGN_OR_RETURN(alloc_offset, allocator_.AllocClusters(count * cluster_size_));
      } else {
        alloc_offset = cluster_offset & ~(cluster_size_ - 1);
        INSTAR_ASSIGN_OR_RETURN(count, allocator_.AllocClustersAt(alloc_offset, count));
        if (count == 0) {
          step = 0;
          break;
        }
      }
      Link(start, alloc_offset, count);
      const uint64_t available = count * cluster_size_ - within;
      if (step > available) step = available;
      cluster_offset = alloc_offset + within;
    }
    *bytes -= remaining;
    return Status::Ok();
  }

  // get_cluster_table(): the L2 table for `guest`, allocated by
  // l2_allocate() (one cluster, its L1 entry written) when missing. Tables
  // are allocated in guest order here, so only the last one can be open.
  Status EnsureL2(uint64_t guest) {
    const uint64_t l1_index = guest >> (cluster_bits_ + CountTrailingZeros(l2_entries_));
    if (l2_open_ && l1_index == l2_index_) return Status::Ok();
    INSTAR_RETURN_IF_ERROR(FlushL2());
    INSTAR_ASSIGN_OR_RETURN(const uint64_t offset, allocator_.AllocClusters(cluster_size_));
    uint8_t entry[8];
    StoreBE64(entry, offset | kCopied);
    INSTAR_RETURN_IF_ERROR(device_.Write(l1_offset_ + l1_index * 8, entry, 8));
    for (uint64_t i = 0; i < cluster_size_; ++i) l2_buffer_[i] = 0;
    l2_open_ = true;
    l2_index_ = l1_index;
    l2_offset_ = offset;
    return Status::Ok();
  }

  // qcow2_alloc_cluster_link_l2() of a preallocation: COPIED entries, no
  // subcluster bits.
  void Link(uint64_t guest, uint64_t host, uint64_t count) {
    const uint64_t index = (guest >> cluster_bits_) & (l2_entries_ - 1);
    for (uint64_t i = 0; i < count; ++i) {
      StoreBE64(l2_buffer_ + (index + i) * l2_entry_size_, (host + i * cluster_size_) | kCopied);
    }
  }

  Status FlushL2() {
    if (!l2_open_) return Status::Ok();
    l2_open_ = false;
    return device_.Write(l2_offset_, l2_buffer_, cluster_size_);
  }

  Status WriteZeros(uint64_t offset, uint64_t length) {
    while (length > 0) {
      const uint64_t n = length < kZeroBufferBytes ? length : kZeroBufferBytes;
      INSTAR_RETURN_IF_ERROR(device_.Write(offset, zeros_, n));
      offset += n;
      length -= n;
    }
    return Status::Ok();
  }

  const Qcow2CreateParams& params_;
  WritableDevice& device_;
  Qcow2Allocator& allocator_;
  const uint32_t cluster_bits_;
  const uint64_t cluster_size_;
  const uint64_t l2_entry_size_;
  const uint64_t l2_entries_;
  uint8_t* l2_buffer_;
  uint8_t* zeros_;
  uint64_t l1_size_ = 0;
  uint64_t l1_offset_ = 0;
  bool l2_open_ = false;
  uint64_t l2_index_ = 0;
  uint64_t l2_offset_ = 0;
};

struct HeaderFields {
  uint64_t size = 0;
  uint64_t l1_size = 0;
  uint64_t l1_offset = 0;
  uint64_t reftable_offset = 0;
  uint64_t reftable_clusters = 0;
  bool with_backing = false;
};

// qcow2_update_header() into `out` (one cluster). Returns false when the
// backing file name does not fit (qemu's -ENOSPC).
bool BuildHeader(const Qcow2CreateParams& params, const HeaderFields& fields, uint8_t* out) {
  const uint64_t cluster_size = params.options.cluster_size;
  for (uint64_t i = 0; i < cluster_size; ++i) out[i] = 0;
  const uint8_t version = params.options.version;
  StoreBE32(out + 0, qcow2::kMagic);
  StoreBE32(out + 4, version);
  StoreBE32(out + 20, static_cast<uint32_t>(CountTrailingZeros(cluster_size)));
  StoreBE64(out + 24, fields.size);
  StoreBE32(out + 36, static_cast<uint32_t>(fields.l1_size));
  StoreBE64(out + 40, fields.l1_offset);
  StoreBE64(out + 48, fields.reftable_offset);
  StoreBE32(out + 56, static_cast<uint32_t>(fields.reftable_clusters));
  size_t used = 72;
  if (version >= 3) {
    uint64_t incompatible = 0;
    if (params.zstd) incompatible |= qcow2::kIncompatCompression;
    if (params.options.extended_l2) incompatible |= qcow2::kIncompatExtendedL2;
    StoreBE64(out + 72, incompatible);
    StoreBE64(out + 80, params.lazy_refcounts ? qcow2::kCompatLazyRefcounts : 0);
    StoreBE32(out + 96, static_cast<uint32_t>(CountTrailingZeros(params.options.refcount_bits)));
    StoreBE32(out + 100, 112);
    out[104] = params.zstd ? qcow2::kCompressionZstd : qcow2::kCompressionZlib;
    used = 112;
  }
  if (fields.with_backing && params.backing_format.data != nullptr) {
    const size_t n = qcow2_internal::AddHeaderExtension(
        out + used, cluster_size - used, qcow2::kExtBackingFormat, params.backing_format.data,
        params.backing_format.length);
    if (n == 0) return false;
    used += n;
  }
  // qemu leaves the table out of images of 4 KiB clusters or smaller, so
  // that a backing file name still fits.
  if (version >= 3 && cluster_size > 4096) {
    uint8_t table[qcow2_internal::kFeatureNameTableSize];
    qcow2_internal::FillFeatureNameTable(table);
    const size_t n = qcow2_internal::AddHeaderExtension(
        out + used, cluster_size - used, qcow2::kExtFeatureTable, table, sizeof(table));
    if (n == 0) return false;
    used += n;
  }
  const size_t end = qcow2_internal::AddHeaderExtension(out + used, cluster_size - used,
                                                        qcow2::kExtEnd, nullptr, 0);
  if (end == 0) return false;
  used += end;
  if (fields.with_backing && params.backing_file.data != nullptr) {
    if (params.backing_file.length > cluster_size - used) return false;
    for (size_t i = 0; i < params.backing_file.length; ++i) {
      out[used + i] = static_cast<uint8_t>(params.backing_file.data[i]);
    }
    StoreBE64(out + 8, used);
    StoreBE32(out + 16, static_cast<uint32_t>(params.backing_file.length));
  }
  return true;
}

// The most refcount table entries the image can come to need: its clusters
// (all of them when preallocated) counted half again for the generous
// growth of qcow2_refcount_area(), in whole table clusters.
Result<uint64_t> ReftableCapacity(const Qcow2CreateParams& params) {
  const Qcow2TargetOptions& o = params.options;
  uint64_t bytes;
  if (o.preallocation == Preallocation::kOff) {
    const uint64_t l2_entries = o.cluster_size / (o.extended_l2 ? 16 : 8);
    const uint64_t l1_entries =
        DivRoundUp(AlignUp(params.size, o.cluster_size) / o.cluster_size, l2_entries);
    bytes = 4 * o.cluster_size + AlignUp(l1_entries * 8, o.cluster_size);
  } else {
    INSTAR_ASSIGN_OR_RETURN(bytes, Qcow2FullyAllocatedSize(params.size, o.cluster_size,
                                                           o.refcount_bits, o.extended_l2));
  }
  const uint64_t refcount_block_bits =
      CountTrailingZeros(o.cluster_size) + 3 - CountTrailingZeros(o.refcount_bits);
  // Twice the clusters: freed tables and the L2 tables placed after data.
  const uint64_t clusters = 2 * (bytes / o.cluster_size) + 64;
  const uint64_t blocks = (clusters >> refcount_block_bits) + 2;
  return AlignUp(2 * blocks + 2, o.cluster_size / 8);
}

Status CreateQcow2(const CreateRequest& request, WritableDevice& device, const QemuVersion& compat,
                   Arena& arena, MeasureError* error) {
  Qcow2CreateParams params;
  INSTAR_RETURN_IF_ERROR(ResolveCreateParams(request, compat, &params, error));
  const uint64_t cluster_size = params.options.cluster_size;
  const uint32_t cluster_bits = static_cast<uint32_t>(CountTrailingZeros(cluster_size));
  const uint64_t l2_entries = cluster_size / (params.options.extended_l2 ? 16 : 8);

  // qcow2_co_truncate()'s L1 table, checked before anything is written:
  // qemu's -EFBIG, which bdrv_img_create() words as the size limit.
  const uint64_t l1_shift = cluster_bits + CountTrailingZeros(l2_entries);
  const uint64_t l1_entries =
      (params.size >> l1_shift) + ((params.size & ((uint64_t{1} << l1_shift) - 1)) != 0);
  if (l1_entries > kMaxL1Bytes / 8) {
    return MeasureFailure(error, MeasureErrorKind::kImageTooLargeTryClusterSize,
                          "image too large for qcow2");
  }
  if (params.backing_file.data != nullptr && params.backing_file.length > 1023) {
    error->subject = params.backing_file;
    error->value =
        params.backing_format.data != nullptr ? params.backing_format : Literal("(null)");
    error->detail = "Invalid argument";
    return MeasureFailure(error, MeasureErrorKind::kQcow2AssignBacking,
                          "backing file name too long");
  }

  ArenaRewind rewind(arena);
  Result<uint64_t> capacity = ReftableCapacity(params);
  if (!capacity.ok()) {
    // qemu's own size math overflows there (-EFBIG).
    return MeasureFailure(error, MeasureErrorKind::kImageTooLargeTryClusterSize,
                          "image too large for qcow2");
  }
  if (*capacity > kMaxReftableEntries) {
    return NotSupportedFailure(
        error,
        "instar cannot preallocate a qcow2 image this large (its refcount table would "
        "exceed 8 MiB)");
  }
  auto* reftable = arena.AllocateArray<uint64_t>(*capacity);
  uint8_t* blocks = arena.AllocateArray<uint8_t>(2 * cluster_size);
  uint8_t* scratch = arena.AllocateArray<uint8_t>(cluster_size);
  uint8_t* l2_buffer = arena.AllocateArray<uint8_t>(cluster_size);
  uint8_t* zeros = arena.AllocateArray<uint8_t>(kZeroBufferBytes);
  if (reftable == nullptr || blocks == nullptr || scratch == nullptr || l2_buffer == nullptr ||
      zeros == nullptr) {
    return Status::NoSpace("out of memory creating a qcow2 image");
  }
  for (size_t i = 0; i < kZeroBufferBytes; ++i) zeros[i] = 0;

  // The minimal image: its header first (rewritten at the end), then the
  // refcount table and block, and the first three clusters counted.
  HeaderFields fields;
  fields.reftable_offset = cluster_size;
  fields.reftable_clusters = 1;
  BuildHeader(params, fields, scratch);
  INSTAR_RETURN_IF_ERROR(device.Write(0, scratch, cluster_size));
  Qcow2Allocator allocator(device, cluster_bits,
                           static_cast<uint32_t>(CountTrailingZeros(params.options.refcount_bits)),
                           reftable, *capacity, blocks, scratch);
  Qcow2Writer writer(params, device, allocator, l2_buffer, zeros);

  Status status = allocator.Start();
  if (status.ok()) status = writer.GrowL1(l1_entries);
  uint64_t data_end = 0;
  if (status.ok() && params.size > 0) {
    switch (params.options.preallocation) {
      case Preallocation::kOff:
        break;
      case Preallocation::kMetadata:
        status = writer.PreallocateMetadata(params.size, &data_end);
        break;
      case Preallocation::kFalloc:
      case Preallocation::kFull:
        status = writer.PreallocateData(params.size,
                                        params.options.preallocation == Preallocation::kFull);
        break;
    }
  }
  if (status.ok()) status = writer.Finish();
  if (status.code() == StatusCode::kOutOfRange) {
    return MeasureFailure(error, MeasureErrorKind::kImageTooLargeTryClusterSize,
                          "image too large for qcow2");
  }
  if (status.code() == StatusCode::kNotSupported)
    return NotSupportedFailure(error, status.message());
  INSTAR_RETURN_IF_ERROR(status);
  // preallocate_co() extends the file to the end of its last data cluster.
  if (data_end > device.Size()) INSTAR_RETURN_IF_ERROR(device.Truncate(data_end));

  fields.size = params.size;
  fields.l1_size = writer.l1_size();
  fields.l1_offset = writer.l1_offset();
  fields.reftable_offset = allocator.reftable_offset();
  fields.reftable_clusters = allocator.reftable_clusters();
  fields.with_backing = params.backing_file.data != nullptr;
  if (!BuildHeader(params, fields, scratch)) {
    // qcow2_change_backing_file(): the name does not fit in the header
    // cluster (-ENOSPC).
    error->subject = params.backing_file;
    error->value =
        params.backing_format.data != nullptr ? params.backing_format : Literal("(null)");
    error->detail = "No space left on device";
    return MeasureFailure(error, MeasureErrorKind::kQcow2AssignBacking,
                          "backing file name does not fit");
  }
  INSTAR_RETURN_IF_ERROR(device.Write(0, scratch, cluster_size));
  return device.Flush();
}

}  // namespace

namespace qcow2_internal {

// header_ext_add(): magic, length, the data padded to 8 bytes.
size_t AddHeaderExtension(uint8_t* out, size_t room, uint32_t magic, const void* data,
                          size_t length) {
  const size_t total = 8 + ((length + 7) & ~size_t{7});
  if (total > room) return 0;
  StoreBE32(out, magic);
  StoreBE32(out + 4, static_cast<uint32_t>(length));
  const auto* bytes = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < length; ++i) out[8 + i] = bytes[i];
  for (size_t i = 8 + length; i < total; ++i) out[i] = 0;
  return total;
}

void FillFeatureNameTable(uint8_t (&table)[kFeatureNameTableSize]) {
  // One entry of qemu's feature name table: type, bit, 46 bytes of name.
  struct FeatureName {
    uint8_t type;
    uint8_t bit;
    const char* name;
  };
  constexpr FeatureName kFeatureNames[] = {
      {qcow2::kFeatureIncompatible, 0, "dirty bit"},
      {qcow2::kFeatureIncompatible, 1, "corrupt bit"},
      {qcow2::kFeatureIncompatible, 2, "external data file"},
      {qcow2::kFeatureIncompatible, 3, "compression type"},
      {qcow2::kFeatureIncompatible, 4, "extended L2 entries"},
      {qcow2::kFeatureCompatible, 0, "lazy refcounts"},
      {qcow2::kFeatureAutoclear, 0, "bitmaps"},
      {qcow2::kFeatureAutoclear, 1, "raw external data"},
  };
  static_assert(sizeof(kFeatureNames) / sizeof(kFeatureNames[0]) * 48 == kFeatureNameTableSize);
  for (uint8_t& byte : table) byte = 0;
  size_t at = 0;
  for (const FeatureName& feature : kFeatureNames) {
    table[at] = feature.type;
    table[at + 1] = feature.bit;
    for (size_t i = 0; feature.name[i] != '\0'; ++i) {
      table[at + 2 + i] = static_cast<uint8_t>(feature.name[i]);
    }
    at += 48;
  }
}

Status CreateQcow2Image(const CreateRequest& request, WritableDevice& device,
                        const QemuVersion& compat, Arena& arena, MeasureError* error) {
  return CreateQcow2(request, device, compat, arena, error);
}

}  // namespace qcow2_internal

}  // namespace instar
