// qemu's qcow2 cluster allocator, replayed (qcow2_allocator.h).
#include "qcow2/qcow2_allocator.h"

#include "core/reader_util.h"
#include "instar/engine/bytes.h"
#include "instar/engine/measure.h"

namespace instar::qcow2_internal {

namespace {

constexpr uint64_t kReftableOffsetMask = 0xfffffffffffffe00ull;  // REFT_OFFSET_MASK
constexpr uint64_t kInt64Max = static_cast<uint64_t>(INT64_MAX);
// QCOW_MAX_REFTABLE_SIZE, which qemu compares with entry counts.
constexpr uint64_t kQemuMaxReftable = 8 << 20;

}  // namespace

Qcow2Allocator::Qcow2Allocator(WritableDevice& device, uint32_t cluster_bits,
                               uint32_t refcount_order, uint64_t* reftable,
                               uint64_t reftable_capacity, uint8_t* block_buffers, uint8_t* scratch)
    : device_(device),
      cluster_bits_(cluster_bits),
      cluster_size_(uint64_t{1} << cluster_bits),
      refcount_order_(refcount_order),
      refcount_block_bits_(cluster_bits + 3 - refcount_order),
      reftable_(reftable),
      reftable_capacity_(reftable_capacity),
      scratch_(scratch) {
  for (int i = 0; i < 2; ++i) slots_[i].data = block_buffers + i * cluster_size_;
  refcount_max_ = refcount_order == 6 ? ~uint64_t{0} : (uint64_t{1} << (1u << refcount_order)) - 1;
}

// The state qcow2_co_create() leaves after writing its minimal image
// and allocating its first three clusters: the refcount table at C with
// one block at 2C.
Status Qcow2Allocator::Start() {
  reftable_size_ = cluster_size_ / 8;
  if (reftable_size_ > reftable_capacity_) return Status::NoSpace("qcow2 refcount table");
  for (uint64_t i = 0; i < reftable_size_; ++i) reftable_[i] = 0;
  reftable_[0] = 2 * cluster_size_;
  reftable_offset_ = cluster_size_;
  max_reftable_index_ = 0;
  // The table cluster, then the empty block.
  for (uint64_t i = 0; i < cluster_size_; ++i) scratch_[i] = 0;
  StoreBE64(scratch_, reftable_[0]);
  INSTAR_RETURN_IF_ERROR(device_.Write(cluster_size_, scratch_, cluster_size_));
  scratch_[0] = scratch_[1] = scratch_[2] = scratch_[3] = 0;
  scratch_[4] = scratch_[5] = scratch_[6] = scratch_[7] = 0;
  INSTAR_RETURN_IF_ERROR(device_.Write(2 * cluster_size_, scratch_, cluster_size_));
  INSTAR_ASSIGN_OR_RETURN(const uint64_t first, AllocClusters(3 * cluster_size_));
  if (first != 0) return Status::Corruption("qcow2: first cluster of a new image in use");
  return Status::Ok();
}

Status Qcow2Allocator::Load(uint64_t offset, uint64_t entries) {
  if (entries > reftable_capacity_) return Status::NoSpace("qcow2 refcount table");
  reftable_size_ = entries;
  reftable_offset_ = offset;
  max_reftable_index_ = 0;
  free_cluster_index_ = 0;
  const uint64_t per_chunk = cluster_size_ / 8;
  for (uint64_t first = 0; first < entries; first += per_chunk) {
    const uint64_t n = entries - first < per_chunk ? entries - first : per_chunk;
    INSTAR_RETURN_IF_ERROR(device_.Read(offset + first * 8, scratch_, n * 8));
    for (uint64_t i = 0; i < n; ++i) {
      reftable_[first + i] = LoadBE64(scratch_ + i * 8);
      if (reftable_[first + i] != 0) max_reftable_index_ = first + i;
    }
  }
  return Status::Ok();
}

Status Qcow2Allocator::FreeClusters(uint64_t offset, uint64_t bytes) {
  bool again = false;
  return UpdateRefcount(offset, bytes, true, &again);
}

Status Qcow2Allocator::AddRefcount(uint64_t cluster_index, int delta) {
  bool again = false;
  for (;;) {
    INSTAR_RETURN_IF_ERROR(UpdateRefcount(cluster_index << cluster_bits_, 1, delta < 0, &again));
    if (!again) return Status::Ok();
  }
}

Status Qcow2Allocator::ShrinkReftable() {
  const uint64_t block_entries = uint64_t{1} << refcount_block_bits_;
  const uint64_t per_chunk = cluster_size_ / 8;
  // First the table qemu writes: every entry whose block counts nothing
  // but itself zeroed, all decided before anything changes.
  for (uint64_t first = 0; first < reftable_size_; first += per_chunk) {
    const uint64_t n = reftable_size_ - first < per_chunk ? reftable_size_ - first : per_chunk;
    for (uint64_t i = 0; i < n; ++i) {
      const uint64_t entry = reftable_[first + i];
      const uint64_t block_offset = entry & kReftableOffsetMask;
      bool unused = false;
      if (block_offset != 0) {
        INSTAR_ASSIGN_OR_RETURN(const uint8_t* block, LoadBlock(block_offset, false));
        // The block's count of itself does not keep it.
        uint64_t self = kInvalidOffset;
        if (first + i == ((block_offset >> cluster_bits_) >> refcount_block_bits_)) {
          self = (block_offset >> cluster_bits_) & (block_entries - 1);
        }
        unused = true;
        for (uint64_t j = 0; j < block_entries && unused; ++j) {
          if (j != self && GetEntry(block, j) != 0) unused = false;
        }
      }
      StoreBE64(scratch_ + i * 8, unused ? 0 : entry);
    }
    INSTAR_RETURN_IF_ERROR(device_.Write(reftable_offset_ + first * 8, scratch_, n * 8));
  }
  // Then, in table order, each dropped block is discarded
  // (qcow2_discard_refcount_block()): its refcount, which must be 1, set to
  // 0 in the block that covers it, and the block dropped from the cache
  // unwritten.
  for (uint64_t first = 0; first < reftable_size_; first += per_chunk) {
    const uint64_t n = reftable_size_ - first < per_chunk ? reftable_size_ - first : per_chunk;
    INSTAR_RETURN_IF_ERROR(device_.Read(reftable_offset_ + first * 8, scratch_, n * 8));
    for (uint64_t i = 0; i < n; ++i) {
      if (reftable_[first + i] == 0 || LoadBE64(scratch_ + i * 8) != 0) continue;
      const uint64_t block_offset = reftable_[first + i] & kReftableOffsetMask;
      const uint64_t cluster = block_offset >> cluster_bits_;
      const uint64_t covering = BlockFor(cluster);
      if (covering == 0) {
        return Status::Corruption(
            "qcow2: a refcount block is not covered by the refcount structures");
      }
      INSTAR_ASSIGN_OR_RETURN(uint8_t * block, LoadBlock(covering, false));
      const uint64_t index = cluster & (block_entries - 1);
      if (GetEntry(block, index) != 1) {
        return Status::Corruption("qcow2: invalid refcount of a refcount block");
      }
      SetEntry(block, index, 0);
      MarkDirty(block);
      if (cluster < free_cluster_index_) free_cluster_index_ = cluster;
      for (Slot& slot : slots_) {
        if (slot.offset == block_offset) {
          slot.offset = kInvalidOffset;
          slot.dirty = false;
          slot.used = 0;
        }
      }
      reftable_[first + i] = 0;
    }
  }
  return Status::Ok();
}

// qcow2_alloc_clusters().
Result<uint64_t> Qcow2Allocator::AllocClusters(uint64_t bytes) {
  for (;;) {
    INSTAR_ASSIGN_OR_RETURN(const uint64_t offset, AllocClustersNoref(bytes));
    bool again = false;
    INSTAR_RETURN_IF_ERROR(UpdateRefcount(offset, bytes, false, &again));
    if (!again) return offset;
  }
}

Result<uint64_t> Qcow2Allocator::AllocBytes(uint64_t bytes) {
  if (bytes == 0 || bytes > cluster_size_) {
    return Status::InvalidArgument("qcow2: compressed data of no size or over a cluster");
  }
  uint64_t offset = free_byte_offset_;
  if (offset != 0) {
    // A cluster whose refcount cannot count one more user is left.
    INSTAR_ASSIGN_OR_RETURN(const uint64_t refcount, GetRefcount(offset >> cluster_bits_));
    if (refcount == refcount_max_) offset = 0;
  }
  uint64_t free_in_cluster = cluster_size_ - (offset & (cluster_size_ - 1));
  for (;;) {
    if (offset == 0 || free_in_cluster < bytes) {
      INSTAR_ASSIGN_OR_RETURN(const uint64_t cluster, AllocClustersNoref(cluster_size_));
      if (cluster == 0) {
        return Status::Corruption("qcow2: compressed cluster allocated at offset 0");
      }
      if (offset == 0 || DivRoundUp(offset, cluster_size_) * cluster_size_ != cluster) {
        offset = cluster;
        free_in_cluster = cluster_size_;
      } else {
        free_in_cluster += cluster_size_;  // the data runs on into `cluster`
      }
    }
    bool again = false;
    INSTAR_RETURN_IF_ERROR(UpdateRefcount(offset, bytes, false, &again));
    if (!again) break;
    // A refcount block took a cluster: qemu starts over in a new cluster.
    offset = 0;
  }
  free_byte_offset_ = (offset + bytes) & (cluster_size_ - 1) ? offset + bytes : 0;
  return offset;
}

// qcow2_alloc_clusters_at(): how many of `count` clusters from `offset`
// were free and are now allocated.
Result<uint64_t> Qcow2Allocator::AllocClustersAt(uint64_t offset, uint64_t count) {
  if (count == 0) return uint64_t{0};
  for (;;) {
    uint64_t free = 0;
    for (; free < count; ++free) {
      INSTAR_ASSIGN_OR_RETURN(const uint64_t refcount,
                              GetRefcount((offset >> cluster_bits_) + free));
      if (refcount != 0) break;
    }
    bool again = false;
    INSTAR_RETURN_IF_ERROR(UpdateRefcount(offset, free << cluster_bits_, false, &again));
    if (!again) return free;
  }
}

// qcow2_refcount_area(): new refcount structures from `start_offset` (the
// end of the image) covering themselves and `additional_clusters` beyond;
// returns where those may go.
Result<uint64_t> Qcow2Allocator::RefcountArea(uint64_t start_offset, uint64_t additional_clusters,
                                              bool exact_size, uint64_t new_refblock_index,
                                              uint64_t new_refblock_offset) {
  uint64_t total = 0;
  INSTAR_RETURN_IF_ERROR(
      Qcow2RefcountMetadataSize(start_offset / cluster_size_ + additional_clusters, cluster_size_,
                                1u << refcount_order_, !exact_size, &total)
          .status());
  if (total > kQemuMaxReftable) return Status::OutOfRange("qcow2 refcount table too large");
  const uint64_t area_index = (start_offset / cluster_size_) >> refcount_block_bits_;
  uint64_t table_size = exact_size ? total : total + DivRoundUp(total, 2);
  table_size = AlignUp(table_size, cluster_size_ / 8);
  const uint64_t table_clusters = table_size * 8 / cluster_size_;
  if (table_size > kQemuMaxReftable) return Status::OutOfRange("qcow2 refcount table too large");
  if (table_size > reftable_capacity_) {
    return Status::NotSupported("qcow2 refcount table larger than instar holds");
  }
  // The new table takes the old one's entries (the array is reused: what
  // lies past the old table is zero, and the old table stays on disk).
  for (uint64_t i = table_size; i < reftable_size_; ++i) reftable_[i] = 0;
  for (uint64_t i = reftable_size_; i < table_size; ++i) reftable_[i] = 0;
  if (new_refblock_offset != 0) reftable_[new_refblock_index] = new_refblock_offset;

  uint64_t additional_blocks = 0;
  for (uint64_t i = area_index; i < total; ++i) {
    if (reftable_[i] == 0) ++additional_blocks;
  }
  const uint64_t table_offset = start_offset + additional_blocks * cluster_size_;
  const uint64_t end_offset = table_offset + table_clusters * cluster_size_;
  uint64_t block_offset = start_offset;
  const uint64_t block_size = uint64_t{1} << refcount_block_bits_;
  for (uint64_t i = area_index; i < total; ++i) {
    uint8_t* block;
    if (reftable_[i] != 0) {
      INSTAR_ASSIGN_OR_RETURN(block, LoadBlock(reftable_[i], false));
    } else {
      INSTAR_ASSIGN_OR_RETURN(block, LoadBlock(block_offset, true));
      reftable_[i] = block_offset;
      block_offset += cluster_size_;
    }
    const uint64_t first_covered = i * block_size * cluster_size_;
    if (first_covered < end_offset) {
      uint64_t j =
          first_covered < start_offset ? (start_offset - first_covered) / cluster_size_ : 0;
      const uint64_t end_index = (end_offset - first_covered) / cluster_size_ < block_size
                                     ? (end_offset - first_covered) / cluster_size_
                                     : block_size;
      for (; j < end_index; ++j) {
        if (GetEntry(block, j) != 0) return Status::Corruption("qcow2: refcount area in use");
        SetEntry(block, j, 1);
      }
      MarkDirty(block);
    }
  }
  INSTAR_RETURN_IF_ERROR(FlushBlocks());
  INSTAR_RETURN_IF_ERROR(WriteTable(table_offset, table_size));

  const uint64_t old_offset = reftable_offset_;
  const uint64_t old_size = reftable_size_;
  reftable_size_ = table_size;
  reftable_offset_ = table_offset;
  max_reftable_index_ = 0;
  for (uint64_t i = 0; i < table_size; ++i) {
    if (reftable_[i] != 0) max_reftable_index_ = i;
  }
  bool again = false;
  INSTAR_RETURN_IF_ERROR(UpdateRefcount(old_offset, old_size * 8, true, &again));
  return end_offset;
}

// qcow2_get_last_cluster(): the last cluster below `file_size` with a
// non-zero refcount.
Result<uint64_t> Qcow2Allocator::LastCluster(uint64_t file_size) {
  for (uint64_t i = DivRoundUp(file_size, cluster_size_); i-- > 0;) {
    INSTAR_ASSIGN_OR_RETURN(const uint64_t refcount, GetRefcount(i));
    if (refcount > 0) return i;
  }
  return Status::Corruption("qcow2: no cluster in use");
}

// Writes the cached refcount blocks that changed.
Status Qcow2Allocator::FlushBlocks() {
  for (Slot& slot : slots_) {
    if (slot.dirty) {
      INSTAR_RETURN_IF_ERROR(device_.Write(slot.offset, slot.data, cluster_size_));
      slot.dirty = false;
    }
  }
  return Status::Ok();
}

uint64_t Qcow2Allocator::GetEntry(const uint8_t* block, uint64_t index) const {
  switch (refcount_order_) {
    case 0:
    case 1:
    case 2: {
      const uint32_t width = 1u << refcount_order_;
      const uint64_t bit = index * width;
      return (block[bit / 8] >> (bit % 8)) & ((1u << width) - 1);
    }
    case 3:
      return block[index];
    case 4:
      return LoadBE16(block + index * 2);
    case 5:
      return LoadBE32(block + index * 4);
    default:
      return LoadBE64(block + index * 8);
  }
}

void Qcow2Allocator::SetEntry(uint8_t* block, uint64_t index, uint64_t value) {
  switch (refcount_order_) {
    case 0:
    case 1:
    case 2: {
      const uint32_t width = 1u << refcount_order_;
      const uint64_t bit = index * width;
      const uint32_t mask = ((1u << width) - 1) << (bit % 8);
      block[bit / 8] = static_cast<uint8_t>((block[bit / 8] & ~mask) |
                                            ((static_cast<uint32_t>(value) << (bit % 8)) & mask));
      break;
    }
    case 3:
      block[index] = static_cast<uint8_t>(value);
      break;
    case 4:
      StoreBE16(block + index * 2, static_cast<uint16_t>(value));
      break;
    case 5:
      StoreBE32(block + index * 4, static_cast<uint32_t>(value));
      break;
    default:
      StoreBE64(block + index * 8, value);
      break;
  }
}

void Qcow2Allocator::MarkDirty(uint8_t* block) {
  for (Slot& slot : slots_) {
    if (slot.data == block) slot.dirty = true;
  }
}

// The refcount block at `offset`, read from the device or, for a block
// qemu creates (qcow2_cache_get_empty()), zeroed.
Result<uint8_t*> Qcow2Allocator::LoadBlock(uint64_t offset, bool empty) {
  ++clock_;
  for (Slot& slot : slots_) {
    if (slot.offset == offset) {
      slot.used = clock_;
      if (empty) {
        for (uint64_t i = 0; i < cluster_size_; ++i) slot.data[i] = 0;
        slot.dirty = true;
      }
      return slot.data;
    }
  }
  Slot& victim = slots_[0].used <= slots_[1].used ? slots_[0] : slots_[1];
  if (victim.dirty) {
    INSTAR_RETURN_IF_ERROR(device_.Write(victim.offset, victim.data, cluster_size_));
    victim.dirty = false;
  }
  victim.offset = offset;
  victim.used = clock_;
  if (empty) {
    for (uint64_t i = 0; i < cluster_size_; ++i) victim.data[i] = 0;
    victim.dirty = true;
  } else {
    INSTAR_RETURN_IF_ERROR(device_.Read(offset, victim.data, cluster_size_));
  }
  return victim.data;
}

// The refcount block offset for cluster `index`, 0 when it has none.
uint64_t Qcow2Allocator::BlockFor(uint64_t index) const {
  const uint64_t table_index = index >> refcount_block_bits_;
  if (table_index >= reftable_size_) return 0;
  return reftable_[table_index] & kReftableOffsetMask;
}

// qcow2_get_refcount().
Result<uint64_t> Qcow2Allocator::GetRefcount(uint64_t index) {
  const uint64_t block_offset = BlockFor(index);
  if (block_offset == 0) return uint64_t{0};
  INSTAR_ASSIGN_OR_RETURN(const uint8_t* block, LoadBlock(block_offset, false));
  return GetEntry(block, index & ((uint64_t{1} << refcount_block_bits_) - 1));
}

// alloc_clusters_noref(): the first run of free clusters from
// free_cluster_index, which it leaves past the run. A cluster under no
// refcount block is free, so a missing block is skipped whole.
Result<uint64_t> Qcow2Allocator::AllocClustersNoref(uint64_t bytes) {
  const uint64_t count = DivRoundUp(bytes, cluster_size_);
  const uint64_t block_size = uint64_t{1} << refcount_block_bits_;
  uint64_t found = 0;
  while (found < count) {
    const uint64_t index = free_cluster_index_;
    if (index > (kInt64Max >> cluster_bits_)) return Status::OutOfRange("qcow2 image too large");
    if (BlockFor(index) == 0) {
      const uint64_t block_end = (index | (block_size - 1)) + 1;
      const uint64_t take = block_end - index < count - found ? block_end - index : count - found;
      free_cluster_index_ += take;
      found += take;
      continue;
    }
    ++free_cluster_index_;
    INSTAR_ASSIGN_OR_RETURN(const uint64_t refcount, GetRefcount(index));
    found = refcount != 0 ? 0 : found + 1;
  }
  if (free_cluster_index_ > 0 && free_cluster_index_ - 1 > (kInt64Max >> cluster_bits_)) {
    return Status::OutOfRange("qcow2 image too large");
  }
  return (free_cluster_index_ - count) << cluster_bits_;
}

// update_refcount() by one. `*again` is qemu's -EAGAIN: a refcount block
// was allocated, perhaps where the caller meant to put its clusters.
Status Qcow2Allocator::UpdateRefcount(uint64_t offset, uint64_t length, bool decrease,
                                      bool* again) {
  *again = false;
  if (length == 0) return Status::Ok();
  const uint64_t start = offset & ~(cluster_size_ - 1);
  const uint64_t last = (offset + length - 1) & ~(cluster_size_ - 1);
  uint64_t old_table_index = kInvalidOffset;
  uint8_t* block = nullptr;
  uint64_t block_offset = 0;
  for (uint64_t cluster = start; cluster <= last; cluster += cluster_size_) {
    const uint64_t index = cluster >> cluster_bits_;
    const uint64_t table_index = index >> refcount_block_bits_;
    if (table_index != old_table_index) {
      INSTAR_RETURN_IF_ERROR(AllocRefcountBlock(index, &block_offset, again));
      if (*again) {
        if (free_cluster_index_ > (start >> cluster_bits_)) {
          free_cluster_index_ = start >> cluster_bits_;
        }
        // qemu undoes what it counted so far, then the caller retries.
        bool ignored = false;
        return UpdateRefcount(offset, cluster - offset, !decrease, &ignored);
      }
    }
    old_table_index = table_index;
    INSTAR_ASSIGN_OR_RETURN(block, LoadBlock(block_offset, false));
    const uint64_t entry = index & ((uint64_t{1} << refcount_block_bits_) - 1);
    uint64_t refcount = GetEntry(block, entry);
    if (decrease ? refcount == 0 : refcount >= refcount_max_) {
      return Status::Corruption("qcow2: refcount out of range");
    }
    refcount = decrease ? refcount - 1 : refcount + 1;
    if (refcount == 0 && index < free_cluster_index_) free_cluster_index_ = index;
    SetEntry(block, entry, refcount);
    MarkDirty(block);
  }
  return Status::Ok();
}

// alloc_refcount_block(): the block counting cluster `index`, allocated
// (and the table grown) when there is none.
Status Qcow2Allocator::AllocRefcountBlock(uint64_t index, uint64_t* block_offset, bool* again) {
  *again = false;
  const uint64_t table_index = index >> refcount_block_bits_;
  if (table_index < reftable_size_ && (reftable_[table_index] & kReftableOffsetMask) != 0) {
    *block_offset = reftable_[table_index] & kReftableOffsetMask;
    return Status::Ok();
  }
  INSTAR_ASSIGN_OR_RETURN(const uint64_t new_block, AllocClustersNoref(cluster_size_));
  if (new_block == 0) return Status::Corruption("qcow2: refcount block at offset 0");
  const uint32_t span = cluster_bits_ + refcount_block_bits_;
  if ((new_block >> span) == ((index << cluster_bits_) >> span)) {
    // The block describes itself.
    INSTAR_ASSIGN_OR_RETURN(uint8_t * block, LoadBlock(new_block, true));
    SetEntry(block, (new_block >> cluster_bits_) & ((uint64_t{1} << refcount_block_bits_) - 1), 1);
  } else {
    bool inner_again = false;
    INSTAR_RETURN_IF_ERROR(UpdateRefcount(new_block, cluster_size_, false, &inner_again));
    if (inner_again) {
      *again = true;
      return Status::Ok();
    }
    INSTAR_RETURN_IF_ERROR(LoadBlock(new_block, true).status());
  }
  INSTAR_RETURN_IF_ERROR(FlushBlocks());

  if (table_index < reftable_size_) {
    uint8_t entry[8];
    StoreBE64(entry, new_block);
    INSTAR_RETURN_IF_ERROR(device_.Write(reftable_offset_ + table_index * 8, entry, 8));
    reftable_[table_index] = new_block;
    if (table_index > max_reftable_index_) max_reftable_index_ = table_index;
    *again = true;
    return Status::Ok();
  }

  // The table must grow: new self-describing blocks and table past
  // everything counted so far, the new block hooked in.
  const uint64_t last_used = (index + 1) > ((new_block >> cluster_bits_) + 1)
                                 ? index + 1
                                 : (new_block >> cluster_bits_) + 1;
  const uint64_t block_size = uint64_t{1} << refcount_block_bits_;
  const uint64_t blocks_used = DivRoundUp(last_used, block_size);
  INSTAR_RETURN_IF_ERROR(
      RefcountArea(blocks_used * block_size * cluster_size_, 0, false, table_index, new_block)
          .status());
  *again = true;
  return Status::Ok();
}

// The first `entries` of the table, big-endian, at `offset`.
Status Qcow2Allocator::WriteTable(uint64_t offset, uint64_t entries) {
  const uint64_t per_chunk = cluster_size_ / 8;
  for (uint64_t first = 0; first < entries; first += per_chunk) {
    const uint64_t n = entries - first < per_chunk ? entries - first : per_chunk;
    for (uint64_t i = 0; i < n; ++i) StoreBE64(scratch_ + i * 8, reftable_[first + i]);
    INSTAR_RETURN_IF_ERROR(device_.Write(offset + first * 8, scratch_, n * 8));
  }
  return Status::Ok();
}

}  // namespace instar::qcow2_internal
