#include "core/table_cache.h"

#include "instar/engine/bytes.h"

namespace instar {

TableCache* TableCache::Create(Arena& arena, size_t slots) {
  if (slots == 0 || slots > SIZE_MAX / kChunkBytes) return nullptr;
  Slot* slot_array = arena.AllocateArray<Slot>(slots);
  uint8_t* storage = arena.AllocateArray<uint8_t>(slots * kChunkBytes);
  if (slot_array == nullptr || storage == nullptr) return nullptr;
  for (size_t i = 0; i < slots; ++i) new (&slot_array[i]) Slot();
  return arena.New<TableCache>(slot_array, slots, storage);
}

Result<const uint8_t*> TableCache::Chunk(BlockDevice& device, uint64_t offset) {
  const uint64_t base = AlignDown(offset, kChunkBytes);
  size_t victim = 0;
  for (size_t i = 0; i < slot_count_; ++i) {
    Slot& slot = slots_[i];
    if (slot.device == &device && slot.offset == base) {
      slot.last_use = ++clock_;
      return static_cast<const uint8_t*>(storage_ + i * kChunkBytes);
    }
    // Empty slots have last_use 0, so they go before any chunk.
    if (slot.last_use < slots_[victim].last_use) victim = i;
  }
  Slot& slot = slots_[victim];
  uint8_t* chunk = storage_ + victim * kChunkBytes;
  // Empty until the read succeeds: a failed read leaves no half-filled chunk.
  slot = Slot();
  INSTAR_RETURN_IF_ERROR(device.Read(base, chunk, kChunkBytes));
  slot.device = &device;
  slot.offset = base;
  slot.last_use = ++clock_;
  return static_cast<const uint8_t*>(chunk);
}

Status TableCache::Read(BlockDevice& device, uint64_t offset, void* buffer, size_t length) {
  uint64_t end;
  if (!CheckedAdd(offset, length, &end)) return Status::OutOfRange("table read wraps past 2^64");
  uint8_t* out = static_cast<uint8_t*>(buffer);
  while (length > 0) {
    INSTAR_ASSIGN_OR_RETURN(const uint8_t* chunk, Chunk(device, offset));
    const size_t in_chunk = static_cast<size_t>(offset % kChunkBytes);
    size_t n = kChunkBytes - in_chunk;
    if (n > length) n = length;
    CopyBytes(out, chunk + in_chunk, n);
    out += n;
    offset += n;
    length -= n;
  }
  return Status::Ok();
}

namespace {

// The sizeof(T) bytes at `offset`, decoded by `decode`.
template <typename T>
Result<T> LoadThrough(TableCache& cache, BlockDevice& device, uint64_t offset,
                      T (*decode)(const uint8_t*)) {
  uint8_t bytes[sizeof(T)];
  INSTAR_RETURN_IF_ERROR(cache.Read(device, offset, bytes, sizeof(bytes)));
  return decode(bytes);
}

uint8_t LoadU8(const uint8_t* p) { return *p; }

}  // namespace

Result<uint8_t> TableCache::LoadByte(BlockDevice& device, uint64_t offset) {
  return LoadThrough(*this, device, offset, LoadU8);
}

Result<uint32_t> TableCache::LoadBE32(BlockDevice& device, uint64_t offset) {
  return LoadThrough(*this, device, offset, instar::LoadBE32);
}

Result<uint64_t> TableCache::LoadBE64(BlockDevice& device, uint64_t offset) {
  return LoadThrough(*this, device, offset, instar::LoadBE64);
}

Result<uint32_t> TableCache::LoadLE32(BlockDevice& device, uint64_t offset) {
  return LoadThrough(*this, device, offset, instar::LoadLE32);
}

Result<uint64_t> TableCache::LoadLE64(BlockDevice& device, uint64_t offset) {
  return LoadThrough(*this, device, offset, instar::LoadLE64);
}

}  // namespace instar
