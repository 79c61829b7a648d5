// Qcow2TableCache: the reader's only window on qcow2 metadata.
//
// qemu loads the L1 and refcount tables whole and caches L2 tables and
// refcount blocks by the cluster. The engine instead caches fixed 4 KiB
// chunks of the image file, so a hostile header that declares a 32 MiB L1
// table or 2 MiB clusters costs no more memory than a small image: the cache
// is allocated once at open and never grows. Callers check a table's offset
// and extent (as qemu does before it reads) before reading through here.
#ifndef INSTAR_ENGINE_QCOW2_QCOW2_TABLE_CACHE_H_
#define INSTAR_ENGINE_QCOW2_QCOW2_TABLE_CACHE_H_

#include <cstddef>
#include <cstdint>

#include "instar/engine/arena.h"
#include "instar/engine/device.h"
#include "instar/engine/status.h"

namespace instar {

class Qcow2TableCache {
 public:
  static constexpr size_t kChunkBytes = 4096;
  static constexpr size_t kSlots = 16;

  // Allocates the cache from `arena`; null when the arena is exhausted.
  static Qcow2TableCache* Create(Arena& arena, BlockDevice& device);

  // Copies [offset, offset + length) of the file into `buffer`.
  Status Read(uint64_t offset, void* buffer, size_t length);
  // The big-endian 64-bit word at `offset` (8-byte aligned).
  Result<uint64_t> LoadBE64(uint64_t offset);
  // The byte at `offset`.
  Result<uint8_t> LoadByte(uint64_t offset);

  Qcow2TableCache(BlockDevice& device, uint8_t* storage) : device_(&device), storage_(storage) {}

 private:
  // The cached chunk holding `offset`, reading it on a miss.
  Result<const uint8_t*> Chunk(uint64_t offset);

  struct Slot {
    uint64_t offset = 0;
    uint64_t last_use = 0;
    bool valid = false;
  };

  BlockDevice* device_;
  uint8_t* storage_;  // kSlots * kChunkBytes
  Slot slots_[kSlots];
  uint64_t clock_ = 0;
};

}  // namespace instar

#endif  // INSTAR_ENGINE_QCOW2_QCOW2_TABLE_CACHE_H_
