// Qcow2InPlace: an existing qcow2 image open for change where it lies, as
// qemu's driver holds it once bdrv_open() has read it (the refcount table in
// memory, free_cluster_index 0, the L1 table and the header fields), for the
// hooks that change an image in place: resize (qcow2_resize.cc) and amend
// (qcow2_amend.cc). Private to engine/qcow2.
//
// Everything it writes goes through the device, in qemu's places; only the
// final bytes matter, so tables qemu keeps in its caches are written when
// they are done. The header fields qemu patches on the way (l1_size and
// l1_table_offset, refcount_table_offset and _clusters, size) are written
// by WriteHeaderFields(), which the hooks call last.
//
// Memory is bounded by the image's metadata: the refcount table (sized up
// front for the clusters the change can add, refused past 8 MiB of
// entries), two refcount blocks, one L2 table and a scratch cluster. The L1
// table is read and written on the device, entry by entry.
#ifndef INSTAR_ENGINE_QCOW2_QCOW2_IN_PLACE_H_
#define INSTAR_ENGINE_QCOW2_QCOW2_IN_PLACE_H_

#include <cstdint>

#include "instar/engine/arena.h"
#include "instar/engine/create.h"
#include "instar/engine/qcow2.h"
#include "instar/engine/status.h"
#include "qcow2/qcow2_allocator.h"

namespace instar::qcow2_internal {

// The header fields a change in place moves, as qemu holds them in
// BDRVQcow2State: what the reader parsed, or what an earlier step of the
// same amend left.
struct Qcow2LiveFields {
  uint64_t size = 0;
  uint64_t l1_size = 0;
  uint64_t l1_offset = 0;
  uint64_t reftable_offset = 0;
  uint64_t reftable_clusters = 0;
  uint32_t refcount_order = 4;
};

// The fields as the reader parsed them from the header.
Qcow2LiveFields LiveFieldsOf(const Qcow2Image& image);

class Qcow2InPlace {
 public:
  Qcow2InPlace(Qcow2Image& image, WritableDevice& device);
  Qcow2InPlace(const Qcow2InPlace&) = delete;
  Qcow2InPlace& operator=(const Qcow2InPlace&) = delete;

  // Takes its buffers from `arena` (the caller rewinds it) and reads the
  // refcount table, with room for `growth_clusters` more clusters. The
  // header fields are `live`'s.
  Status Open(Arena& arena, uint64_t growth_clusters, const Qcow2LiveFields& live);
  // The header fields as they stand now.
  Qcow2LiveFields live() const;

  Qcow2Allocator& allocator() { return *allocator_; }
  WritableDevice& device() { return device_; }
  const Qcow2Image& image() const { return image_; }
  uint32_t cluster_bits() const { return cluster_bits_; }
  uint64_t cluster_size() const { return cluster_size_; }
  uint64_t l2_entries() const { return l2_entries_; }
  bool extended_l2() const { return l2_entry_size_ == 16; }
  uint64_t size() const { return size_; }
  uint64_t l1_size() const { return l1_size_; }
  uint64_t l1_offset() const { return l1_offset_; }
  uint8_t* scratch() { return scratch_; }

  // size_to_l1(): the L1 entries a disk of `size` bytes needs.
  uint64_t L1EntriesFor(uint64_t size) const;

  // qcow2_grow_l1_table(exact_size): a new table of `min_size` entries
  // where the allocator puts it, the old entries copied, the header's L1
  // fields written, the old table freed. Nothing when it is big enough.
  Status GrowL1(uint64_t min_size);
  // qcow2_shrink_l1_table(): entries from `new_size` on zeroed and the L2
  // tables they name freed; the table keeps its size.
  Status ShrinkL1(uint64_t new_size);
  // qcow2_cluster_discard(full_discard) of [offset, offset + bytes),
  // cluster-aligned: the L2 entries cleared, the clusters freed.
  Status DiscardClusters(uint64_t offset, uint64_t bytes);
  // preallocate_co() of [from, to): L2 tables and data clusters as
  // qcow2_alloc_host_offset() finds them, the file extended to the last.
  Status PreallocateMetadata(uint64_t from, uint64_t to);
  // The falloc/full branch of qcow2_co_truncate() from `from` to `to`.
  Status PreallocateData(uint64_t from, uint64_t to, bool full);
  // The file cut after the last cluster in use (qcow2_co_truncate()'s
  // shrink).
  Status TruncateToLastCluster();

  // Writes the open L2 table and the refcount blocks.
  Status Flush();
  // Records the new virtual size (written by WriteHeaderFields()).
  void set_size(uint64_t size) { size_ = size; }
  // Writes size, the L1 and the refcount table fields into the header.
  Status WriteHeaderFields();

 private:
  Status EnsureL2(uint64_t guest);
  Status FlushL2();
  Status FreeAnyCluster(uint64_t entry);
  Status AllocHostOffset(uint64_t offset, uint64_t* bytes, uint64_t* host_offset);
  void Link(uint64_t guest, uint64_t host, uint64_t count);
  Status WriteZeros(uint64_t offset, uint64_t length);

  Qcow2Image& image_;
  WritableDevice& device_;
  uint32_t cluster_bits_;
  uint64_t cluster_size_;
  uint64_t l2_entry_size_;
  uint64_t l2_entries_;
  uint64_t size_ = 0;
  uint64_t l1_size_ = 0;
  uint64_t l1_offset_ = 0;
  uint32_t refcount_order_ = 4;
  Qcow2Allocator* allocator_ = nullptr;
  uint8_t* scratch_ = nullptr;
  uint8_t* l2_buffer_ = nullptr;
  uint8_t* zeros_ = nullptr;
  bool l2_open_ = false;
  bool l2_dirty_ = false;
  uint64_t l2_index_ = 0;
  uint64_t l2_offset_ = 0;
};

}  // namespace instar::qcow2_internal

#endif  // INSTAR_ENGINE_QCOW2_QCOW2_IN_PLACE_H_
