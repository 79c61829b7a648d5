// An existing qcow2 image open for change in place (qcow2_in_place.h).
#include "qcow2/qcow2_in_place.h"

#include "core/reader_util.h"
#include "instar/engine/bytes.h"
#include "qcow2/qcow2_internal.h"

namespace instar::qcow2_internal {

namespace {

constexpr uint64_t kMaxL1Bytes = 32 << 20;  // QCOW_MAX_L1_SIZE
constexpr uint64_t kIntMax = 0x7fffffff;
// BDRV_REQUEST_MAX_BYTES: INT_MAX rounded down to whole sectors.
constexpr uint64_t kRequestMaxBytes = kIntMax & ~uint64_t{511};
// instar's own bound on the refcount table it holds: 8 MiB of entries.
constexpr uint64_t kMaxReftableEntries = 1 << 20;
constexpr size_t kZeroBufferBytes = 64 * 1024;

}  // namespace

Qcow2InPlace::Qcow2InPlace(Qcow2Image& image, WritableDevice& device)
    : image_(image),
      device_(device),
      cluster_bits_(image.cluster_bits()),
      cluster_size_(image.cluster_size()),
      l2_entry_size_(image.extended_l2() ? 16 : 8),
      l2_entries_(image.cluster_size() / l2_entry_size_) {}

Qcow2LiveFields LiveFieldsOf(const Qcow2Image& image) {
  const Qcow2Header& header = image.header();
  Qcow2LiveFields live;
  live.size = header.size;
  live.l1_size = header.l1_size;
  live.l1_offset = header.l1_table_offset;
  live.reftable_offset = header.refcount_table_offset;
  live.reftable_clusters = header.refcount_table_clusters;
  live.refcount_order = header.refcount_order;
  return live;
}

Qcow2LiveFields Qcow2InPlace::live() const {
  Qcow2LiveFields live;
  live.size = size_;
  live.l1_size = l1_size_;
  live.l1_offset = l1_offset_;
  live.reftable_offset = allocator_->reftable_offset();
  live.reftable_clusters = allocator_->reftable_clusters();
  live.refcount_order = refcount_order_;
  return live;
}

Status Qcow2InPlace::Open(Arena& arena, uint64_t growth_clusters, const Qcow2LiveFields& live) {
  size_ = live.size;
  l1_size_ = live.l1_size;
  l1_offset_ = live.l1_offset;
  refcount_order_ = live.refcount_order;
  const uint64_t entries = live.reftable_clusters * cluster_size_ / 8;
  const uint32_t refcount_block_bits = cluster_bits_ + 3 - live.refcount_order;
  // Room for the clusters the file has and the change can add, counted
  // twice (tables qemu frees and the growth of qcow2_refcount_area()).
  const uint64_t file_clusters = DivRoundUp(device_.Size(), cluster_size_);
  if (growth_clusters > kMaxReftableEntries << refcount_block_bits ||
      file_clusters > kMaxReftableEntries << refcount_block_bits) {
    return Status::NotSupported(
        "instar cannot change a qcow2 image this large (its refcount table would exceed 8 MiB)");
  }
  const uint64_t clusters = 2 * (file_clusters + growth_clusters) + 64;
  const uint64_t blocks = (clusters >> refcount_block_bits) + 2;
  uint64_t capacity = AlignUp(2 * blocks + 2, cluster_size_ / 8);
  const uint64_t from_table = AlignUp(2 * entries + 2, cluster_size_ / 8);
  if (from_table > capacity) capacity = from_table;
  if (capacity > kMaxReftableEntries) {
    return Status::NotSupported(
        "instar cannot change a qcow2 image this large (its refcount table would exceed 8 MiB)");
  }
  auto* reftable = arena.AllocateArray<uint64_t>(capacity);
  uint8_t* blocks_buffer = arena.AllocateArray<uint8_t>(2 * cluster_size_);
  scratch_ = arena.AllocateArray<uint8_t>(cluster_size_);
  l2_buffer_ = arena.AllocateArray<uint8_t>(cluster_size_);
  zeros_ = arena.AllocateArray<uint8_t>(kZeroBufferBytes);
  if (reftable == nullptr || blocks_buffer == nullptr || scratch_ == nullptr ||
      l2_buffer_ == nullptr || zeros_ == nullptr) {
    return Status::NoSpace("out of memory changing a qcow2 image");
  }
  for (size_t i = 0; i < kZeroBufferBytes; ++i) zeros_[i] = 0;
  allocator_ = arena.New<Qcow2Allocator>(device_, cluster_bits_, live.refcount_order, reftable,
                                         capacity, blocks_buffer, scratch_);
  if (allocator_ == nullptr) return Status::NoSpace("out of memory changing a qcow2 image");
  return allocator_->Load(live.reftable_offset, entries);
}

uint64_t Qcow2InPlace::L1EntriesFor(uint64_t size) const {
  const uint32_t shift = cluster_bits_ + CountTrailingZeros(l2_entries_);
  return (size >> shift) + ((size & ((uint64_t{1} << shift) - 1)) != 0);
}

Status Qcow2InPlace::GrowL1(uint64_t min_size) {
  if (min_size <= l1_size_) return Status::Ok();
  // (qemu also checks INT_MAX / 8, which the L1 limit is well below.)
  if (min_size > kMaxL1Bytes / 8) return Status::OutOfRange("File too large");
  const uint64_t new_bytes = min_size * 8;
  INSTAR_ASSIGN_OR_RETURN(const uint64_t offset, allocator_->AllocClusters(new_bytes));
  INSTAR_RETURN_IF_ERROR(allocator_->FlushBlocks());
  // The old entries, then zeros up to the new size (not the cluster's end).
  const uint64_t old_bytes = l1_size_ * 8;
  for (uint64_t at = 0; at < new_bytes; at += cluster_size_) {
    const uint64_t n = new_bytes - at < cluster_size_ ? new_bytes - at : cluster_size_;
    for (uint64_t i = 0; i < n; ++i) scratch_[i] = 0;
    if (at < old_bytes) {
      const uint64_t copy = old_bytes - at < n ? old_bytes - at : n;
      INSTAR_RETURN_IF_ERROR(device_.Read(l1_offset_ + at, scratch_, copy));
    }
    INSTAR_RETURN_IF_ERROR(device_.Write(offset + at, scratch_, n));
  }
  uint8_t fields[12];
  StoreBE32(fields, static_cast<uint32_t>(min_size));
  StoreBE64(fields + 4, offset);
  INSTAR_RETURN_IF_ERROR(device_.Write(36, fields, sizeof(fields)));
  const uint64_t old_offset = l1_offset_;
  l1_offset_ = offset;
  l1_size_ = min_size;
  return allocator_->FreeClusters(old_offset, old_bytes);
}

Status Qcow2InPlace::ShrinkL1(uint64_t new_size) {
  if (new_size >= l1_size_) return Status::Ok();
  INSTAR_RETURN_IF_ERROR(FlushL2());
  l2_open_ = false;
  const uint64_t first = new_size;
  // bdrv_pwrite_zeroes() of the dropped entries, then their L2 tables
  // freed from the last one down.
  uint64_t entries[64];
  for (uint64_t end = l1_size_; end > first;) {
    const uint64_t start = end - first > 64 ? end - 64 : first;
    INSTAR_RETURN_IF_ERROR(device_.Read(l1_offset_ + start * 8, scratch_, (end - start) * 8));
    for (uint64_t i = start; i < end; ++i)
      entries[i - start] = LoadBE64(scratch_ + (i - start) * 8);
    INSTAR_RETURN_IF_ERROR(WriteZeros(l1_offset_ + start * 8, (end - start) * 8));
    for (uint64_t i = end; i-- > start;) {
      const uint64_t l2 = entries[i - start] & kL1OffsetMask;
      if (l2 != 0) INSTAR_RETURN_IF_ERROR(allocator_->FreeClusters(l2, cluster_size_));
    }
    end = start;
  }
  return Status::Ok();
}

Status Qcow2InPlace::FreeAnyCluster(uint64_t entry) {
  if ((entry & kL2Compressed) != 0) {
    const uint32_t csize_shift = 62 - (cluster_bits_ - 8);
    const uint64_t csize_mask = (uint64_t{1} << (cluster_bits_ - 8)) - 1;
    const uint64_t offset = entry & ((uint64_t{1} << csize_shift) - 1) & ~uint64_t{511};
    const uint64_t bytes = 512 * (((entry >> csize_shift) & csize_mask) + 1);
    return allocator_->FreeClusters(offset, bytes);
  }
  const uint64_t offset = entry & kL2OffsetMask;
  if (offset == 0) return Status::Ok();
  return allocator_->FreeClusters(offset, cluster_size_);
}

Status Qcow2InPlace::DiscardClusters(uint64_t offset, uint64_t bytes) {
  uint64_t cluster = offset >> cluster_bits_;
  const uint64_t end = DivRoundUp(offset + bytes, cluster_size_);
  const uint32_t l2_bits = CountTrailingZeros(l2_entries_);
  while (cluster < end) {
    const uint64_t l1_index = cluster >> l2_bits;
    const uint64_t table_end = (l1_index + 1) << l2_bits;
    const uint64_t stop = table_end < end ? table_end : end;
    if (l1_index >= l1_size_) break;
    uint8_t raw[8];
    INSTAR_RETURN_IF_ERROR(device_.Read(l1_offset_ + l1_index * 8, raw, 8));
    const uint64_t l1_entry = LoadBE64(raw);
    // get_cluster_table() allocates a table where there is none, even to
    // discard (l2_allocate() writes it at once).
    if ((l1_entry & kL1OffsetMask) != 0 && (l1_entry & kL2Copied) == 0) {
      return Status::NotSupported("instar cannot discard clusters under a shared L2 table yet");
    }
    INSTAR_RETURN_IF_ERROR(EnsureL2(cluster << cluster_bits_));
    for (; cluster < stop; ++cluster) {
      uint8_t* slot = l2_buffer_ + (cluster & (l2_entries_ - 1)) * l2_entry_size_;
      const uint64_t entry = LoadBE64(slot);
      const uint64_t bitmap = l2_entry_size_ == 16 ? LoadBE64(slot + 8) : 0;
      if (entry == 0 && bitmap == 0) continue;
      for (uint64_t i = 0; i < l2_entry_size_; ++i) slot[i] = 0;
      l2_dirty_ = true;
      INSTAR_RETURN_IF_ERROR(FreeAnyCluster(entry));
    }
  }
  return FlushL2();
}

Status Qcow2InPlace::EnsureL2(uint64_t guest) {
  const uint64_t l1_index = guest >> (cluster_bits_ + CountTrailingZeros(l2_entries_));
  if (l2_open_ && l1_index == l2_index_) return Status::Ok();
  INSTAR_RETURN_IF_ERROR(FlushL2());
  if (l1_index >= l1_size_) return Status::Corruption("qcow2: L1 table too small for the disk");
  uint8_t raw[8];
  INSTAR_RETURN_IF_ERROR(device_.Read(l1_offset_ + l1_index * 8, raw, 8));
  const uint64_t entry = LoadBE64(raw);
  const uint64_t offset = entry & kL1OffsetMask;
  if (offset != 0) {
    if ((entry & kL2Copied) == 0) {
      return Status::NotSupported("instar cannot write through a shared L2 table yet");
    }
    INSTAR_RETURN_IF_ERROR(device_.Read(offset, l2_buffer_, cluster_size_));
    l2_dirty_ = false;
  } else {
    // l2_allocate(): a new empty table, its L1 entry set.
    INSTAR_ASSIGN_OR_RETURN(const uint64_t table, allocator_->AllocClusters(cluster_size_));
    StoreBE64(raw, table | kL2Copied);
    INSTAR_RETURN_IF_ERROR(device_.Write(l1_offset_ + l1_index * 8, raw, 8));
    for (uint64_t i = 0; i < cluster_size_; ++i) l2_buffer_[i] = 0;
    l2_dirty_ = true;
    l2_offset_ = table;
    l2_open_ = true;
    l2_index_ = l1_index;
    return Status::Ok();
  }
  l2_offset_ = offset;
  l2_open_ = true;
  l2_index_ = l1_index;
  return Status::Ok();
}

Status Qcow2InPlace::FlushL2() {
  if (!l2_open_ || !l2_dirty_) return Status::Ok();
  l2_dirty_ = false;
  return device_.Write(l2_offset_, l2_buffer_, cluster_size_);
}

void Qcow2InPlace::Link(uint64_t guest, uint64_t host, uint64_t count) {
  const uint64_t index = (guest >> cluster_bits_) & (l2_entries_ - 1);
  for (uint64_t i = 0; i < count; ++i) {
    StoreBE64(l2_buffer_ + (index + i) * l2_entry_size_, (host + i * cluster_size_) | kL2Copied);
  }
  l2_dirty_ = true;
}

// qcow2_alloc_host_offset() for [offset, offset + *bytes): handle_copied()
// (which finds or allocates the L2 table, and takes a cluster already
// allocated there) then handle_alloc() per L2 table, contiguous as long as
// qcow2_alloc_clusters_at() can extend the previous run.
Status Qcow2InPlace::AllocHostOffset(uint64_t offset, uint64_t* bytes, uint64_t* host_offset) {
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
    INSTAR_RETURN_IF_ERROR(EnsureL2(start));
    const uint64_t within = start & (cluster_size_ - 1);
    const uint64_t index = (start >> cluster_bits_) & (l2_entries_ - 1);
    const uint64_t existing = LoadBE64(l2_buffer_ + index * l2_entry_size_);
    if (existing != 0) {
      // handle_copied(): a cluster this image owns alone is written where
      // it is; anything else would need copy-on-write.
      if ((existing & kL2Copied) == 0 || (existing & kL2Compressed) != 0 ||
          (existing & kL2OffsetMask) == 0) {
        return Status::NotSupported("instar cannot preallocate over this cluster yet");
      }
      if (cluster_offset != kInvalidOffset &&
          (existing & kL2OffsetMask) != (cluster_offset & ~(cluster_size_ - 1))) {
        step = 0;
        break;
      }
      const uint64_t available = cluster_size_ - within;
      if (step > available) step = available;
      cluster_offset = (existing & kL2OffsetMask) + within;
      continue;
    }
    // handle_alloc()
    uint64_t count = DivRoundUp(within + step, cluster_size_);
    if (count > l2_entries_ - index) count = l2_entries_ - index;
    if (count > (kRequestMaxBytes >> cluster_bits_)) count = kRequestMaxBytes >> cluster_bits_;
    // Only the unallocated run from `index` is taken.
    for (uint64_t i = 1; i < count; ++i) {
      if (LoadBE64(l2_buffer_ + (index + i) * l2_entry_size_) != 0) {
        count = i;
        break;
      }
    }
    uint64_t alloc_offset;
    if (cluster_offset == kInvalidOffset) {
      INSTAR_ASSIGN_OR_RETURN(alloc_offset, allocator_->AllocClusters(count * cluster_size_));
    } else {
      alloc_offset = cluster_offset & ~(cluster_size_ - 1);
      INSTAR_ASSIGN_OR_RETURN(count, allocator_->AllocClustersAt(alloc_offset, count));
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

Status Qcow2InPlace::PreallocateMetadata(uint64_t from, uint64_t to) {
  if (to <= from) return Status::Ok();
  uint64_t offset = from;
  uint64_t remaining_total = to - from;
  uint64_t host_offset = 0;
  uint64_t covered = 0;
  const uint64_t max_step = kIntMax & ~(cluster_size_ - 1);
  while (remaining_total > 0) {
    covered = remaining_total < max_step ? remaining_total : max_step;
    INSTAR_RETURN_IF_ERROR(AllocHostOffset(offset, &covered, &host_offset));
    remaining_total -= covered;
    offset += covered;
  }
  INSTAR_RETURN_IF_ERROR(Flush());
  // The last cluster's tail past the disk is copied on write: zeros up to
  // the end of its subcluster (as create's preallocation, qcow2_create.cc).
  const uint64_t subcluster = l2_entry_size_ == 16 ? cluster_size_ / 32 : cluster_size_;
  const uint64_t tail = AlignUp(host_offset + covered, subcluster) - (host_offset + covered);
  if (tail > 0) INSTAR_RETURN_IF_ERROR(WriteZeros(host_offset + covered, tail));
  // preallocate_co() extends the file to the end of its last data cluster.
  if (host_offset + covered > device_.Size()) {
    INSTAR_RETURN_IF_ERROR(device_.Truncate(host_offset + covered));
  }
  return Status::Ok();
}

Status Qcow2InPlace::PreallocateData(uint64_t from, uint64_t to, bool full) {
  INSTAR_RETURN_IF_ERROR(Flush());
  uint64_t old_file_size = device_.Size();
  INSTAR_ASSIGN_OR_RETURN(const uint64_t last_cluster, allocator_->LastCluster(old_file_size));
  old_file_size = (last_cluster + 1) * cluster_size_;
  const uint64_t first_guest = from & ~(cluster_size_ - 1);
  const uint64_t data_clusters = (AlignUp(to, cluster_size_) - first_guest) >> cluster_bits_;
  const uint64_t l2_tables = DivRoundUp(data_clusters, l2_entries_) + 1;
  INSTAR_ASSIGN_OR_RETURN(
      const uint64_t allocation_start,
      allocator_->RefcountArea(old_file_size, data_clusters + l2_tables, true, 0, 0));
  INSTAR_ASSIGN_OR_RETURN(const uint64_t allocated,
                          allocator_->AllocClustersAt(allocation_start, data_clusters));
  if (allocated != data_clusters) return Status::Corruption("qcow2: data area in use");
  INSTAR_RETURN_IF_ERROR(allocator_->FlushBlocks());
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
  uint64_t guest = first_guest;
  uint64_t left = data_clusters;
  while (left > 0) {
    const uint64_t index = (guest >> cluster_bits_) & (l2_entries_ - 1);
    const uint64_t n = left < l2_entries_ - index ? left : l2_entries_ - index;
    INSTAR_RETURN_IF_ERROR(EnsureL2(guest));
    // qcow2_alloc_cluster_link_l2(): what the entries held is freed after.
    uint64_t replaced_first = 0;
    uint64_t replaced_count = 0;
    for (uint64_t i = 0; i < n; ++i) {
      const uint64_t old = LoadBE64(l2_buffer_ + (index + i) * l2_entry_size_);
      if ((old & kL2OffsetMask) != 0 || (old & kL2Compressed) != 0) {
        if (replaced_count == 0) replaced_first = i;
        ++replaced_count;
      }
    }
    if (replaced_count > 1) {
      return Status::NotSupported("instar cannot preallocate over allocated clusters yet");
    }
    const uint64_t replaced =
        replaced_count == 1 ? LoadBE64(l2_buffer_ + (index + replaced_first) * l2_entry_size_) : 0;
    Link(guest, host, n);
    // (Extended L2 entries keep their bitmaps: qemu leaves them zero.)
    if (replaced_count == 1) INSTAR_RETURN_IF_ERROR(FreeAnyCluster(replaced));
    guest += n * cluster_size_;
    host += n * cluster_size_;
    left -= n;
  }
  return Flush();
}

Status Qcow2InPlace::TruncateToLastCluster() {
  INSTAR_RETURN_IF_ERROR(Flush());
  const uint64_t file_size = device_.Size();
  INSTAR_ASSIGN_OR_RETURN(const uint64_t last_cluster, allocator_->LastCluster(file_size));
  const uint64_t end = (last_cluster + 1) * cluster_size_;
  if (end < file_size) INSTAR_RETURN_IF_ERROR(device_.Truncate(end));
  return Status::Ok();
}

Status Qcow2InPlace::Flush() {
  INSTAR_RETURN_IF_ERROR(FlushL2());
  return allocator_->FlushBlocks();
}

Status Qcow2InPlace::WriteHeaderFields() {
  uint8_t fields[36];  // bytes 24 .. 60 of the header
  INSTAR_RETURN_IF_ERROR(device_.Read(24, fields, sizeof(fields)));
  StoreBE64(fields + 0, size_);
  StoreBE32(fields + 12, static_cast<uint32_t>(l1_size_));
  StoreBE64(fields + 16, l1_offset_);
  StoreBE64(fields + 24, allocator_->reftable_offset());
  StoreBE32(fields + 32, static_cast<uint32_t>(allocator_->reftable_clusters()));
  return device_.Write(24, fields, sizeof(fields));
}

Status Qcow2InPlace::WriteZeros(uint64_t offset, uint64_t length) {
  while (length > 0) {
    const uint64_t n = length < kZeroBufferBytes ? length : kZeroBufferBytes;
    INSTAR_RETURN_IF_ERROR(device_.Write(offset, zeros_, n));
    offset += n;
    length -= n;
  }
  return Status::Ok();
}

}  // namespace instar::qcow2_internal
