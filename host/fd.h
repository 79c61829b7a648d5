// Fd: an owned file descriptor, for the host programs.
//
// host/ holds what `instar` (vmm/) and `instar-harness` (harness/) both
// need from the operating system and neither owns: small header-only
// pieces of POSIX, with no code of either program in them, so that
// including one drags neither program into the other. Never engine/ or
// guest/, which make no system calls.
//
// An Fd closes what it holds when it goes (the RAII wrapper STYLE.md asks
// for instead of goto ladders); Release() hands the descriptor on, for a
// caller that must see close()'s own error (an atomic write) or that gives
// the descriptor to another owner.
#ifndef INSTAR_HOST_FD_H_
#define INSTAR_HOST_FD_H_

#include <fcntl.h>
#include <unistd.h>

namespace instar::host {

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& other) noexcept : fd_(other.Release()) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) Reset(other.Release());
    return *this;
  }
  ~Fd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

  // Closes what it holds and holds `fd` instead (-1: nothing).
  void Reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  // Gives up the descriptor without closing it.
  int Release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

// A pipe with both ends close-on-exec, so no child started meanwhile (by
// another thread) inherits them; a child that should have an end gets it
// through dup2, which clears the flag on the copy. False, with errno set,
// when the pipe cannot be made.
inline bool MakePipe(Fd* read_end, Fd* write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return false;
  read_end->Reset(fds[0]);
  write_end->Reset(fds[1]);
  return true;
}

}  // namespace instar::host

#endif  // INSTAR_HOST_FD_H_
