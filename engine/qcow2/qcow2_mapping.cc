// Guest-to-host mapping, refcounts and block status: qemu's
// qcow2_get_host_offset() and count_contiguous_subclusters()
// (qcow2-cluster.c), qcow2_get_refcount() and
// qcow2_detect_metadata_preallocation() (qcow2-refcount.c), and
// qcow2_co_block_status() (qcow2.c).
#include "core/table_cache.h"
#include "instar/engine/bytes.h"
#include "instar/engine/qcow2.h"
#include "instar/engine/text_builder.h"
#include "qcow2/qcow2_internal.h"

namespace instar {

namespace {

using namespace qcow2_internal;

constexpr uint32_t kExtendedSubclusters = 32;
constexpr uint64_t kIntMax = 0x7fffffff;

// Bits [from, to) of the allocation half of an extended L2 bitmap.
constexpr uint64_t AllocRange(uint32_t from, uint32_t to) {
  return (uint64_t{1} << to) - (uint64_t{1} << from);
}

int CountTrailingOnes32(uint32_t v) { return v == 0xffffffffu ? 32 : __builtin_ctz(~v); }
int CountTrailingZeros32(uint32_t v) { return v == 0 ? 32 : __builtin_ctz(v); }

// qemu's message for a corruption event: the text before, between and after
// the event's numbers (a, b, c in turn, each in hex as "%#" PRIx64 prints).
struct CorruptionWording {
  const char* around[4] = {};
};

CorruptionWording WordingOf(Qcow2CorruptionKind kind) {
  switch (kind) {
    case Qcow2CorruptionKind::kNone:
      break;
    case Qcow2CorruptionKind::kL2TableUnaligned:
      return {{"L2 table offset ", " unaligned (L1 index: ", ")"}};
    case Qcow2CorruptionKind::kZeroClusterInV2:
      return {{"Zero cluster entry found in pre-v3 image (L2 offset: ", ", L2 index: ", ")"}};
    case Qcow2CorruptionKind::kCompressedWithDataFile:
      return {{"Compressed cluster entry found in image with external data file (L2 offset: ",
               ", L2 index: ", ")"}};
    case Qcow2CorruptionKind::kClusterUnaligned:
      return {{"Cluster allocation offset ", " unaligned (L2 offset: ", ", L2 index: ", ")"}};
    case Qcow2CorruptionKind::kDataFileOffsetMismatch:
      return {{"External data file host cluster offset ",
               " does not match guest cluster offset: ", ", L2 index: ", ")"}};
    case Qcow2CorruptionKind::kInvalidClusterEntry:
      // qemu's message has the double space.
      return {{"Invalid cluster entry found  (L2 offset: ", ", L2 index: ", ")"}};
    case Qcow2CorruptionKind::kRefblockUnaligned:
      return {{"Refblock offset ", " unaligned (reftable index: ", ")"}};
  }
  return {};
}

}  // namespace

size_t FormatQcow2Corruption(const Qcow2CorruptionEvent& e, char* out, size_t capacity) {
  const CorruptionWording wording = WordingOf(e.kind);
  const uint64_t numbers[3] = {e.a, e.b, e.c};
  TextBuilder text(out, capacity);
  for (size_t i = 0; i < 4 && wording.around[i] != nullptr; ++i) {
    if (i > 0) text.AppendHex(numbers[i - 1]);
    text.Append(wording.around[i]);
  }
  return text.length();
}

Status Qcow2Image::CheckReadRange(uint64_t offset, uint64_t length) const {
  if (compat_.AtLeast(6, 0)) {
    // bdrv_check_qiov_request().
    if (length > kBdrvMaxLength || offset > kBdrvMaxLength - length) {
      return Status::IOError("Input/output error (read beyond the block layer's limit)");
    }
  } else if (offset > uint64_t{INT64_MAX}) {
    // 5.2 only refuses negative offsets.
    return Status::IOError("Input/output error (negative read offset)");
  }
  return Status::Ok();
}

Status Qcow2Image::ReadMetadata(uint64_t offset, void* buffer, size_t length) {
  INSTAR_RETURN_IF_ERROR(CheckReadRange(offset, length));
  // 5.2 reads right up to INT64_MAX, where the cache's 4 KiB chunk would
  // reach past it (which no file read may): read just the bytes asked for.
  const uint64_t chunk_end_limit = uint64_t{INT64_MAX} - (TableCache::kChunkBytes - 1);
  if (offset >= chunk_end_limit || length > chunk_end_limit - offset) {
    return file_->Read(offset, buffer, length);
  }
  return cache_->Read(*file_, offset, buffer, length);
}

Result<uint64_t> Qcow2Image::LoadMetadataBE64(uint64_t offset) {
  uint8_t bytes[8];
  INSTAR_RETURN_IF_ERROR(ReadMetadata(offset, bytes, sizeof bytes));
  return instar::LoadBE64(bytes);
}

Status Qcow2Image::Corruption(Qcow2CorruptionKind kind, uint64_t a, uint64_t b, uint64_t c) {
  // Read-only, qemu reports only the first event (qcow2_signal_corruption()).
  if (first_corruption_.kind == Qcow2CorruptionKind::kNone) {
    first_corruption_.kind = kind;
    first_corruption_.a = a;
    first_corruption_.b = b;
    first_corruption_.c = c;
  }
  return Status::IOError("qcow2: Image is corrupt (Input/output error)");
}

// qcow2_get_subcluster_type() over qcow2_get_cluster_type().
Qcow2SubclusterType Qcow2Image::SubclusterType(uint64_t l2_entry, uint64_t l2_bitmap,
                                               uint32_t sc_index) const {
  enum class Cluster { kCompressed, kZeroPlain, kZeroAlloc, kUnallocated, kNormal };
  Cluster cluster;
  if ((l2_entry & kL2Compressed) != 0) {
    cluster = Cluster::kCompressed;
  } else if ((l2_entry & kL2Zero) != 0 && !extended_l2()) {
    cluster = (l2_entry & kL2OffsetMask) != 0 ? Cluster::kZeroAlloc : Cluster::kZeroPlain;
  } else if ((l2_entry & kL2OffsetMask) == 0) {
    // With an external data file, offset 0 is valid; COPIED tells them apart.
    cluster = has_external_data_file() && (l2_entry & kL2Copied) != 0 ? Cluster::kNormal
                                                                      : Cluster::kUnallocated;
  } else {
    cluster = Cluster::kNormal;
  }

  if (!extended_l2()) {
    switch (cluster) {
      case Cluster::kCompressed:
        return Qcow2SubclusterType::kCompressed;
      case Cluster::kZeroPlain:
        return Qcow2SubclusterType::kZeroPlain;
      case Cluster::kZeroAlloc:
        return Qcow2SubclusterType::kZeroAlloc;
      case Cluster::kNormal:
        return Qcow2SubclusterType::kNormal;
      case Cluster::kUnallocated:
        return Qcow2SubclusterType::kUnallocatedPlain;
    }
  }
  const uint64_t alloc_bit = uint64_t{1} << sc_index;
  const uint64_t zero_bit = alloc_bit << 32;
  switch (cluster) {
    case Cluster::kCompressed:
      return Qcow2SubclusterType::kCompressed;
    case Cluster::kNormal:
      if (((l2_bitmap >> 32) & l2_bitmap) != 0) return Qcow2SubclusterType::kInvalid;
      if ((l2_bitmap & zero_bit) != 0) return Qcow2SubclusterType::kZeroAlloc;
      if ((l2_bitmap & alloc_bit) != 0) return Qcow2SubclusterType::kNormal;
      return Qcow2SubclusterType::kUnallocatedAlloc;
    case Cluster::kUnallocated:
      if ((l2_bitmap & AllocRange(0, 32)) != 0) return Qcow2SubclusterType::kInvalid;
      if ((l2_bitmap & zero_bit) != 0) return Qcow2SubclusterType::kZeroPlain;
      return Qcow2SubclusterType::kUnallocatedPlain;
    default:
      // The zero flag is not a cluster type with extended L2 entries.
      return Qcow2SubclusterType::kInvalid;
  }
}

// qcow2_get_subcluster_range_type(): how many subclusters from `sc_from` on
// share the type of `sc_from`; -1 for an invalid entry.
Result<int64_t> Qcow2Image::SubclusterRangeType(uint64_t l2_entry, uint64_t l2_bitmap,
                                                uint32_t sc_from, Qcow2SubclusterType* type) const {
  *type = SubclusterType(l2_entry, l2_bitmap, sc_from);
  const uint32_t per_cluster = extended_l2() ? kExtendedSubclusters : 1;
  if (*type == Qcow2SubclusterType::kInvalid) return int64_t{-1};
  if (!extended_l2() || *type == Qcow2SubclusterType::kCompressed) {
    return int64_t{per_cluster - sc_from};
  }
  uint32_t bits;
  switch (*type) {
    case Qcow2SubclusterType::kNormal:
      bits = static_cast<uint32_t>(l2_bitmap | AllocRange(0, sc_from));
      return int64_t{CountTrailingOnes32(bits)} - sc_from;
    case Qcow2SubclusterType::kZeroPlain:
    case Qcow2SubclusterType::kZeroAlloc:
      bits = static_cast<uint32_t>((l2_bitmap | (AllocRange(0, sc_from) << 32)) >> 32);
      return int64_t{CountTrailingOnes32(bits)} - sc_from;
    case Qcow2SubclusterType::kUnallocatedPlain:
    case Qcow2SubclusterType::kUnallocatedAlloc:
      bits = static_cast<uint32_t>(((l2_bitmap >> 32) | l2_bitmap) & ~AllocRange(0, sc_from));
      return int64_t{CountTrailingZeros32(bits)} - sc_from;
    default:
      return int64_t{-1};
  }
}

Result<int64_t> Qcow2Image::CountContiguousSubclusters(uint64_t slice_base, uint64_t slice_index,
                                                       uint64_t nb_clusters, uint32_t sc_index,
                                                       uint64_t* bad_index) {
  const uint64_t entry_bytes = extended_l2() ? 16 : 8;
  const uint32_t per_cluster = extended_l2() ? kExtendedSubclusters : 1;
  int64_t count = 0;
  bool check_offset = false;
  uint64_t expected_offset = 0;
  Qcow2SubclusterType expected_type = Qcow2SubclusterType::kNormal;
  for (uint64_t i = 0; i < nb_clusters; ++i) {
    const uint32_t first_sc = i == 0 ? sc_index : 0;
    const uint64_t at = slice_base + (slice_index + i) * entry_bytes;
    INSTAR_ASSIGN_OR_RETURN(uint64_t l2_entry, LoadMetadataBE64(at));
    uint64_t l2_bitmap = 0;
    if (extended_l2()) {
      INSTAR_ASSIGN_OR_RETURN(l2_bitmap, LoadMetadataBE64(at + 8));
    }
    Qcow2SubclusterType type;
    INSTAR_ASSIGN_OR_RETURN(int64_t run, SubclusterRangeType(l2_entry, l2_bitmap, first_sc, &type));
    if (run < 0) {
      *bad_index = slice_index + i;
      return int64_t{-1};
    }
    if (i == 0) {
      if (type == Qcow2SubclusterType::kCompressed) return run;  // one at a time
      expected_type = type;
      expected_offset = l2_entry & kL2OffsetMask;
      check_offset = type == Qcow2SubclusterType::kNormal ||
                     type == Qcow2SubclusterType::kZeroAlloc ||
                     type == Qcow2SubclusterType::kUnallocatedAlloc;
    } else if (type != expected_type) {
      break;
    } else if (check_offset) {
      expected_offset += cluster_size();
      if (expected_offset != (l2_entry & kL2OffsetMask)) break;
    }
    count += run;
    if (first_sc + run < per_cluster) break;
  }
  return count;
}

Result<Qcow2Mapping> Qcow2Image::GetHostOffset(uint64_t offset, uint64_t bytes) {
  if (bytes == 0 || offset >= virtual_size_) {
    return Status::InvalidArgument("qcow2 mapping asked for an empty or out-of-range request");
  }
  const uint64_t cluster_mask = cluster_size() - 1;
  const uint64_t offset_in_cluster = offset & cluster_mask;
  uint64_t bytes_needed = bytes + offset_in_cluster;
  const uint64_t cluster_index = offset >> header_.cluster_bits;
  const uint64_t slice_index = cluster_index & (l2_slice_entries_ - 1);
  uint64_t bytes_available = (l2_slice_entries_ - slice_index) << header_.cluster_bits;
  if (bytes_needed > bytes_available) bytes_needed = bytes_available;

  Qcow2Mapping mapping;
  const uint64_t l1_index = offset >> (l2_bits_ + header_.cluster_bits);
  uint64_t l2_offset = 0;
  if (l1_index < header_.l1_size) {
    // 5.2 reads an L1 table right up to INT64_MAX (zeros past EOF), where a
    // cache chunk would reach past what the host may read.
    INSTAR_ASSIGN_OR_RETURN(uint64_t l1_entry,
                            LoadMetadataBE64(header_.l1_table_offset + l1_index * 8));
    l2_offset = l1_entry & kL1OffsetMask;
  }
  if (l2_offset != 0) {
    if ((l2_offset & cluster_mask) != 0) {
      return Corruption(Qcow2CorruptionKind::kL2TableUnaligned, l2_offset, l1_index);
    }
    const uint64_t entry_bytes = extended_l2() ? 16 : 8;
    const uint64_t l2_index = cluster_index & ((uint64_t{1} << l2_bits_) - 1);
    const uint64_t slice_base = l2_offset + (l2_index - slice_index) * entry_bytes;
    INSTAR_RETURN_IF_ERROR(CheckReadRange(slice_base, l2_slice_entries_ * entry_bytes));

    const uint64_t at = slice_base + slice_index * entry_bytes;
    INSTAR_ASSIGN_OR_RETURN(uint64_t l2_entry, LoadMetadataBE64(at));
    uint64_t l2_bitmap = 0;
    if (extended_l2()) {
      INSTAR_ASSIGN_OR_RETURN(l2_bitmap, LoadMetadataBE64(at + 8));
    }
    const uint32_t sc_index =
        static_cast<uint32_t>((offset >> subcluster_bits_) & ((extended_l2() ? 32 : 1) - 1));
    const uint64_t nb_clusters = DivRoundUp(bytes_needed, cluster_size());
    mapping.type = SubclusterType(l2_entry, l2_bitmap, sc_index);
    if (header_.version < 3 && (mapping.type == Qcow2SubclusterType::kZeroPlain ||
                                mapping.type == Qcow2SubclusterType::kZeroAlloc)) {
      return Corruption(Qcow2CorruptionKind::kZeroClusterInV2, l2_offset, slice_index);
    }
    switch (mapping.type) {
      case Qcow2SubclusterType::kCompressed:
        if (has_external_data_file()) {
          return Corruption(Qcow2CorruptionKind::kCompressedWithDataFile, l2_offset, slice_index);
        }
        mapping.host_offset = l2_entry;
        break;
      case Qcow2SubclusterType::kZeroAlloc:
      case Qcow2SubclusterType::kNormal:
      case Qcow2SubclusterType::kUnallocatedAlloc: {
        const uint64_t host_cluster = l2_entry & kL2OffsetMask;
        mapping.host_offset = host_cluster + offset_in_cluster;
        if ((host_cluster & cluster_mask) != 0) {
          return Corruption(Qcow2CorruptionKind::kClusterUnaligned, host_cluster, l2_offset,
                            slice_index);
        }
        if (has_external_data_file() && mapping.host_offset != offset) {
          return Corruption(Qcow2CorruptionKind::kDataFileOffsetMismatch, host_cluster,
                            offset - offset_in_cluster, slice_index);
        }
        break;
      }
      default:
        break;
    }
    uint64_t bad_index = 0;
    INSTAR_ASSIGN_OR_RETURN(
        int64_t subclusters,
        CountContiguousSubclusters(slice_base, slice_index, nb_clusters, sc_index, &bad_index));
    if (subclusters < 0) {
      return Corruption(Qcow2CorruptionKind::kInvalidClusterEntry, l2_offset, bad_index);
    }
    bytes_available = static_cast<uint64_t>(subclusters + sc_index) << subcluster_bits_;
  }
  if (bytes_available > bytes_needed) bytes_available = bytes_needed;
  mapping.bytes = bytes_available - offset_in_cluster;
  return mapping;
}

Result<uint64_t> Qcow2Image::GetRefcount(uint64_t cluster_index) {
  const uint64_t table_index = cluster_index >> refcount_block_bits_;
  if (table_index >= refcount_table_entries_) return uint64_t{0};
  INSTAR_ASSIGN_OR_RETURN(
      uint64_t table_entry,
      cache_->LoadBE64(*file_, header_.refcount_table_offset + table_index * 8));
  const uint64_t block_offset = table_entry & kRefcountTableOffsetMask;
  if (block_offset == 0) return uint64_t{0};
  if ((block_offset & (cluster_size() - 1)) != 0) {
    return Corruption(Qcow2CorruptionKind::kRefblockUnaligned, block_offset, table_index);
  }
  INSTAR_RETURN_IF_ERROR(CheckReadRange(block_offset, cluster_size()));
  const uint64_t index = cluster_index & ((uint64_t{1} << refcount_block_bits_) - 1);
  const uint32_t order = header_.refcount_order;
  if (order <= 3) {
    const uint32_t width = 1u << order;
    const uint64_t bit = index * width;
    INSTAR_ASSIGN_OR_RETURN(uint8_t byte, cache_->LoadByte(*file_, block_offset + bit / 8));
    return uint64_t{static_cast<uint8_t>(byte >> (bit % 8)) & ((1u << width) - 1)};
  }
  const size_t width_bytes = size_t{1} << (order - 3);
  uint8_t raw[8];
  INSTAR_RETURN_IF_ERROR(
      cache_->Read(*file_, block_offset + index * width_bytes, raw, width_bytes));
  uint64_t value = 0;
  for (size_t i = 0; i < width_bytes; ++i) value = (value << 8) | raw[i];
  return value;
}

Result<bool> Qcow2Image::MetadataPreallocated() {
  if (metadata_preallocation_checked_) return metadata_preallocated_;
  metadata_preallocation_checked_ = true;
  // bdrv_getlength() of the file node counts whole sectors.
  const uint64_t file_length = AlignUp(file_->Size(), 512);
  // qemu's answer follows the file system's st_blocks, fallocated but
  // unwritten ranges included (qcow2 allocates clusters that way).
  INSTAR_ASSIGN_OR_RETURN(const uint64_t allocated, file_->AllocatedBytes());
  const uint64_t real_clusters = allocated >> header_.cluster_bits;
  uint64_t threshold = real_clusters * 10 / 9;
  if (threshold < real_clusters + 2) threshold = real_clusters + 2;
  const uint64_t end_cluster = DivRoundUp(file_length, cluster_size());
  uint64_t counted = 0;
  for (uint64_t i = 0; i < end_cluster && counted < threshold; ++i) {
    INSTAR_ASSIGN_OR_RETURN(uint64_t refcount, GetRefcount(i));
    counted += refcount != 0 ? 1 : 0;
  }
  metadata_preallocated_ = counted >= threshold;
  return metadata_preallocated_;
}

Result<BlockStatus> Qcow2Image::DriverBlockStatus(bool /*want_zero*/, uint64_t offset,
                                                  uint64_t bytes) {
  if (!metadata_preallocation_checked_) {
    // qemu ignores a failure here: the image is then simply not preallocated.
    (void)MetadataPreallocated();
  }
  if (data_file_ == nullptr) {
    return Status::InvalidArgument("the external data file was not opened");
  }
  INSTAR_ASSIGN_OR_RETURN(Qcow2Mapping mapping,
                          GetHostOffset(offset, bytes < kIntMax ? bytes : kIntMax));
  BlockStatus status;
  status.bytes = mapping.bytes;
  const Qcow2SubclusterType type = mapping.type;
  if ((type == Qcow2SubclusterType::kNormal || type == Qcow2SubclusterType::kZeroAlloc ||
       type == Qcow2SubclusterType::kUnallocatedAlloc) &&
      !encrypted()) {
    status.map = mapping.host_offset;
    status.file = data_file_;
    status.flags |= block_status::kOffsetValid;
  }
  if (type == Qcow2SubclusterType::kZeroPlain || type == Qcow2SubclusterType::kZeroAlloc) {
    status.flags |= block_status::kZero;
  } else if (type != Qcow2SubclusterType::kUnallocatedPlain &&
             type != Qcow2SubclusterType::kUnallocatedAlloc) {
    status.flags |= block_status::kData;
  }
  if (metadata_preallocated_ && (status.flags & block_status::kData) != 0 &&
      (status.flags & block_status::kOffsetValid) != 0) {
    status.flags |= block_status::kRecurse;
  }
  if (type == Qcow2SubclusterType::kCompressed && Qcow2ReportsCompressed(compat_)) {
    status.flags |= block_status::kCompressed;
  }
  return status;
}

}  // namespace instar
