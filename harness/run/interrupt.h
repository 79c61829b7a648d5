// Interrupt: how a SIGINT or SIGTERM reaches the children of every worker.
//
// Each ChildRunner registers the process group of the child it runs for as
// long as the child may be alive. Stop() records the signal and kills every
// registered group at once; a group registered after Stop() is killed as it
// is registered, so no child outlives the stop. Workers poll stopping() between
// cases and leave a case they were running unwritten.
//
// SignalWatcher turns SIGINT/SIGTERM into Stop(): it blocks both signals in
// the calling thread (threads started afterwards inherit the mask; children
// get an empty mask back before exec) and waits for them on its own thread.
// The process exits with 128 + the signal number after cleaning up.
#ifndef INSTAR_HARNESS_RUN_INTERRUPT_H_
#define INSTAR_HARNESS_RUN_INTERRUPT_H_

#include <sys/types.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

namespace instar::harness {

class Interrupt {
 public:
  void Stop(int signal_number);
  bool stopping() const { return signal_.load(std::memory_order_acquire) != 0; }
  int signal_number() const { return signal_.load(std::memory_order_acquire); }

  void AddGroup(pid_t group);
  void RemoveGroup(pid_t group);

 private:
  std::atomic<int> signal_{0};
  std::mutex mutex_;
  std::set<pid_t> groups_;
};

class SignalWatcher {
 public:
  explicit SignalWatcher(Interrupt* interrupt);
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;
  // Stops watching and restores the signal mask of the constructing thread.
  ~SignalWatcher();

 private:
  Interrupt* interrupt_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_RUN_INTERRUPT_H_
