// TableCache: the one window every format reader has on its metadata tables
// (qcow2's L1, L2 and refcount tables, vmdk's grain directories and tables,
// the vpc and vhdx BATs).
//
// qemu loads some tables whole (qcow2's L1, the vpc and vhdx BATs) and caches
// others by the cluster. The engine instead caches fixed 4 KiB chunks of the
// files that hold them, in a number of slots fixed when the cache is made,
// and replaces the least recently used chunk first. A hostile header that
// declares a 32 MiB table or 2 MiB clusters so costs no more memory than a
// small image: the cache is allocated once from the arena and never grows.
//
// A chunk is keyed by its device and its file offset, so one cache serves
// every file of an image (a vmdk's extents). Reads go to the device whole
// chunks at a time, past the end of a table too, and bytes past EOF read as
// zeros (BlockDevice's contract). Callers check a table's offset and extent
// (as qemu does before it reads) before they read through here; the cache
// checks only that a range does not wrap past 2^64.
#ifndef INSTAR_ENGINE_CORE_TABLE_CACHE_H_
#define INSTAR_ENGINE_CORE_TABLE_CACHE_H_

#include <cstddef>
#include <cstdint>

#include "instar/engine/arena.h"
#include "instar/engine/device.h"
#include "instar/engine/status.h"

namespace instar {

class TableCache {
 public:
  static constexpr size_t kChunkBytes = 4096;

  // A cache of `slots` (at least 1) chunks allocated from `arena`; null when
  // the arena is exhausted.
  static TableCache* Create(Arena& arena, size_t slots);

  // Copies [offset, offset + length) of `device` into `buffer`.
  Status Read(BlockDevice& device, uint64_t offset, void* buffer, size_t length);

  // The integer at `offset` of `device`, in the byte order named. An entry
  // may straddle two chunks.
  Result<uint8_t> LoadByte(BlockDevice& device, uint64_t offset);
  Result<uint32_t> LoadBE32(BlockDevice& device, uint64_t offset);
  Result<uint64_t> LoadBE64(BlockDevice& device, uint64_t offset);
  Result<uint32_t> LoadLE32(BlockDevice& device, uint64_t offset);
  Result<uint64_t> LoadLE64(BlockDevice& device, uint64_t offset);

 private:
  struct Slot {
    const BlockDevice* device = nullptr;  // null: the slot is empty
    uint64_t offset = 0;
    uint64_t last_use = 0;
  };

  TableCache(Slot* slots, size_t slot_count, uint8_t* storage)
      : slots_(slots), slot_count_(slot_count), storage_(storage) {}
  friend class Arena;  // Arena::New constructs it

  // The cached chunk of `device` holding `offset`, read on a miss into the
  // least recently used slot.
  Result<const uint8_t*> Chunk(BlockDevice& device, uint64_t offset);

  Slot* slots_;
  size_t slot_count_;
  uint8_t* storage_;  // slot_count_ * kChunkBytes
  uint64_t clock_ = 0;
};

}  // namespace instar

#endif  // INSTAR_ENGINE_CORE_TABLE_CACHE_H_
