// Raw Linux x86-64 system calls for the helper, which has no C library.
// After seccomp strict mode only read, write, exit and rt_sigreturn are
// allowed; anything else kills the process.
#ifndef INSTAR_GUEST_RUNTIME_PROCESS_SYSCALLS_H_
#define INSTAR_GUEST_RUNTIME_PROCESS_SYSCALLS_H_

#include <cstddef>
#include <cstdint>

namespace instar::guest::sys {

constexpr long kRead = 0;
constexpr long kWrite = 1;
constexpr long kExit = 60;  // not exit_group (231), which strict mode forbids
constexpr long kMmap = 9;
constexpr long kClose = 3;
constexpr long kPrctl = 157;

constexpr long kProtRead = 1;
constexpr long kProtWrite = 2;
constexpr long kMapShared = 1;

constexpr long kPrSetSeccomp = 22;
constexpr long kSeccompModeStrict = 1;
constexpr long kPrSetNoNewPrivs = 38;

constexpr long kEintr = 4;
constexpr long kEbadf = 9;

inline long Syscall1(long n, long a) {
  long ret;
  asm volatile("syscall" : "=a"(ret) : "a"(n), "D"(a) : "rcx", "r11", "memory");
  return ret;
}

inline long Syscall3(long n, long a, long b, long c) {
  long ret;
  asm volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
  return ret;
}

inline long Syscall5(long n, long a, long b, long c, long d, long e) {
  long ret;
  register long r10 asm("r10") = d;
  register long r8 asm("r8") = e;
  asm volatile("syscall"
               : "=a"(ret)
               : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
               : "rcx", "r11", "memory");
  return ret;
}

inline long Syscall6(long n, long a, long b, long c, long d, long e, long f) {
  long ret;
  register long r10 asm("r10") = d;
  register long r8 asm("r8") = e;
  register long r9 asm("r9") = f;
  asm volatile("syscall"
               : "=a"(ret)
               : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
               : "rcx", "r11", "memory");
  return ret;
}

// mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0): the
// address, or a negative errno.
inline long MapShared(int fd, size_t length) {
  return Syscall6(kMmap, 0, static_cast<long>(length), kProtRead | kProtWrite, kMapShared, fd, 0);
}

inline long Close(int fd) { return Syscall1(kClose, fd); }

inline long Read(int fd, void* buffer, size_t length) {
  return Syscall3(kRead, fd, reinterpret_cast<long>(buffer), static_cast<long>(length));
}

inline long Write(int fd, const void* buffer, size_t length) {
  return Syscall3(kWrite, fd, reinterpret_cast<long>(buffer), static_cast<long>(length));
}

[[noreturn]] inline void Exit(int status) {
  for (;;) Syscall1(kExit, status);
}

inline long Prctl(long option, long arg2) { return Syscall5(kPrctl, option, arg2, 0, 0, 0); }

// Reads or writes exactly `length` bytes; false on EOF or error.
bool ReadFull(int fd, void* buffer, size_t length);
bool WriteFull(int fd, const void* buffer, size_t length);

}  // namespace instar::guest::sys

#endif  // INSTAR_GUEST_RUNTIME_PROCESS_SYSCALLS_H_
