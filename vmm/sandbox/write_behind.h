// WriteBehind: the writes to a new output done on a thread of their own,
// so the guest goes on reading and computing while the host writes, as
// qemu-img convert keeps writes in flight on its thread pool. Done in
// line, each 1 MiB buffered pwrite(2) (about 0.3 ms here) waited on the
// guest's next read and scan; behind it, convert's uncompressed copies
// took 10-15 % less (docs/instar.md).
//
// Post() copies the bytes (the guest may reuse its buffer as soon as it is
// answered) and queues the write; at most kSlots writes wait, done in the
// order they came, so the file sees the guest's writes in its order. A
// lent write (kWrite with abi::kCallLent) is queued without the copy: the
// thread writes the guest's memory itself, and the caller keeps that memory
// mapped and waits for the write (WaitFor its ticket) before the guest may
// change it again (CallHandler: before it answers the next call that is not a kRead). The copy
// of 1 MiB was 7 % of a kvm raw > qcow2 convert's samples, on the vCPU
// thread's path.
// Drain() waits until every queued write is done and returns the first
// error any of them met, which stays: a write that failed leaves the file
// broken for good. DeviceTable drains before anything else touches the
// output (a read, a size, a seek, a truncation, an allocation, a flush,
// the commit), so the guest sees the file as though each write were done
// when it was answered, and a failed write surfaces at the next call on the
// output or, failing that, at the commit.
//
// The thread is started, and has made its start-up system calls, before
// the host confinement (which allows neither a new thread nor those calls),
// and blocks every signal: termination signals and the kvm kick go to the
// threads that expect them.
#ifndef INSTAR_VMM_SANDBOX_WRITE_BEHIND_H_
#define INSTAR_VMM_SANDBOX_WRITE_BEHIND_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "instar/guest/abi.h"

namespace instar::vmm {

// pwrite(2) of all `length` bytes at `offset`, across short writes and
// EINTR; kIOError when the file refuses.
abi::CallError WriteAll(int fd, uint64_t offset, const uint8_t* data, uint64_t length);

class WriteBehind {
 public:
  static constexpr size_t kSlots = 2;

  WriteBehind();
  // Drains, then stops the thread.
  ~WriteBehind();
  WriteBehind(const WriteBehind&) = delete;
  WriteBehind& operator=(const WriteBehind&) = delete;

  // Queues the write of `length` bytes at `offset` of `fd`, after waiting
  // for a free slot: of a copy of `data`, or, when `lent`, of `data`
  // itself, which must stay mapped until WaitFor(*ticket) returns. The
  // error of an earlier write instead, when one failed (nothing queued).
  abi::CallError Post(int fd, uint64_t offset, const uint8_t* data, uint64_t length, bool lent,
                      uint64_t* ticket);
  // Waits until the write Post() numbered `ticket` is done (or skipped
  // after an earlier failure): its memory is no longer read.
  void WaitFor(uint64_t ticket);
  // Waits until every queued write is done: kOk, or the first error.
  abi::CallError Drain();

 private:
  struct Job {
    int fd = -1;
    uint64_t offset = 0;
    const uint8_t* data = nullptr;  // bytes.data(), or the lent memory
    uint64_t length = 0;
    std::vector<uint8_t> bytes;  // the copy, when not lent
  };

  void Loop();

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Job> queue_;                    // the front one is being written
  std::vector<std::vector<uint8_t>> spare_;  // buffers of finished jobs, reused
  uint64_t posted_ = 0;                      // writes queued so far: the last ticket
  uint64_t finished_ = 0;                    // writes done (or skipped) so far, in order
  abi::CallError error_ = abi::CallError::kOk;
  bool started_ = false;  // the thread runs: its start-up calls are done
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace instar::vmm

#endif  // INSTAR_VMM_SANDBOX_WRITE_BEHIND_H_
