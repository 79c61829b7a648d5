// Qcow2Allocator: qemu's qcow2 cluster allocator (block/qcow2-refcount.c),
// replayed so that what instar writes into a qcow2 image lands where qemu's
// would: the free-cluster search (alloc_clusters_noref(), from
// free_cluster_index), update_refcount(), alloc_refcount_block() and the
// refcount table growth of qcow2_refcount_area(), with the same writes in
// the same places. Private to engine/qcow2: create, resize, amend and the
// guest-data writer share it.
//
// The refcount table lives in memory (as in qemu), in an array the caller
// sizes (`reftable_capacity` entries; growing past it is a NotSupported
// Status); refcount blocks live on the device, at most two of them cached
// (written back when evicted or on FlushBlocks()). The header is the
// caller's: after a call that may move the refcount table, it writes
// reftable_offset() and reftable_clusters() into it.
#ifndef INSTAR_ENGINE_QCOW2_QCOW2_ALLOCATOR_H_
#define INSTAR_ENGINE_QCOW2_QCOW2_ALLOCATOR_H_

#include <cstdint>

#include "instar/engine/create.h"
#include "instar/engine/status.h"

namespace instar::qcow2_internal {

constexpr uint64_t kInvalidOffset = ~uint64_t{0};  // INV_OFFSET

class Qcow2Allocator {
 public:
  // `reftable`: room for `reftable_capacity` entries; `block_buffers`: two
  // clusters; `scratch`: one cluster. All outlive the allocator.
  Qcow2Allocator(WritableDevice& device, uint32_t cluster_bits, uint32_t refcount_order,
                 uint64_t* reftable, uint64_t reftable_capacity, uint8_t* block_buffers,
                 uint8_t* scratch);

  uint64_t reftable_offset() const { return reftable_offset_; }
  uint64_t reftable_clusters() const { return reftable_size_ * 8 / cluster_size_; }
  uint64_t reftable_size() const { return reftable_size_; }
  // Entry `index` (< reftable_size()) of the table in memory.
  uint64_t reftable_entry(uint64_t index) const { return reftable_[index]; }

  // The state qcow2_co_create() leaves after writing its minimal image
  // and allocating its first three clusters: the refcount table at C with
  // one block at 2C.
  Status Start();
  // qcow2_refcount_init() of an existing image: the table of `entries`
  // entries at `offset` read from the device, free_cluster_index 0.
  Status Load(uint64_t offset, uint64_t entries);

  // qcow2_alloc_clusters().
  Result<uint64_t> AllocClusters(uint64_t bytes);
  // qcow2_alloc_bytes(): `bytes` (1..cluster size) bytes of compressed
  // data, packed right after the previous ones (free_byte_offset) while
  // they fit in that cluster or run on into the next free cluster when
  // that one follows it; the refcount of every cluster the bytes touch is
  // raised by one.
  Result<uint64_t> AllocBytes(uint64_t bytes);
  // qcow2_alloc_clusters_at(): how many of `count` clusters from `offset`
  // were free and are now allocated.
  Result<uint64_t> AllocClustersAt(uint64_t offset, uint64_t count);
  // qcow2_free_clusters() (no discard passed down: qemu-img's defaults).
  Status FreeClusters(uint64_t offset, uint64_t bytes);
  // qcow2_update_cluster_refcount() by `delta` (+1 or -1) of one cluster.
  Status AddRefcount(uint64_t cluster_index, int delta);
  // qcow2_get_refcount().
  Result<uint64_t> GetRefcount(uint64_t index);

  // qcow2_refcount_area(): new refcount structures from `start_offset` (the
  // end of the image) covering themselves and `additional_clusters` beyond;
  // returns where those may go.
  Result<uint64_t> RefcountArea(uint64_t start_offset, uint64_t additional_clusters,
                                bool exact_size, uint64_t new_refblock_index,
                                uint64_t new_refblock_offset);
  // qcow2_get_last_cluster(): the last cluster below `file_size` with a
  // non-zero refcount.
  Result<uint64_t> LastCluster(uint64_t file_size);
  // qcow2_shrink_reftable(): the table rewritten in place without the
  // refcount blocks that count nothing but themselves, then each of those
  // discarded (qcow2_discard_refcount_block(): its refcount cleared in the
  // block covering it, the block dropped unwritten).
  Status ShrinkReftable();

  // Writes the cached refcount blocks that changed.
  Status FlushBlocks();

 private:
  struct Slot {
    uint64_t offset = kInvalidOffset;
    uint8_t* data = nullptr;
    bool dirty = false;
    uint64_t used = 0;
  };

  uint64_t GetEntry(const uint8_t* block, uint64_t index) const;
  void SetEntry(uint8_t* block, uint64_t index, uint64_t value);
  void MarkDirty(uint8_t* block);
  // The refcount block at `offset`, read from the device or, for a block
  // qemu creates (qcow2_cache_get_empty()), zeroed.
  Result<uint8_t*> LoadBlock(uint64_t offset, bool empty);
  // The refcount block offset for cluster `index`, 0 when it has none.
  uint64_t BlockFor(uint64_t index) const;
  // alloc_clusters_noref().
  Result<uint64_t> AllocClustersNoref(uint64_t bytes);
  // update_refcount() by one. `*again` is qemu's -EAGAIN.
  Status UpdateRefcount(uint64_t offset, uint64_t length, bool decrease, bool* again);
  // alloc_refcount_block().
  Status AllocRefcountBlock(uint64_t index, uint64_t* block_offset, bool* again);
  // The first `entries` of the table, big-endian, at `offset`.
  Status WriteTable(uint64_t offset, uint64_t entries);

  WritableDevice& device_;
  const uint32_t cluster_bits_;
  const uint64_t cluster_size_;
  const uint32_t refcount_order_;
  const uint32_t refcount_block_bits_;
  uint64_t refcount_max_ = 0;
  uint64_t* reftable_;
  const uint64_t reftable_capacity_;
  uint64_t reftable_size_ = 0;
  uint64_t reftable_offset_ = 0;
  uint64_t max_reftable_index_ = 0;
  uint64_t free_cluster_index_ = 0;
  uint64_t free_byte_offset_ = 0;  // where AllocBytes() packs next; 0: a new cluster
  Slot slots_[2];
  uint64_t clock_ = 0;
  uint8_t* scratch_;  // one cluster
};

}  // namespace instar::qcow2_internal

#endif  // INSTAR_ENGINE_QCOW2_QCOW2_ALLOCATOR_H_
