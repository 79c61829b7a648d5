#include "qcow2/qcow2_table_cache.h"

#include "instar/engine/bytes.h"

namespace instar {

Qcow2TableCache* Qcow2TableCache::Create(Arena& arena, BlockDevice& device) {
  uint8_t* storage = arena.AllocateArray<uint8_t>(kSlots * kChunkBytes);
  if (storage == nullptr) return nullptr;
  return arena.New<Qcow2TableCache>(device, storage);
}

Result<const uint8_t*> Qcow2TableCache::Chunk(uint64_t offset) {
  const uint64_t base = AlignDown(offset, kChunkBytes);
  size_t victim = 0;
  for (size_t i = 0; i < kSlots; ++i) {
    if (slots_[i].valid && slots_[i].offset == base) {
      slots_[i].last_use = ++clock_;
      return static_cast<const uint8_t*>(storage_ + i * kChunkBytes);
    }
    if (!slots_[i].valid) {
      victim = i;
    } else if (slots_[victim].valid && slots_[i].last_use < slots_[victim].last_use) {
      victim = i;
    }
  }
  Slot& slot = slots_[victim];
  slot.valid = false;
  INSTAR_RETURN_IF_ERROR(device_->Read(base, storage_ + victim * kChunkBytes, kChunkBytes));
  slot.offset = base;
  slot.valid = true;
  slot.last_use = ++clock_;
  return static_cast<const uint8_t*>(storage_ + victim * kChunkBytes);
}

Status Qcow2TableCache::Read(uint64_t offset, void* buffer, size_t length) {
  uint8_t* out = static_cast<uint8_t*>(buffer);
  while (length > 0) {
    INSTAR_ASSIGN_OR_RETURN(const uint8_t* chunk, Chunk(offset));
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

Result<uint64_t> Qcow2TableCache::LoadBE64(uint64_t offset) {
  INSTAR_ASSIGN_OR_RETURN(const uint8_t* chunk, Chunk(offset));
  return instar::LoadBE64(chunk + offset % kChunkBytes);
}

Result<uint8_t> Qcow2TableCache::LoadByte(uint64_t offset) {
  INSTAR_ASSIGN_OR_RETURN(const uint8_t* chunk, Chunk(offset));
  return chunk[offset % kChunkBytes];
}

}  // namespace instar
