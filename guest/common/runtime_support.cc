// The few symbols a freestanding C++ program still needs: the mem*
// functions the compiler emits calls to (for struct copies and the
// __builtin_mem* of bytes.h) and the C++ ABI hooks for pure virtual calls.
// Linked into every guest program, never into host code.
#include <cstddef>
#include <cstdint>

extern "C" {

void* memcpy(void* dst, const void* src, size_t n);
void* memmove(void* dst, const void* src, size_t n);
void* memset(void* dst, int value, size_t n);
int memcmp(const void* a, const void* b, size_t n);
size_t strlen(const char* s);
[[noreturn]] void __cxa_pure_virtual();
[[noreturn]] void __cxa_deleted_virtual();

// GCC recognises these loops as memcpy/memset and would turn them into
// calls to themselves; the attribute keeps them plain loops.
#define INSTAR_NO_BUILTIN __attribute__((optimize("no-tree-loop-distribute-patterns"), used))

// The copies and fills are the string instructions: the guest is built
// without SSE (-mgeneral-regs-only), so a loop moves at most eight bytes a
// step, while `rep movsb` / `rep stosb` move whole cache lines on every
// x86-64 with ERMS (and correctly, if slower, on one without). convert moves
// each byte of a disk through here two or three times: as a byte loop this
// was most of its time.
INSTAR_NO_BUILTIN void* memcpy(void* dst, const void* src, size_t n) {
  void* d = dst;
  asm volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
  return dst;
}

// Forward as memcpy unless the destination starts inside the source, then
// backward a byte at a time (rare: the engine moves overlapping bytes only
// to shift a few of them).
INSTAR_NO_BUILTIN void* memmove(void* dst, const void* src, size_t n) {
  auto* d = static_cast<uint8_t*>(dst);
  auto* s = static_cast<const uint8_t*>(src);
  if (d <= s || d >= s + n) return memcpy(dst, src, n);
  for (size_t i = n; i > 0; --i) d[i - 1] = s[i - 1];
  return dst;
}

INSTAR_NO_BUILTIN void* memset(void* dst, int value, size_t n) {
  void* d = dst;
  asm volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(value) : "memory");
  return dst;
}

// Eight bytes a step while they are equal, then the first differing byte.
INSTAR_NO_BUILTIN int memcmp(const void* a, const void* b, size_t n) {
  auto* x = static_cast<const uint8_t*>(a);
  auto* y = static_cast<const uint8_t*>(b);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t u;
    uint64_t v;
    __builtin_memcpy(&u, x + i, 8);
    __builtin_memcpy(&v, y + i, 8);
    if (u != v) break;
  }
  for (; i < n; ++i) {
    if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
  }
  return 0;
}

INSTAR_NO_BUILTIN size_t strlen(const char* s) {
  size_t n = 0;
  while (s[n] != '\0') ++n;
  return n;
}

// A pure virtual call is a bug; stop with a fault the host reports as a
// guest crash rather than run on.
[[noreturn]] void __cxa_pure_virtual() { __builtin_trap(); }
[[noreturn]] void __cxa_deleted_virtual() { __builtin_trap(); }

}  // extern "C"

// Never called (nothing is deleted in the guest), but a class with a virtual
// destructor makes the compiler reference them.
void operator delete(void*) noexcept { __builtin_trap(); }
void operator delete(void*, size_t) noexcept { __builtin_trap(); }
