// Arena: the engine's only source of memory.
//
// The caller hands in one buffer (a static array in the guest, a vector in
// the tests); the arena bumps a pointer through it and never frees. When it
// is exhausted, allocation returns nullptr and the caller turns that into
// Status::NoSpace. This bounds the memory any image can make the sandbox use,
// whatever its headers claim.
//
// Objects placed in the arena are never destroyed: engine types that live
// there must not need a destructor to release anything.
#ifndef INSTAR_ENGINE_ARENA_H_
#define INSTAR_ENGINE_ARENA_H_

#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>

namespace instar {

class Arena {
 public:
  Arena(void* buffer, size_t size)
      : base_(static_cast<uint8_t*>(buffer)), size_(size), used_(0), high_water_(0) {}

  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  // Returns `bytes` bytes aligned to `alignment` (a power of two), or nullptr.
  void* Allocate(size_t bytes, size_t alignment = alignof(std::max_align_t)) {
    const uintptr_t start = reinterpret_cast<uintptr_t>(base_) + used_;
    const uintptr_t aligned = (start + alignment - 1) & ~(uintptr_t{alignment} - 1);
    const size_t offset = static_cast<size_t>(aligned - reinterpret_cast<uintptr_t>(base_));
    if (offset > size_ || bytes > size_ - offset) return nullptr;
    used_ = offset + bytes;
    if (used_ > high_water_) high_water_ = used_;
    return base_ + offset;
  }

  // Constructs a T in the arena, or returns nullptr.
  template <typename T, typename... Args>
  T* New(Args&&... args) {
    void* p = Allocate(sizeof(T), alignof(T));
    return p != nullptr ? new (p) T(std::forward<Args>(args)...) : nullptr;
  }

  // An uninitialised array of `count` T (T trivially constructible), or nullptr.
  template <typename T>
  T* AllocateArray(size_t count) {
    // T may be a pointer type: an array of pointers is what is meant then.
    if (count > SIZE_MAX / sizeof(T)) return nullptr;  // NOLINT(bugprone-sizeof-expression)
    return static_cast<T*>(
        Allocate(count * sizeof(T), alignof(T)));  // NOLINT(bugprone-sizeof-expression)
  }

  // Marks and rewinds: memory allocated after Mark() is released by Reset().
  size_t Mark() const { return used_; }
  void Reset(size_t mark) {
    if (mark <= used_) used_ = mark;
  }

  size_t used() const { return used_; }
  size_t capacity() const { return size_; }
  size_t high_water() const { return high_water_; }

 private:
  uint8_t* base_;
  size_t size_;
  size_t used_;
  size_t high_water_;
};

}  // namespace instar

#endif  // INSTAR_ENGINE_ARENA_H_
