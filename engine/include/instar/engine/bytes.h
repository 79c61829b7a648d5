// Byte-order loads and checked integer arithmetic.
//
// Every integer read from an image goes through a Load* function and, before
// it takes part in any size or offset computation, through the Checked*
// helpers below, which report overflow instead of wrapping. Image formats mix
// endianness (qcow2 and vpc are big endian, vmdk and vhdx little endian), so
// the byte order is always spelled out at the call site.
#ifndef INSTAR_ENGINE_BYTES_H_
#define INSTAR_ENGINE_BYTES_H_

#include <cstddef>
#include <cstdint>

namespace instar {

inline uint16_t LoadBE16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t LoadBE32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
inline uint64_t LoadBE64(const uint8_t* p) {
  return (uint64_t{LoadBE32(p)} << 32) | LoadBE32(p + 4);
}
inline uint16_t LoadLE16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
inline uint32_t LoadLE32(const uint8_t* p) {
  return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}
inline uint64_t LoadLE64(const uint8_t* p) {
  return uint64_t{LoadLE32(p)} | (uint64_t{LoadLE32(p + 4)} << 32);
}

inline void StoreBE16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void StoreBE32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}
inline void StoreBE64(uint8_t* p, uint64_t v) {
  StoreBE32(p, static_cast<uint32_t>(v >> 32));
  StoreBE32(p + 4, static_cast<uint32_t>(v));
}
inline void StoreLE16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}
inline void StoreLE32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline void StoreLE64(uint8_t* p, uint64_t v) {
  StoreLE32(p, static_cast<uint32_t>(v));
  StoreLE32(p + 4, static_cast<uint32_t>(v >> 32));
}

// Checked arithmetic: each returns false (leaving *out unspecified) when the
// exact result does not fit in uint64_t.
[[nodiscard]] inline bool CheckedAdd(uint64_t a, uint64_t b, uint64_t* out) {
  return !__builtin_add_overflow(a, b, out);
}
[[nodiscard]] inline bool CheckedMul(uint64_t a, uint64_t b, uint64_t* out) {
  return !__builtin_mul_overflow(a, b, out);
}
// Rounds `value` up to a multiple of `alignment` (a power of two).
[[nodiscard]] inline bool CheckedAlignUp(uint64_t value, uint64_t alignment, uint64_t* out) {
  uint64_t sum;
  if (!CheckedAdd(value, alignment - 1, &sum)) return false;
  *out = sum & ~(alignment - 1);
  return true;
}

constexpr bool IsPowerOfTwo(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }
constexpr uint64_t AlignDown(uint64_t value, uint64_t alignment) {
  return value & ~(alignment - 1);
}
// Unchecked round-up, for values already known to be far below UINT64_MAX.
constexpr uint64_t AlignUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) & ~(alignment - 1);
}
constexpr uint64_t DivRoundUp(uint64_t n, uint64_t d) { return n / d + (n % d != 0 ? 1 : 0); }
// Number of trailing zero bits; 64 for zero.
constexpr int CountTrailingZeros(uint64_t v) { return v == 0 ? 64 : __builtin_ctzll(v); }

// Byte helpers that do not depend on a C library (the guest has none).
// An empty range may come with a null pointer, which memcpy and its kin must
// never be given.
inline void CopyBytes(void* dst, const void* src, size_t n) {
  if (n != 0) __builtin_memcpy(dst, src, n);
}
inline void FillBytes(void* dst, uint8_t value, size_t n) {
  if (n != 0) __builtin_memset(dst, value, n);
}
inline bool BytesEqual(const void* a, const void* b, size_t n) {
  return n == 0 || __builtin_memcmp(a, b, n) == 0;
}
// Whether the NUL-terminated `cstring` is exactly text[0, length): never
// reads past the NUL of a shorter one.
inline bool CStringEquals(const char* cstring, const char* text, size_t length) {
  size_t i = 0;
  for (; i < length; ++i) {
    if (cstring[i] == '\0' || cstring[i] != text[i]) return false;
  }
  return cstring[i] == '\0';
}

inline bool IsAllZero(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != 0) return false;
  }
  return true;
}

// A non-owning view of bytes: what the engine passes around instead of
// std::span (which is not part of the freestanding library).
struct ByteView {
  const uint8_t* data = nullptr;
  size_t size = 0;
};

}  // namespace instar

#endif  // INSTAR_ENGINE_BYTES_H_
