#include "vmm/sandbox/write_behind.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstring>

namespace instar::vmm {

abi::CallError WriteAll(int fd, uint64_t offset, const uint8_t* data, uint64_t length) {
  uint64_t done = 0;
  while (done < length) {
    const ssize_t n = ::pwrite(fd, data + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return abi::CallError::kIOError;
    }
    if (n == 0) return abi::CallError::kIOError;
    done += static_cast<uint64_t>(n);
  }
  return abi::CallError::kOk;
}

WriteBehind::WriteBehind() {
  // The thread inherits a mask that blocks everything.
  sigset_t all;
  sigset_t saved;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &saved);
  thread_ = std::thread([this] { Loop(); });
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  // The C library's start of a thread makes system calls of its own
  // (set_robust_list, rseq) that the host confinement does not allow: wait
  // until they are behind it.
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [this] { return started_; });
}

WriteBehind::~WriteBehind() {
  (void)Drain();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

abi::CallError WriteBehind::Post(int fd, uint64_t offset, const uint8_t* data, uint64_t length,
                                 bool lent, uint64_t* ticket) {
  Job job;
  job.fd = fd;
  job.offset = offset;
  job.length = length;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [this] { return queue_.size() < kSlots || error_ != abi::CallError::kOk; });
    if (error_ != abi::CallError::kOk) return error_;
    if (!lent && !spare_.empty()) {
      job.bytes = std::move(spare_.back());
      spare_.pop_back();
    }
  }
  // Copied without the lock: only this thread posts, so the slot it waited
  // for stays free meanwhile.
  if (lent) {
    job.data = data;
  } else {
    job.bytes.assign(data, data + length);
    job.data = job.bytes.data();
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(std::move(job));
    *ticket = ++posted_;
  }
  changed_.notify_all();
  return abi::CallError::kOk;
}

void WriteBehind::WaitFor(uint64_t ticket) {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [this, ticket] { return finished_ >= ticket; });
}

abi::CallError WriteBehind::Drain() {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [this] { return queue_.empty(); });
  return error_;
}

void WriteBehind::Loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  started_ = true;
  changed_.notify_all();
  for (;;) {
    changed_.wait(lock, [this] { return !queue_.empty() || stopping_; });
    if (queue_.empty()) return;  // stopping, with nothing left
    Job& job = queue_.front();
    // A write after a failed one is skipped: the file is broken already.
    const bool skip = error_ != abi::CallError::kOk;
    lock.unlock();
    const abi::CallError error =
        skip ? abi::CallError::kOk : WriteAll(job.fd, job.offset, job.data, job.length);
    lock.lock();
    if (error != abi::CallError::kOk && error_ == abi::CallError::kOk) error_ = error;
    if (job.bytes.capacity() > 0) spare_.push_back(std::move(job.bytes));
    queue_.pop_front();
    ++finished_;
    changed_.notify_all();
  }
}

}  // namespace instar::vmm
